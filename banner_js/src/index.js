// @ts-check
// Entry point: reads the embedding tag, decides at once from first-party state, installs the page
// APIs, then talks to the service in the background. Nothing here throws into the host page.
import { sync, configure, settled } from "./api.js";
import {
  ACCEPT_ALL, CHANGE_EVENT, NECESSARY, OPEN_ATTR, OPEN_WAIT, PATH_CONSENT, PATH_OPT_OUT, REASON_GPC, SOURCE,
} from "./constants.js";
import { syncConsentMode } from "./consentmode.js";
import { syncCookies } from "./cookies.js";
import { doc, safe, w, whenParsed } from "./dom.js";
import { gate } from "./gating.js";
import { iabUpdate, installIab } from "./iab.js";
import {
  PAGE_GPC, S, allowed, applyGpc, bannerDue, copy, decideLocally, decided, live, load, markDecided, save,
} from "./state.js";
import { hideBanner, openPrefs, setActions, showBanner, showLine, showStatus, texts } from "./ui.js";

/**
 * @import { ConsentService, ConsentState, Purpose } from "../types/consent-service"
 * @import { Config } from "./api.js"
 * @import { Actions } from "./ui.js"
 */

/** @type {Set<(state: ConsentState) => void>} */
const subscribers = new Set();
/** @type {string} */
let site;
/** @type {string | undefined} */
let lastSignal;

// After every change of state: persist it, then tell tags, Google, IAB listeners and the page.
function apply() {
  save();
  syncCookies();
  gate();
  syncConsentMode();
  iabUpdate();
  const signal = JSON.stringify([S.decisions, S.gpc, S.gpp, S.usp]);
  if (signal !== lastSignal) {
    lastSignal = signal;
    doc.dispatchEvent(new CustomEvent(CHANGE_EVENT, { detail: copy() }));
    subscribers.forEach((cb) => safe(cb)(copy()));
  }
  markDecided();
  whenParsed(showLine);
}

const refresh = () => sync(apply);

/**
 * A choice takes effect here at once, then goes to the service; kept as pending if it cannot.
 * @param {string} path
 * @param {Record<string, unknown>} body
 * @param {Record<string, boolean>} choices
 * @param {"saved" | "opt_out_done"} doneKey the text confirming it
 */
async function record(path, body, choices, doneKey) {
  const now = Date.now();
  live.busy = 1;
  Object.assign(S.choices, choices);
  decideLocally();
  S.chosen_at = now;
  S.show = false;
  if (S.purposes.some((p) => p.sale_share && S.choices[p.id] === false)) S.opted_out_at = now;
  S.pending = { path, body: { site, source: SOURCE, gpc: PAGE_GPC, ...body } };
  apply();
  await refresh();
  live.busy = 0;
  const t = texts();
  // What the visitor asked for but GPC keeps off (where the site does not let an opt-in lift it).
  const kept = S.purposes.filter((p) => choices[p.id] && S.decisions[p.id]?.reason === REASON_GPC);
  // Still pending (offline): an opt-out applies here at once, so confirm it and say it is not sent
  // yet. Sent, or refused (a 4xx): the plain confirmation of what applies on this device. A page
  // the service is not set up for records nothing: it says so, and never promises to send it later.
  showStatus(
    live.bad
      ? t.unavailable
      : (S.pending ? (doneKey === "saved" ? "" : t[doneKey] + " ") + t.offline : t[doneKey]) +
          (kept[0] ? ` ${t.gpc_off}: ${kept.map((p) => p.label).join(", ")}.` : ""),
  );
}

/** @type {(test: (p: Purpose) => boolean, value: boolean) => Record<string, boolean>} */
const choicesFor = (test, value) => Object.fromEntries(S.purposes.filter(test).map((p) => [p.id, value]));

/** @type {Actions} */
const actions = {
  // `choices` come with CUSTOM (the toggles); accept and reject all name every optional purpose.
  choose(action, choices) {
    const chosen = choices || choicesFor((p) => p.kind !== NECESSARY, action === ACCEPT_ALL);
    record(PATH_CONSENT, { action, choices: chosen, policy_version: S.policy_version || undefined }, chosen, "saved");
  },
  optOut() {
    record(PATH_OPT_OUT, {}, choicesFor((p) => p.sale_share, false), "opt_out_done");
  },
  dismiss() {
    S.dismissed_at = Date.now();
    S.show = false;
    save();
    hideBanner();
  },
};

// From local state at once when the site's purposes are known (a returning visitor, or after any
// answer). On a first visit it waits for the first answer, but OPEN_WAIT at most: then it opens with
// what is known (the English texts). Never the full API timeout.
// On a page the service is not set up for, no choice can be recorded: the visitor reads that instead.
const open = () =>
  Promise.race([settled(), new Promise((r) => setTimeout(r, S.purposes[0] ? 0 : OPEN_WAIT))]).then(() =>
    whenParsed(() => (live.bad ? showStatus(texts().unavailable) : openPrefs())));

/** @satisfies {ConsentService} */
const publicApi = {
  decide: (purpose) => decided.then(() => allowed(purpose)),
  onChange(cb) {
    subscribers.add(cb);
    return () => subscribers.delete(cb);
  },
  open: safe(open),
  state: copy,
};

// The embedding tag's settings. (Without a tag, or without `data-site`, nothing can work: the error
// is logged by safe() below.)
/** @returns {Config} */
function config() {
  const script = /** @type {HTMLScriptElement} */ (doc.currentScript || doc.querySelector("script[data-site]"));
  const data = script.dataset;
  const api = data.api || new URL(script.src).origin;
  return { site: /** @type {string} */ (data.site), api: api.replace(/\/+$/, ""), lang: data.lang };
}

/** @param {() => unknown} fn */
const afterLoad = (fn) => (doc.readyState === "complete" ? fn() : w.addEventListener("load", fn));

safe(() => {
  if (w.consentService) return; // included twice
  const cfg = config();
  site = cfg.site;
  configure(cfg);
  const returning = load(site);
  if (PAGE_GPC && !S.gpc) {
    applyGpc(); // a GPC signal the service has not seen: sale/share off before any answer
    live.ask = true;
  }
  setActions(actions);
  w.consentService = publicApi;
  syncConsentMode(); // the default, before any tag
  installIab(refresh);
  if (returning) apply(); // decisions from first-party state, no request first
  whenParsed(gate);
  doc.addEventListener("click", safe((e) => {
    if (/** @type {Element} */ (e.target).closest?.(`[${OPEN_ATTR}]`)) {
      e.preventDefault();
      open();
    }
  }));
  w.addEventListener("online", safe(() => S.pending && refresh()));
  const start = () => refresh().then(() => bannerDue() && whenParsed(showBanner));
  // A returning visitor's refresh waits for the page's load: it is never on the critical path.
  if (returning && !bannerDue() && !live.ask) afterLoad(safe(start));
  else start();
})();
