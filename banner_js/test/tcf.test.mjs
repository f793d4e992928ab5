// src/iab.js: the `__tcfapi` page API (IAB TCF v2.3 CMP API): the calls IAB's stub queued, ping before
// and after the service's answer, the listeners' events (cmpuishown, useractioncomplete, tcloaded)
// once per change, gdprApplies false at once, a site with TCF off, removeEventListener, postMessage,
// getTCData's vendor ids; and USP's data deletion commands, with the service's `deleted_at`. The
// answers are the service's: test/fixtures/tcf-answers.json (tests/test_banner_build.py keeps it current).
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, test } from "node:test";
import { FakeElement, frame, installBrowser, reset } from "./browser.mjs";

const { window, document } = installBrowser({ gpc: false, top: true });

// IAB's TCF stub (iabtcf-es modules/stub) keeps its queue to itself and hands it over when called
// without arguments; it answers ping itself. The USP stub keeps its calls on `__uspapi.a`.
const stubQueue = [];
window.__tcfapi = (...args) => {
  if (!args.length) return stubQueue;
  if (args[0] === "ping") return args[2]({ gdprApplies: undefined, cmpLoaded: false, cmpStatus: "stub" });
  stubQueue.push(args);
};
// IAB's stub also has a message listener of its own, added before ours (so called first), that passes
// a frame's call on to `__tcfapi` (ours, once installed) and answers it; while a listener runs, the
// browser's `window.event` is the message. (Off but for the test that needs it.)
let stubForwards = false;
window.addEventListener("message", (e) => {
  const call = e.data?.__tcfapiCall;
  if (!stubForwards || !call) return;
  window.event = e;
  const reply = (returnValue, success) =>
    e.source.postMessage({ __tcfapiReturn: { returnValue, success, callId: call.callId } }, "*");
  window.__tcfapi(call.command, call.version, reply, call.parameter);
  window.event = undefined;
});
window.__uspapi = function () {
  window.__uspapi.a.push(arguments);
};
window.__uspapi.a = [];
const early = { listener: [], tcData: [], deleted: [] };
window.__tcfapi("addEventListener", 2, (data, ok) => early.listener.push([data, ok]));
window.__tcfapi("getTCData", 2, (data, ok) => early.tcData.push([data, ok]), [32, 1]);
window.__uspapi("registerDeletion", 1, (ids, ok) => early.deleted.push([ids, ok]));

const { S, live, merge } = await import("../src/state.js");
const { iabUpdate, installIab } = await import("../src/iab.js");
S.deleted_at = 1; // as saved: a deletion announced on an earlier page view
const FIRST_VISIT = structuredClone(S);
let refreshed = 0;
installIab(() => refreshed++);

const [noConsent, acceptAll] = JSON.parse(
  await readFile(new URL("./fixtures/tcf-answers.json", import.meta.url), "utf8"),
);

/** The service's experience answer (or a write's) for a visitor in GDPR territory on the demo. */
const answer = (c, extra = {}) => ({
  regime: "opt_in",
  tcf: c.tcf,
  gpp: c.gpp,
  gpp_sid: c.gpp_sid,
  gpp_parsed: c.gpp_parsed,
  usp: c.usp,
  tcf_data: c.tcf_data,
  ...extra,
});

/** The service answered (merged into the state, as api.js does); then what apply() does. */
function answered(body) {
  merge(body);
  S.fetched_at = Date.now();
  iabUpdate();
}

/** `__tcfapi(command, version, cb, parameter)` → [value, success] as the callback got them. */
function tcf(command, parameter, version = 2) {
  let got;
  window.__tcfapi(command, version, (...args) => (got = args), parameter);
  return got;
}

/** A listener that records what it hears: [eventStatus, tcString, listenerId] or [null, false]. */
function listener() {
  const heard = [];
  window.__tcfapi("addEventListener", 2, (data, ok) =>
    heard.push(ok ? [data.eventStatus, data.tcString, data.listenerId] : [data, ok]));
  return heard;
}

/** A fresh page view: first-visit state, nothing told yet in this page view. */
function newPage(state = {}) {
  reset(S, live, FIRST_VISIT);
  Object.assign(S, state);
}

