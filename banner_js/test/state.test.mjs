// src/state.js: the state object, its localStorage copy, and the decisions the browser computes itself.
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import { iabFixture, installBrowser, purpose, reset } from "./browser.mjs";

const { localStorage } = installBrowser({ gpc: false });
const state = await import("../src/state.js");
const {
  S, live, allowed, applyGpc, bannerDue, consentMode, copy, decideLocally, failClosed, load, merge, save,
} = state;

const FIRST_VISIT = structuredClone(S);
const DAY = 864e5;
const YEAR = 365 * DAY;
const strings = await iabFixture();
// The service's strings for a US visitor who has not opted out, and for one who opted out in the
// banner (no GPC): tests/test_iab.py checks the first against IAB's reference library.
const notOptedOut = strings.find((c) => c.flags.us && !c.flags.opted_out);
const optedOut = strings.find((c) => c.flags.us && c.flags.opted_out && !c.flags.gpc && !c.flags.mspa_signatory);

const PURPOSES = [
  purpose("essential", "necessary"),
  purpose("stats", "analytics"),
  purpose("ads", "advertising", true, ["_fbp", "_gcl_*"]),
  purpose("prefs", "functional"),
];

/** An experience answer as the service gives it (US, opt_out regime, nothing chosen); a fresh copy
 * each time, as the state may change what it took from an answer. */
const experience = (overrides = {}) =>
  structuredClone({
    site: "shop",
    region: "US-CA",
    regime: "opt_out",
    gpc: false,
    show: true,
    language: "en",
    texts: {},
    purposes: PURPOSES,
    choices: {},
    decisions: {
      essential: { allowed: true, reason: "necessary" },
      stats: { allowed: true, reason: "default" },
      ads: { allowed: true, reason: "default" },
      prefs: { allowed: true, reason: "default" },
    },
    consent_mode: {
      security_storage: "granted",
      ad_storage: "granted",
      ad_user_data: "granted",
      ad_personalization: "granted",
      analytics_storage: "granted",
      functionality_storage: "granted",
      personalization_storage: "denied",
    },
    gpp: notOptedOut.gpp,
    gpp_sid: notOptedOut.gpp_sid,
    usp: notOptedOut.usp,
    gpp_parsed: notOptedOut.gpp_parsed,
    ...overrides,
  });

beforeEach(() => {
  reset(S, live, FIRST_VISIT);
  localStorage.map.clear();
  localStorage.blocked = false;
});

describe("first visit", () => {
  test("only necessary is allowed, under the standard ids", () => {
    assert.equal(state.PAGE_GPC, false);
    assert.deepEqual(S.decisions, {
      necessary: { allowed: true, reason: "necessary" },
      advertising: { allowed: false, reason: "no_consent" },
      analytics: { allowed: false, reason: "no_consent" },
      functional: { allowed: false, reason: "no_consent" },
      personalization: { allowed: false, reason: "no_consent" },
    });
    assert.equal(S.regime, null);
    assert.equal(S.gpc, false);
    assert.equal(S.fetched_at, 0);
    assert.equal(S.pending, null);
  });

  test("Consent Mode is denied but security_storage", () => {
    assert.deepEqual(S.consent_mode, {
      security_storage: "granted",
      ad_storage: "denied",
      ad_user_data: "denied",
      ad_personalization: "denied",
      analytics_storage: "denied",
      functionality_storage: "denied",
      personalization_storage: "denied",
    });
  });

  test("allowed() denies what it does not know, and always allows necessary", () => {
    assert.equal(allowed("necessary"), true);
    assert.equal(allowed("analytics"), false);
    assert.equal(allowed("no-such-purpose"), false);
    S.decisions = {};
    assert.equal(allowed("necessary"), true);
  });
});

