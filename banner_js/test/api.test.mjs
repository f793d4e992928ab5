// src/api.js: calls to the service, one at a time; the pending choice; when the experience is due.
// `fetch` is a fake that records every call and answers from a script of responses.
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import { flush, installBrowser, purpose, reset } from "./browser.mjs";

installBrowser({ gpc: false });
const { S, live } = await import("../src/state.js");
const { configure, settled, sync } = await import("../src/api.js");

const FIRST_VISIT = structuredClone(S);
const API = "https://consent.example";
const DAY = 864e5;

/** @type {{url: string, init: RequestInit}[]} */
let calls;
/** What the next calls answer: a response, an Error to throw, or a promise of either. */
let script;

const answer = (status, body = {}) => ({ ok: status >= 200 && status < 300, status, json: async () => body });
const EXPERIENCE = {
  site: "shop",
  regime: "opt_in",
  gpc: false,
  show: true,
  purposes: [purpose("stats", "analytics")],
  choices: {},
  decisions: { stats: { allowed: false, reason: "no_consent" } },
  gpp: null,
  gpp_sid: [],
  usp: "1---",
};

globalThis.fetch = async (url, init) => {
  calls.push({ url, init });
  const next = await script.shift();
  if (next === undefined) throw new Error(`unexpected call ${url}`);
  if (next instanceof Error) throw next;
  return next;
};

/** Runs one sync to its end; true when `done` was called. */
async function syncOnce() {
  let done = false;
  await sync(() => (done = true));
  return done;
}

beforeEach(async () => {
  await settled();
  reset(S, live, FIRST_VISIT);
  calls = [];
  script = [];
  configure({ site: "shop", api: API, lang: "de" });
});

describe("the experience", () => {
  test("a first visit fetches it, with credentials, and takes the answer", async () => {
    script.push(answer(200, { ...EXPERIENCE, device: "token-1" }));
    const before = Date.now();
    assert.equal(await syncOnce(), true);
    assert.equal(calls.length, 1);
    const [{ url, init }] = calls;
    assert.equal(url, `${API}/v1/sites/shop/experience?lang=de`);
    assert.equal(init.method, undefined); // GET
    assert.equal(init.credentials, "include");
    assert.equal(init.body, undefined);
    assert.deepEqual(init.headers, {}); // no device yet, no body
    assert.ok(init.signal instanceof AbortSignal);
    assert.equal(S.regime, "opt_in");
    assert.equal(S.device, "token-1");
    assert.ok(S.fetched_at >= before);
    assert.equal(live.failed, false);
  });

  test("the site id is escaped into the path; no lang without one", async () => {
    configure({ site: "a/b c", api: API });
    script.push(answer(200, EXPERIENCE));
    await syncOnce();
    assert.equal(calls[0].url, `${API}/v1/sites/a%2Fb%20c/experience?`);
  });

  test("the device token goes in X-Consent-Device", async () => {
    S.device = "token-1";
    script.push(answer(200, EXPERIENCE));
    await syncOnce();
    assert.deepEqual(calls[0].init.headers, { "X-Consent-Device": "token-1" });
  });

  test("not fetched again the same day, unless the banner is due or the page has news", async () => {
    script.push(answer(200, { ...EXPERIENCE, show: false }));
    await syncOnce();
    assert.equal(await syncOnce(), true); // done() runs even when nothing was due
    assert.equal(calls.length, 1);

    live.ask = true; // e.g. a GPC signal the service has not seen
    script.push(answer(200, { ...EXPERIENCE, show: false }));
    await syncOnce();
    assert.equal(calls.length, 2);
    assert.equal(live.ask, false);

    S.show = true; // the banner is still to be shown
    script.push(answer(200, { ...EXPERIENCE, show: false }));
    await syncOnce();
    assert.equal(calls.length, 3);

    S.fetched_at = Date.now() - DAY - 1; // a day old
    script.push(answer(200, { ...EXPERIENCE, show: false }));
    await syncOnce();
    assert.equal(calls.length, 4);
  });

  test("unreachable on a first visit: failed, and the banner shows (with the built-in texts)", async () => {
    script.push(new TypeError("Failed to fetch"));
    assert.equal(await syncOnce(), true);
    assert.equal(live.failed, true);
    assert.equal(S.show, true);
    assert.equal(S.fetched_at, 0);
    assert.equal(S.regime, null);
  });

  test("an error answer is not merged", async () => {
    S.fetched_at = 1;
    script.push(answer(503, { error: "store_unavailable" }));
    await syncOnce();
    assert.equal(live.failed, true);
    assert.equal(S.show, undefined); // not a first visit: no banner because of the failure
    assert.equal("error" in S, false);
  });
});