describe("before the service's first answer", () => {
  test("ping answers at once: loading, gdprApplies not known", () => {
    const [ping, ok] = tcf("ping");
    assert.equal(ok, true);
    assert.deepEqual(ping, {
      gdprApplies: undefined,
      cmpLoaded: true, // the CMP itself is here, not its stub
      cmpStatus: "loading",
      displayStatus: "hidden",
      apiVersion: "2.2",
      cmpVersion: undefined,
      cmpId: undefined,
      tcfPolicyVersion: undefined,
    });
  });

  test("the stub's queued calls, and new ones, wait for the answer", () => {
    const heard = listener();
    assert.deepEqual(early.listener, []);
    assert.deepEqual(early.tcData, []);
    assert.deepEqual(heard, []);
    assert.equal(refreshed, 0); // a first visit asks the service anyway
  });

  test("the __tcfapiLocator frame is added to the top window", () => {
    const names = document.body.children.filter((el) => el instanceof FakeElement).map((f) => f.getAttribute("name"));
    assert.ok(names.includes("__tcfapiLocator"), names);
  });

  test("the version: 2, 0, null or undefined; any other fails", () => {
    for (const version of [2, "2", 0, null, undefined]) assert.equal(tcf("ping", undefined, version)[1], true, version);
    for (const version of [1, 3, "x"]) assert.deepEqual(tcf("ping", undefined, version), [null, false], version);
  });
});

describe("a first visit in GDPR territory", () => {
  test("the answer: cmpuishown with the no-consent string, at once (no UI needed); queued calls answered", () => {
    answered(answer(noConsent, { show: true }));
    const [[data, ok]] = early.listener;
    assert.equal(ok, true);
    assert.deepEqual(data, { ...noConsent.tcf_data, eventStatus: "cmpuishown", cmpStatus: "loaded", listenerId: data.listenerId });
    assert.equal(typeof data.listenerId, "number");
    // getTCData (deprecated, for old callers): once, no listener id, the vendor fields for its ids only.
    assert.equal(early.tcData.length, 1);
    const [tcData, tcOk] = early.tcData[0];
    assert.equal(tcOk, true);
    assert.equal(tcData.listenerId, undefined);
    assert.equal(tcData.eventStatus, "cmpuishown");
    assert.deepEqual(tcData.vendor, { consents: { 32: false, 1: false }, legitimateInterests: { 32: false, 1: false } });
    assert.deepEqual(tcData.purpose, noConsent.tcf_data.purpose);
    const [ping] = tcf("ping");
    assert.deepEqual(
      [ping.gdprApplies, ping.cmpStatus, ping.cmpId, ping.cmpVersion, ping.tcfPolicyVersion],
      [true, "loaded", 300, 7, 5],
    );
  });

  test("the choice: nothing while it is recorded, then useractioncomplete once the service confirmed it", () => {
    const heard = listener(); // registered now: hears the current state at once
    live.shown = true; // the banner is up; the visitor clicks Accept all
    live.busy = 1;
    S.show = false;
    S.pending = { path: "/v1/consent", body: {} };
    iabUpdate();
    assert.deepEqual(heard, [["cmpuishown", noConsent.tcf, heard[0][2]]]);
    // The write's answer, with the new string (api.js: pending sent, confirmed).
    S.pending = null;
    live.done = 1;
    answered(answer(acceptAll));
    live.busy = 0; // the status message replaces the banner
    iabUpdate();
    iabUpdate();
    assert.deepEqual(heard.map(([status, tc]) => [status, tc]), [
      ["cmpuishown", noConsent.tcf],
      ["useractioncomplete", acceptAll.tcf],
    ]);
    const last = early.listener.at(-1)[0];
    assert.equal(last.eventStatus, "useractioncomplete");
    assert.equal(last.purpose.consents[1], true);
    assert.equal(last.vendor.consents[32], true);
    assert.equal(early.listener.length, 2); // once per change, not on every update
    assert.equal(early.tcData.length, 1); // getTCData answered once
  });

  test("a later page view: tcloaded from the saved state, at once", () => {
    newPage({ ...answer(acceptAll), fetched_at: Date.now(), show: false });
    const heard = listener();
    assert.deepEqual(heard, [["tcloaded", acceptAll.tcf, heard[0][2]]]);
    // The visitor opens the preferences (the UI surfaced again), then closes them.
    live.busy = 1;
    iabUpdate();
    live.busy = 0;
    iabUpdate();
    assert.deepEqual(heard.map(([status]) => status), ["tcloaded", "cmpuishown", "tcloaded"]);
  });
});

