// @ts-check
// Talking to the service. Calls run one after another; a choice the service has not accepted yet
// stays in `S.pending` and is sent first on the next sync (next page load, or the `online` event).
import { DAY, DEVICE_HEADER, ERR_ORIGIN, ERR_SITE, TIMEOUT, experiencePath } from "./constants.js";
import { PAGE_GPC, S, bannerDue, failClosed, live, merge } from "./state.js";

/** @typedef {{site: string, api: string, lang?: string}} Config the embedding tag's settings */

/** @type {Config} */
let cfg;
/** @type {Promise<void>} */
let chain = Promise.resolve();

export const configure = (/** @type {Config} */ config) => (cfg = config);

// Resolves when every sync started so far has finished.
export const settled = () => chain;

/**
 * One call; its answer is merged into the state. An answer other than 2xx throws `{s: status,
 * c: error code}` (the code from its JSON body, when it has one).
 * @param {string} path
 * @param {Record<string, unknown>} [body] sent as JSON with POST; without it, a GET
 */
async function call(path, body) {
  /** @type {Record<string, string>} */
  const headers = {};
  if (S.device) headers[DEVICE_HEADER] = S.device;
  if (body) headers["Content-Type"] = "application/json";
  const response = await fetch(cfg.api + path, {
    method: body && "POST", // else the default, GET
    credentials: "include",
    headers,
    body: body && JSON.stringify(body),
    signal: AbortSignal.timeout?.(TIMEOUT),
  });
  if (!response.ok) throw { s: response.status, c: await response.json().then((b) => b.error, () => 0) };
  merge(await response.json());
}

function experience() {
  const query = new URLSearchParams();
  if (PAGE_GPC) query.set("gpc", "1"); // Chromium does not send Sec-GPC by itself
  if (cfg.lang) query.set("lang", cfg.lang);
  return experiencePath(cfg.site) + "?" + query;
}

// Due: a first visit, a day since the last answer, a banner still to show, or a new GPC signal.
const due = () => !S.fetched_at || Date.now() - S.fetched_at > DAY || bannerDue() || live.ask;

/**
 * Sends the pending choice, then fetches the experience when due; then `done()`.
 * @param {() => void} done
 */
export function sync(done) {
  return (chain = chain.then(async () => {
    const pending = S.pending;
    try {
      if (pending) {
        await call(pending.path, pending.body);
        if (S.pending === pending) S.pending = null;
        live.done = 1; // the visitor's choice, confirmed
      }
      if (due()) {
        await call(experience());
        S.fetched_at = Date.now();
        live.ask = false;
      }
      live.failed = false;
    } catch (/** @type {any} */ e) { // an answer's {s, c}, or the fetch's or JSON's error
      const status = e.s;
      live.failed = true;
      // Refused (4xx other than rate limiting): retrying the same body cannot succeed. What the
      // choice changed on this device stays (merge() keeps a refused opt-out in force).
      if (S.pending === pending && status >= 400 && status < 500 && status !== 429) S.pending = null;
      if (e.c === ERR_ORIGIN || e.c === ERR_SITE) misconfigured(e.c);
      // A first visit without an answer still gets a banner, with the English texts.
      else if (!S.fetched_at) S.show = true;
    }
    done();
  }).catch(() => {}));
}

// The service answered, but this page is not set up for it: no outage, so nothing is kept to send
// later and no banner asks for choices that cannot be recorded. What is not necessary stays off, and
// the operator reads how to fix it in the console (once per page).
/** @param {string} code */
function misconfigured(code) {
  if (!live.bad) {
    console.error(
      "consent-service: " +
        (code === ERR_SITE
          ? `no site "${cfg.site}" is configured on ${cfg.api}: fix data-site, or add the site`
          : `this page's origin ${location.origin} is not in the origins of site "${cfg.site}": add it there`),
    );
  }
  live.bad = 1;
  S.show = false;
  failClosed();
}