describe("storage", () => {
  test("load() without a saved state is a first visit", () => {
    assert.equal(load("shop"), false);
    assert.deepEqual(S, FIRST_VISIT);
  });

  test("save() and load() keep the state under cs:<site>, device and pending included", () => {
    load("shop");
    merge(experience({ device: "token-1" }));
    S.pending = { path: "/v1/consent", body: { site: "shop" } };
    save();
    const saved = JSON.parse(localStorage.getItem("cs:shop"));
    assert.equal(saved.device, "token-1");
    assert.deepEqual(saved.pending, S.pending);
    const before = structuredClone(S);

    reset(S, live, FIRST_VISIT);
    assert.equal(load("shop"), true);
    assert.deepEqual(S.purposes, before.purposes);
    assert.equal(S.device, "token-1");
    assert.equal(S.usp, "1YNN");
    assert.equal(localStorage.getItem("cs:other"), null);
  });

  test("a saved state of another shape or corrupt JSON is ignored", () => {
    localStorage.setItem("cs:shop", JSON.stringify({ v: 2, regime: "opt_in" }));
    assert.equal(load("shop"), false);
    assert.equal(S.regime, null);
    localStorage.setItem("cs:shop", "{not json");
    assert.equal(load("shop"), false);
    assert.deepEqual(S, FIRST_VISIT);
  });

  test("blocked storage: a first visit, and save() does not throw", () => {
    localStorage.blocked = true;
    assert.equal(load("shop"), false);
    assert.doesNotThrow(() => save());
  });

  test("a saved 'default' counts as no consent until the service answers, and asks it at once", () => {
    localStorage.setItem("cs:shop", JSON.stringify({ ...experience(), v: 1, fetched_at: Date.now() }));
    assert.equal(load("shop"), true);
    assert.deepEqual(S.decisions.ads, { allowed: false, reason: "no_consent" });
    assert.deepEqual(S.decisions.stats, { allowed: false, reason: "no_consent" });
    assert.deepEqual(S.decisions.essential, { allowed: true, reason: "necessary" });
    assert.ok(live.ask);
    // Consent Mode follows the reset decisions, not the saved values.
    assert.equal(S.consent_mode.ad_storage, "denied");
    assert.equal(S.consent_mode.analytics_storage, "denied");
  });

  test("saved explicit choices stand without asking", () => {
    const decisions = {
      essential: { allowed: true, reason: "necessary" },
      stats: { allowed: true, reason: "consent" },
      ads: { allowed: false, reason: "opt_out" },
      prefs: { allowed: false, reason: "opt_out" },
    };
    localStorage.setItem("cs:shop", JSON.stringify({ ...experience({ decisions }), v: 1 }));
    assert.equal(load("shop"), true);
    assert.deepEqual(S.decisions, decisions);
    assert.equal(live.ask, undefined);
    assert.equal(S.consent_mode.analytics_storage, "granted");
    assert.equal(S.consent_mode.ad_storage, "denied");
  });

  test("copy() leaves out the device token and the pending choice, and is a copy", () => {
    merge(experience({ device: "token-1" }));
    S.pending = { path: "/v1/opt-out", body: {} };
    const page = copy();
    assert.equal("device" in page, false);
    assert.equal("pending" in page, false);
    assert.equal(page.usp, S.usp);
    page.decisions.ads.allowed = false;
    assert.equal(S.decisions.ads.allowed, true);
  });
});

describe("bannerDue()", () => {
  test("follows the service's show", () => {
    merge(experience({ show: true }));
    assert.ok(bannerDue());
    merge(experience({ show: false }));
    assert.ok(!bannerDue());
  });

  test("not while a choice is pending", () => {
    merge(experience());
    S.pending = { path: "/v1/opt-out", body: {} };
    assert.ok(!bannerDue());
  });

  test("not within 12 months of an opt-out", () => {
    merge(experience());
    S.opted_out_at = Date.now() - YEAR + DAY;
    assert.ok(!bannerDue());
    S.opted_out_at = Date.now() - YEAR - DAY;
    assert.ok(bannerDue());
  });

  test("not after a dismissed notice, but a dismissal does not count in opt_in", () => {
    merge(experience({ regime: "notice" }));
    S.dismissed_at = Date.now();
    assert.ok(!bannerDue());
    merge(experience({ regime: "opt_out" }));
    assert.ok(!bannerDue());
    merge(experience({ regime: "opt_in" }));
    assert.ok(bannerDue());
  });
});