describe("outside GDPR territory, and a site with TCF off", () => {
  test("gdprApplies false: tcloaded at once, nothing else", () => {
    newPage();
    answered({ regime: "opt_out", show: true, tcf_data: { gdprApplies: false } });
    let got;
    window.__tcfapi("addEventListener", 2, (...args) => (got = args));
    assert.deepEqual(got, [{ gdprApplies: false, eventStatus: "tcloaded", cmpStatus: "loaded", listenerId: got[0].listenerId }, true]);
    assert.deepEqual(tcf("getTCData", [32])[0], { gdprApplies: false, eventStatus: "tcloaded", cmpStatus: "loaded", listenerId: undefined });
    const [ping] = tcf("ping");
    assert.deepEqual([ping.gdprApplies, ping.cmpStatus], [false, "loaded"]);
  });

  test("TCF off: an answer without tcf_data is an error, never gdprApplies false", () => {
    newPage();
    const heard = listener(); // waits for the answer
    answered({ regime: "opt_in", show: true, tcf_data: undefined });
    assert.deepEqual(heard, [[null, false]]);
    const [ping, ok] = tcf("ping");
    assert.equal(ok, true);
    assert.deepEqual([ping.cmpStatus, ping.gdprApplies], ["error", undefined]);
    assert.deepEqual(tcf("addEventListener"), [null, false]);
    assert.deepEqual(tcf("getTCData"), [null, false]);
    // The error ended the listener: nothing more for it.
    answered({ regime: "opt_in", show: true, tcf_data: undefined, gpp: "x" });
    assert.equal(heard.length, 1);
  });

  test("TCF off after it was on: the saved TC data goes with the next answer", () => {
    newPage({ ...answer(acceptAll), fetched_at: Date.now() });
    assert.equal(tcf("ping")[0].cmpStatus, "loaded");
    answered({ regime: "opt_in" });
    assert.equal(S.tcf_data, null); // saved so: the next page knows TCF is off without asking
    newPage({ regime: "opt_in", fetched_at: Date.now(), tcf_data: null });
    assert.deepEqual(tcf("addEventListener"), [null, false]);
    assert.equal(refreshed, 0);
    assert.equal(tcf("ping")[0].cmpStatus, "error");
  });

  test("the service cannot be reached on a first visit, or refuses the page: error", () => {
    newPage();
    live.failed = true;
    assert.equal(tcf("ping")[0].cmpStatus, "error");
    assert.deepEqual(tcf("addEventListener"), [null, false]);
    // A page the service is not set up for (api.js: live.bad): a saved TC string is not handed out.
    newPage({ ...answer(acceptAll), fetched_at: Date.now() });
    const heard = listener();
    live.failed = true;
    live.bad = 1;
    iabUpdate();
    iabUpdate();
    assert.deepEqual(heard.map(([status]) => status), ["tcloaded", null]);
    assert.equal(tcf("ping")[0].cmpStatus, "error");
  });

  test("a state saved before the banner knew TCF asks the service now (not at the next daily refresh)", () => {
    newPage({ regime: "opt_in", fetched_at: Date.now() }); // no tcf_data at all: saved by an older banner
    const heard = listener();
    assert.deepEqual(heard, []);
    assert.equal(refreshed, 1);
    assert.equal(live.ask, 1);
    listener();
    assert.equal(refreshed, 1); // once
    answered(answer(acceptAll));
    assert.deepEqual(heard.map(([status]) => status), ["tcloaded"]);
  });
});

describe("the commands", () => {
  test("removeEventListener answers whether it removed one; the removed listener hears nothing more", () => {
    newPage({ ...answer(acceptAll), fetched_at: Date.now() });
    const heard = listener();
    const id = heard[0][2];
    assert.deepEqual(tcf("removeEventListener", id), [true, true]);
    assert.deepEqual(tcf("removeEventListener", id), [false, false]);
    answered(answer(noConsent, { show: true }));
    assert.equal(heard.length, 1);
  });

  test("getTCData: vendor ids limit the vendor fields; a parameter that is no list fails", () => {
    newPage({ ...answer(acceptAll), fetched_at: Date.now() });
    const [data, ok] = tcf("getTCData", [755, 999]);
    assert.equal(ok, true);
    assert.deepEqual(data.vendor, { consents: { 755: true, 999: false }, legitimateInterests: { 755: true, 999: false } });
    assert.deepEqual(tcf("getTCData")[0].vendor, acceptAll.tcf_data.vendor);
    assert.deepEqual(tcf("getTCData", "32"), [null, false]);
    assert.deepEqual(S.tcf_data, acceptAll.tcf_data); // the state is left as it was
  });

  test("getVendorList, getInAppTCData and unknown commands fail; a missing callback is no error", () => {
    newPage({ ...answer(acceptAll), fetched_at: Date.now() });
    for (const command of ["getVendorList", "getInAppTCData", "nope"]) assert.deepEqual(tcf(command), [null, false]);
    assert.doesNotThrow(() => window.__tcfapi("addEventListener", 2));
  });

  test("a callback that throws stays inside the banner", () => {
    const warn = console.warn;
    const warned = [];
    console.warn = (...args) => warned.push(args);
    try {
      window.__tcfapi("ping", 2, () => {
        throw new Error("the page's bug");
      });
    } finally {
      console.warn = warn;
    }
    assert.equal(warned.length, 1);
  });
});

