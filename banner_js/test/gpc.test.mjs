// src/state.js and src/api.js on a page with Global Privacy Control (navigator.globalPrivacyControl),
// which they read when they load: sale/share is off before any network answer, the experience call
// says gpc=1 (Chromium does not send Sec-GPC by itself), and an answer that misses the signal does
// not turn it back on.
import assert from "node:assert/strict";
import { test } from "node:test";
import { installBrowser, purpose } from "./browser.mjs";

installBrowser({ gpc: true });
const { S, PAGE_GPC, merge } = await import("../src/state.js");
const { configure, sync } = await import("../src/api.js");

test("a first visit with GPC: advertising is denied with reason gpc before any answer", () => {
  assert.equal(PAGE_GPC, true);
  assert.equal(S.gpc, true);
  assert.deepEqual(S.decisions.advertising, { allowed: false, reason: "gpc" });
  assert.deepEqual(S.decisions.analytics, { allowed: false, reason: "no_consent" });
  assert.equal(S.consent_mode.ad_storage, "denied");
});

test("the experience call sends gpc=1, and an answer without GPC does not lift it", async () => {
  const calls = [];
  globalThis.fetch = async (url) => {
    calls.push(url);
    return {
      ok: true,
      status: 200,
      json: async () => ({
        regime: "opt_out",
        gpc: false, // e.g. the service had not recorded it yet
        purposes: [purpose("ads", "advertising", true), purpose("stats", "analytics")],
        decisions: { ads: { allowed: true, reason: "default" }, stats: { allowed: true, reason: "default" } },
        usp: "1YNN",
      }),
    };
  };
  configure({ site: "shop", api: "https://consent.example" });
  await sync(() => {});
  assert.deepEqual(calls, ["https://consent.example/v1/sites/shop/experience?gpc=1"]);
  assert.equal(S.gpc, true);
  assert.deepEqual(S.decisions.ads, { allowed: false, reason: "gpc" });
  assert.deepEqual(S.decisions.stats, { allowed: true, reason: "default" });
  assert.equal(S.usp, "1YYN");
  assert.equal(S.consent_mode.ad_storage, "denied");
  assert.equal(S.consent_mode.analytics_storage, "granted");
});

test("an answer that has recorded GPC is taken as it is (an explicit opt-in may lift it)", () => {
  merge({ gpc: true, gpc_lift: true, decisions: { ads: { allowed: true, reason: "consent" } }, usp: "1YNN" });
  assert.deepEqual(S.decisions.ads, { allowed: true, reason: "consent" });
  assert.equal(S.usp, "1YNN");
});