describe("merge()", () => {
  test("the answer's fields replace ours; Consent Mode is computed when the answer has none", () => {
    const { consent_mode: _, ...answer } = experience({
      decisions: { ...experience().decisions, ads: { allowed: false, reason: "opt_out" } },
    });
    merge(answer);
    assert.equal(S.regime, "opt_out");
    assert.equal(S.region, "US-CA");
    assert.deepEqual(S.consent_mode, {
      security_storage: "granted",
      ad_storage: "denied",
      ad_user_data: "denied",
      ad_personalization: "denied",
      analytics_storage: "granted",
      functionality_storage: "granted",
      personalization_storage: "denied", // no purpose of this kind
    });
    merge(experience());
    assert.equal(S.consent_mode.ad_storage, "granted"); // the service's own values
  });

  test("a sale/share opt-out made here holds against an answer that does not know it", () => {
    merge(experience());
    S.choices = { ads: false };
    S.opted_out_at = Date.now() - DAY;
    merge(experience()); // the service still says "default" (the opt-out was refused or not sent)
    assert.deepEqual(S.choices, { ads: false });
    assert.deepEqual(S.decisions.ads, { allowed: false, reason: "opt_out" });
    assert.deepEqual(S.decisions.stats, { allowed: true, reason: "default" }); // not sale/share
    assert.equal(S.consent_mode.ad_storage, "denied");
    assert.equal(S.consent_mode.ad_personalization, "denied");
    assert.equal(S.consent_mode.analytics_storage, "granted");
    // USP and GPP say "opted out" at once, as the service's own strings for that visitor do.
    assert.equal(S.usp, optedOut.usp);
    assert.equal(S.usp, "1YYN");
    assert.equal(S.gpp, optedOut.gpp);
    assert.deepEqual(S.gpp_parsed, optedOut.gpp_parsed);
  });

  test("but not against the visitor's explicit consent the service reports", () => {
    merge(experience());
    S.choices = { ads: false };
    S.opted_out_at = Date.now() - DAY;
    const decisions = { ...experience().decisions, ads: { allowed: true, reason: "consent" } };
    merge(experience({ choices: { ads: true }, decisions }));
    assert.deepEqual(S.decisions.ads, { allowed: true, reason: "consent" });
    assert.equal(S.usp, "1YNN");
  });

  test("nor after 12 months", () => {
    merge(experience());
    S.choices = { ads: false };
    S.opted_out_at = Date.now() - YEAR - DAY;
    merge(experience());
    assert.deepEqual(S.decisions.ads, { allowed: true, reason: "default" });
    assert.deepEqual(S.choices, {});
  });
});

describe("decideLocally()", () => {
  test("the service's rules in short", () => {
    merge(experience({ regime: "opt_in", decisions: {} }));
    decideLocally();
    assert.deepEqual(S.decisions, {
      essential: { allowed: true, reason: "necessary" },
      stats: { allowed: false, reason: "no_consent" },
      ads: { allowed: false, reason: "no_consent" },
      prefs: { allowed: false, reason: "no_consent" },
    });
    S.choices = { stats: true, ads: false };
    decideLocally();
    assert.deepEqual(S.decisions.stats, { allowed: true, reason: "consent" });
    assert.deepEqual(S.decisions.ads, { allowed: false, reason: "opt_out" });
    assert.deepEqual(S.decisions.prefs, { allowed: false, reason: "no_consent" });
    assert.equal(S.consent_mode.analytics_storage, "granted");
  });

  test("opt_out and notice allow by default; no regime (no answer) denies", () => {
    merge(experience({ regime: "notice", decisions: {} }));
    decideLocally();
    assert.deepEqual(S.decisions.ads, { allowed: true, reason: "default" });
    S.regime = null;
    decideLocally();
    assert.deepEqual(S.decisions.ads, { allowed: false, reason: "no_consent" });
  });

  test("GPC and an account opt-out win over a choice for sale/share purposes only", () => {
    merge(experience({ decisions: { ads: { allowed: false, reason: "account_opt_out" } } }));
    S.choices = { ads: true, stats: true };
    decideLocally();
    assert.deepEqual(S.decisions.ads, { allowed: false, reason: "account_opt_out" });
    S.gpc = true;
    decideLocally();
    assert.deepEqual(S.decisions.ads, { allowed: false, reason: "gpc" });
    assert.deepEqual(S.decisions.stats, { allowed: true, reason: "consent" });
    assert.equal(S.usp, "1YYN");
  });

  test("a necessary purpose stays allowed whatever the choice", () => {
    merge(experience());
    S.choices = { essential: false };
    decideLocally();
    assert.deepEqual(S.decisions.essential, { allowed: true, reason: "necessary" });
  });
});