describe("a page the service is not set up for (403 forbidden_origin, 404 unknown_site)", () => {
  /** @type {unknown[][]} */
  let errors;
  const realError = console.error;
  beforeEach(() => {
    errors = [];
    console.error = (...args) => errors.push(args);
  });
  const restore = () => (console.error = realError);

  const cases = [
    [
      answer(403, { error: "forbidden_origin", detail: "this origin may not write for site 'shop'" }),
      `consent-service: this page's origin https://shop.example is not in the origins of site "shop": add it there`,
    ],
    [
      answer(404, { error: "unknown_site", detail: "no site 'shop' is configured" }),
      `consent-service: no site "shop" is configured on ${API}: fix data-site, or add the site`,
    ],
  ];
  for (const [refusal, message] of cases) {
    test(`${refusal.status}: one console error with the fix; no banner, nothing kept to send`, async () => {
      try {
        S.pending = { path: "/v1/consent", body: { site: "shop", action: "accept_all" } };
        script.push(refusal);
        assert.equal(await syncOnce(), true);
        assert.deepEqual(errors, [[message]]);
        assert.equal(live.bad, 1);
        assert.equal(S.pending, null); // not an outage: nothing will be sent later
        assert.equal(S.show, false); // no banner asking for choices that cannot be recorded
        assert.equal(S.fetched_at, 0);
        // Only necessary stays allowed (a first visit's safe default).
        assert.deepEqual(
          Object.entries(S.decisions).filter(([, d]) => d.allowed).map(([id]) => id),
          ["necessary"],
        );
        // Once per page: a second refusal adds no second error.
        script.push(refusal);
        await syncOnce();
        assert.equal(errors.length, 1);
      } finally {
        restore();
      }
    });
  }

  test("what this device had allowed is denied again (fail closed); necessary stays", async () => {
    try {
      S.purposes = [purpose("core", "necessary"), purpose("stats", "analytics"), purpose("ads", "advertising", true)];
      S.decisions = {
        core: { allowed: true, reason: "necessary" },
        stats: { allowed: true, reason: "consent" },
        ads: { allowed: true, reason: "default" },
      };
      S.fetched_at = 1; // a returning visitor
      script.push(answer(403, { error: "forbidden_origin", detail: "..." }));
      await syncOnce();
      assert.deepEqual(S.decisions, {
        core: { allowed: true, reason: "necessary" },
        stats: { allowed: false, reason: "no_consent" },
        ads: { allowed: false, reason: "no_consent" },
      });
      assert.equal(S.consent_mode.analytics_storage, "denied");
      assert.equal(S.consent_mode.ad_storage, "denied");
    } finally {
      restore();
    }
  });

  test("another 403 or 404, or one without a JSON body, is no misconfiguration", async () => {
    try {
      const notJson = { ok: false, status: 404, json: async () => JSON.parse("<html>") };
      for (const refusal of [answer(403, { error: "forbidden", detail: "..." }), answer(404, { error: "not_found" }), notJson]) {
        script.push(refusal);
        await syncOnce();
        assert.equal(live.bad, undefined);
        assert.equal(S.show, true); // a first visit without an answer: the built-in banner
      }
      assert.deepEqual(errors, []);
    } finally {
      restore();
    }
  });
});

describe("the pending choice", () => {
  const pending = () => ({ path: "/v1/consent", body: { site: "shop", source: "banner", action: "accept_all" } });

  test("is sent first, as JSON, and cleared once accepted", async () => {
    S.pending = pending();
    S.device = "token-1";
    script.push(answer(200, { decisions: { stats: { allowed: true, reason: "consent" } } }));
    script.push(answer(200, EXPERIENCE));
    await syncOnce();
    assert.equal(calls.length, 2);
    const [post, get] = calls;
    assert.equal(post.url, `${API}/v1/consent`);
    assert.equal(post.init.method, "POST");
    assert.equal(post.init.credentials, "include");
    assert.deepEqual(post.init.headers, { "X-Consent-Device": "token-1", "Content-Type": "application/json" });
    assert.deepEqual(JSON.parse(post.init.body), pending().body);
    assert.match(get.url, /\/experience\?/);
    assert.equal(S.pending, null);
    assert.equal(live.failed, false);
  });

  test("is kept when the service cannot be reached, answers 5xx or rate-limits (429)", async () => {
    for (const failure of [new TypeError("Failed to fetch"), answer(500), answer(503), answer(429)]) {
      S.pending = pending();
      script.push(failure);
      await syncOnce();
      assert.deepEqual(S.pending, pending(), String(failure.status ?? failure));
      assert.equal(live.failed, true);
    }
    assert.equal(calls.length, 4); // the experience is not asked for after a failed choice
  });

  test("is dropped when refused (another 4xx): retrying the same body cannot succeed", async () => {
    for (const status of [400, 403, 404, 422]) {
      S.pending = pending();
      script.push(answer(status));
      await syncOnce();
      assert.equal(S.pending, null, String(status));
      assert.equal(live.failed, true);
    }
  });

  test("a newer choice made during the call is not cleared with the older one", async () => {
    S.pending = pending();
    S.fetched_at = Date.now();
    let accept;
    script.push(new Promise((resolve) => (accept = resolve)));
    const running = syncOnce();
    await flush();
    const newer = { path: "/v1/opt-out", body: { site: "shop" } };
    S.pending = newer;
    accept(answer(200, {}));
    await running;
    assert.equal(S.pending, newer);
  });
});

test("calls run one after another, and settled() waits for all of them", async () => {
  let first;
  script.push(new Promise((resolve) => (first = resolve)));
  script.push(answer(200, { ...EXPERIENCE, show: false }));
  const order = [];
  sync(() => order.push("first"));
  live.ask = true; // so the second sync is due too
  sync(() => order.push("second"));
  await flush();
  assert.equal(calls.length, 1); // the second waits for the first
  first(answer(200, { ...EXPERIENCE, show: true }));
  await settled();
  assert.deepEqual(order, ["first", "second"]);
  assert.equal(calls.length, 2);
  assert.equal(S.show, false);
});

test("a failing done() does not stop later syncs", async () => {
  S.fetched_at = Date.now();
  await sync(() => {
    throw new Error("page listener");
  });
  assert.equal(await syncOnce(), true);
});