describe("postMessage", () => {
  test("__tcfapiCall objects are answered with __tcfapiReturn objects; a listener's calls keep the callId", () => {
    newPage({ ...answer(noConsent), fetched_at: Date.now(), show: true });
    const f = frame();
    f.post({ __tcfapiCall: { command: "ping", version: 2, callId: "p1" } });
    f.post({ __tcfapiCall: { command: "addEventListener", version: 2, callId: "l1" } });
    answered(answer(acceptAll, { show: false }));
    const returns = f.received.map(([message, target]) => (assert.equal(target, "*"), message.__tcfapiReturn));
    assert.deepEqual(returns.map((r) => [r.callId, r.success]), [["p1", true], ["l1", true], ["l1", true]]);
    assert.equal(returns[0].returnValue.cmpStatus, "loaded");
    assert.deepEqual(returns.slice(1).map((r) => r.returnValue.eventStatus), ["cmpuishown", "tcloaded"]);
  });

  test("JSON strings are answered with JSON strings", () => {
    const f = frame();
    f.post(JSON.stringify({ __tcfapiCall: { command: "getTCData", parameter: [32], version: 2, callId: 7 } }));
    const [[message]] = f.received;
    const { __tcfapiReturn: r } = JSON.parse(message);
    assert.deepEqual([r.callId, r.success, r.returnValue.vendor.consents], [7, true, { 32: true }]);
  });

  test("a frame removes only its own listeners; the page, any", () => {
    const a = frame();
    const b = frame();
    a.post({ __tcfapiCall: { command: "addEventListener", version: 2, callId: "a1" } });
    const { listenerId } = a.received[0][0].__tcfapiReturn.returnValue;
    b.post({ __tcfapiCall: { command: "removeEventListener", version: 2, parameter: listenerId, callId: "b1" } });
    assert.deepEqual(b.received[0][0].__tcfapiReturn, { returnValue: false, success: false, callId: "b1" });
    a.post({ __tcfapiCall: { command: "removeEventListener", version: 2, parameter: listenerId, callId: "a2" } });
    assert.equal(a.received.at(-1)[0].__tcfapiReturn.returnValue, true);
    a.post({ __tcfapiCall: { command: "addEventListener", version: 2, callId: "a3" } });
    assert.deepEqual(tcf("removeEventListener", a.received.at(-1)[0].__tcfapiReturn.returnValue.listenerId), [true, true]);
  });

  test("a call the stub's message listener passed on is not answered again", () => {
    stubForwards = true;
    const f = frame();
    f.post({ __tcfapiCall: { command: "ping", version: 2, callId: "s1" } });
    stubForwards = false;
    assert.deepEqual(f.received.map(([m]) => m.__tcfapiReturn.callId), ["s1"]);
  });
});

describe("USP data deletion", () => {
  test("registerDeletion only registers; a new deleted_at from the service calls every callback", () => {
    newPage(); // deleted_at 1, as saved: announced on an earlier page view
    const later = [];
    window.__uspapi("registerDeletion", 1, (ids, ok) => later.push([ids, ok]));
    answered({ regime: "opt_out", deleted_at: 1 }); // the same: nothing to announce
    answered({ regime: "opt_out" }); // absent: nothing either
    assert.deepEqual([early.deleted, later], [[], []]);
    answered({ regime: "opt_out", deleted_at: 2 });
    assert.deepEqual([early.deleted, later], [[[undefined, true]], [[undefined, true]]]);
    iabUpdate();
    assert.equal(later.length, 1); // once for each deletion
    // Registered after the deletion, in the same page view: called at once.
    const after = [];
    window.__uspapi("registerDeletion", 1, (ids, ok) => after.push([ids, ok]));
    assert.deepEqual(after, [[undefined, true]]);
  });

  test("performDeletion calls them all, with the identifiers; frames register by postMessage", () => {
    const f = frame();
    f.post({ __uspapiCall: { command: "registerDeletion", version: 1, callId: "d1" } });
    const heard = [];
    window.__uspapi("registerDeletion", 1, (ids, ok) => heard.push([ids, ok]));
    heard.length = 0;
    f.received.length = 0;
    const ids = { platform: "ios" };
    window.__uspapi("performDeletion", 1, null, ids);
    assert.deepEqual(heard, [[ids, true]]);
    assert.deepEqual(f.received.map(([m]) => m.__uspapiReturn), [{ returnValue: ids, success: true, callId: "d1" }]);
  });
});