test("applyGpc() turns every sale/share purpose off with reason gpc", () => {
  merge(experience());
  applyGpc();
  assert.equal(S.gpc, true);
  assert.deepEqual(S.decisions.ads, { allowed: false, reason: "gpc" });
  assert.deepEqual(S.decisions.stats, { allowed: true, reason: "default" });
  assert.equal(S.consent_mode.ad_user_data, "denied");
  assert.equal(S.usp, "1YYN");
});

describe("a local opt-out's signals (finding: a new USP beside an old GPP)", () => {
  test("an opt-out made here turns the service's GPP and USP into its own strings for an opted-out visitor", () => {
    merge(experience());
    S.choices = { ads: false };
    decideLocally();
    assert.deepEqual(S.decisions.ads, { allowed: false, reason: "opt_out" });
    assert.deepEqual([S.usp, S.gpp], [optedOut.usp, optedOut.gpp]);
    assert.deepEqual(S.gpp_parsed, optedOut.gpp_parsed); // getSection/getField agree with the string
  });

  test("GPC seen here does the same for the opt-out fields (its Gpc subsection waits for the service)", () => {
    merge(experience());
    applyGpc();
    const [core, sub] = S.gpp_parsed.usnat;
    assert.deepEqual([core.SaleOptOut, core.SharingOptOut, core.TargetedAdvertisingOptOut], [1, 1, 1]);
    assert.equal(S.gpp, optedOut.gpp);
    assert.equal(sub.Gpc, false);
  });

  test("no consent yet (opt_in) is no opt-out: the strings stay", () => {
    merge(experience({ regime: "opt_in", decisions: {} }));
    decideLocally();
    assert.deepEqual(S.decisions.ads, { allowed: false, reason: "no_consent" });
    assert.deepEqual([S.usp, S.gpp], [notOptedOut.usp, notOptedOut.gpp]);
    assert.equal(S.gpp_parsed.usnat[0].SaleOptOut, 2);
  });
});

test("optedOut(): every sale/share purpose is off, and the site has one", () => {
  merge(experience());
  assert.equal(state.optedOut(), false);
  applyGpc();
  assert.equal(state.optedOut(), true);
  merge(experience({ purposes: PURPOSES.filter((p) => !p.sale_share), gpc: false }));
  assert.equal(state.optedOut(), false); // nothing to opt out of: no "opt-out in force" either
});

test("failClosed(): every allowed purpose but necessary is denied", () => {
  merge(experience());
  failClosed();
  assert.deepEqual(S.decisions, {
    essential: { allowed: true, reason: "necessary" },
    stats: { allowed: false, reason: "no_consent" },
    ads: { allowed: false, reason: "no_consent" },
    prefs: { allowed: false, reason: "no_consent" },
  });
  assert.equal(S.consent_mode.analytics_storage, "denied");
});

test("a USP string that does not apply is left alone", () => {
  const outside = strings.find((c) => !c.flags.us);
  merge(experience({ region: "DE", gpp: outside.gpp, gpp_sid: outside.gpp_sid, usp: outside.usp }));
  applyGpc();
  assert.equal(S.usp, "1---");
});

test("consentMode(): a kind is granted only when the site has purposes of it and all are allowed", () => {
  merge(experience({ purposes: [...PURPOSES, purpose("ads2", "advertising", true)] }));
  S.decisions.ads2 = { allowed: false, reason: "opt_out" };
  assert.equal(consentMode().ad_storage, "denied");
  S.decisions.ads2 = { allowed: true, reason: "consent" };
  assert.equal(consentMode().ad_storage, "granted");
  assert.equal(consentMode().personalization_storage, "denied");
  assert.equal(consentMode().security_storage, "granted");
  S.purposes = [];
  assert.deepEqual(Object.values(consentMode()).filter((v) => v === "granted"), ["granted"]);
});
