// src/iab.js: the `__gpp` (GPP CMP API 1.1) and `__uspapi` page APIs, the calls their stubs queued,
// the locator frames and the postMessage answers (`__tcfapi` and USP's deletion commands: tcf.test.mjs). The strings are the service's: the fixture holds
// what consent_service/core/iab.py gives (tests/test_banner_build.py keeps it current), and three of
// them are the vectors tests/test_iab.py checks against IAB's reference library.
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import { FakeElement, flush, frame, iabFixture, installBrowser, reset } from "./browser.mjs";

const { window, document } = installBrowser({ gpc: false, top: true });

// Stubs as a page has them before the banner loads (IAB's GPP stub and the USP one): calls queued,
// and a GPP listener the stub registered (and answered) with id 1.
const early = { gpp: [], usp: [], listener: [] };
window.__gpp = function () {
  window.__gpp.queue.push(arguments);
};
window.__gpp.queue = [];
window.__gpp.events = [{ id: 1, callback: (event, ok) => early.listener.push([event.eventName, event.data, ok]) }];
window.__uspapi = function () {
  window.__uspapi.a.push(arguments);
};
window.__uspapi.a = [];
window.__gpp("ping", (data, ok) => early.gpp.push([data, ok]));
window.__gpp("hasSection", (data, ok) => early.gpp.push([data, ok]), "usnat");
window.__uspapi("getUSPData", 1, (data, ok) => early.usp.push([data, ok]));
window.frames.__uspapiLocator = {}; // as if another script had added it already

const { S, live, markDecided } = await import("../src/state.js");
const { iabUpdate: gppUpdate, installIab } = await import("../src/iab.js"); // (GPP's part of it here)
const FIRST_VISIT = structuredClone(S);
installIab(() => {});

const strings = await iabFixture();
const [notOptedOut, optedOutGpc, optedOutGpcMspa] = strings;
const { readFile } = await import("node:fs/promises");
// The service's strings in GDPR territory on a site with TCF on: GPP section 2 (tcfeuv2) alone.
const [tcfNoConsent, tcfAcceptAll] = JSON.parse(
  await readFile(new URL("./fixtures/tcf-answers.json", import.meta.url), "utf8"),
);

/** The state after the service's answer for a US visitor (one of the fixture's cases). */
function answered(strings) {
  reset(S, live, FIRST_VISIT);
  Object.assign(S, {
    regime: "opt_out",
    fetched_at: Date.now(),
    gpp: strings.gpp,
    gpp_sid: strings.gpp_sid,
    usp: strings.usp,
    gpp_parsed: strings.gpp_parsed,
  });
  gppUpdate();
}

/** `__gpp(command, cb, parameter)` → [value, success] as the callback got them. */
function gpp(command, parameter) {
  let got;
  window.__gpp(command, (...args) => (got = args), parameter);
  return got;
}

describe("before the first answer", () => {
  test("calls queued by the stubs are answered; USP once decisions are known", async () => {
    assert.equal(early.gpp.length, 2);
    const [[ping, pingOk], [has, hasOk]] = early.gpp;
    assert.equal(pingOk, true);
    assert.equal(ping.gppVersion, "1.1");
    assert.equal(ping.cmpStatus, "loading");
    assert.equal(ping.signalStatus, "not ready");
    assert.deepEqual([has, hasOk], [false, true]);
    assert.deepEqual(early.usp, []); // not before decisions are known
    S.usp = "1---";
    markDecided();
    await flush();
    assert.deepEqual(early.usp, [[{ version: 1, uspString: "1---" }, true]]);
  });

  test("the stub's listener keeps its id and hears the first events", () => {
    assert.deepEqual(early.listener, [
      ["signalStatus", "not ready", true],
      ["cmpStatus", "loading", true],
      ["cmpDisplayStatus", "hidden", true],
    ]);
    const [registered] = gpp("addEventListener");
    assert.equal(registered.eventName, "listenerRegistered");
    assert.equal(registered.listenerId, 2); // after the stub's 1
    assert.equal(gpp("removeEventListener", 2)[0].data, true);
  });

  test("the __gppLocator and __tcfapiLocator frames are added to the top window once; an existing locator is kept", () => {
    const frames = document.body.children.filter((el) => el instanceof FakeElement && el.tagName === "IFRAME");
    assert.deepEqual(frames.map((f) => f.getAttribute("name")), ["__gppLocator", "__tcfapiLocator"]);
    assert.equal(frames[0].style.display, "none");
  });

  test("ping without a GPP string", () => {
    reset(S, live, FIRST_VISIT);
    const [ping, ok] = gpp("ping");
    assert.equal(ok, true);
    assert.deepEqual(ping, {
      gppVersion: "1.1",
      cmpStatus: "loading",
      cmpDisplayStatus: "hidden",
      signalStatus: "not ready",
      supportedAPIs: ["2:tcfeuv2", "7:usnat"],
      cmpId: 0,
      sectionList: [],
      applicableSections: [-1],
      gppString: "",
      parsedSections: {},
    });
    live.failed = true;
    assert.equal(gpp("ping")[0].cmpStatus, "error");
  });
});

describe("the service's strings", () => {
  test("the fixture is the service's answer, and its strings the IAB-checked vectors", () => {
    assert.deepEqual(
      strings.filter((c) => c.flags.us && c.flags.gpc).map((c) => [c.gpp, c.usp]),
      [
        ["DBABLA~CVQVAAAAAACA.YA", "1YYN"],
        ["DBABLA~CVQVAAAAAABA.YA", "1YYY"],
      ],
    );
    assert.deepEqual([notOptedOut.gpp, notOptedOut.usp], ["DBABLA~CVQqAAAAAACA.QA", "1YNN"]);
    assert.deepEqual(strings.find((c) => !c.flags.us), {
      flags: strings.find((c) => !c.flags.us).flags,
      gpp: null,
      gpp_sid: [],
      usp: "1---",
      gpp_parsed: {},
    });
  });

  for (const c of strings.filter((c) => c.flags.us)) {
    const name = Object.entries(c.flags).filter(([, v]) => v).map(([k]) => k).join(" ");
    test(`are what __gpp and __uspapi answer (${name})`, async () => {
      answered(c);
      const [ping] = gpp("ping");
      assert.equal(ping.cmpStatus, "loaded");
      assert.equal(ping.signalStatus, "ready");
      assert.equal(ping.gppString, c.gpp);
      assert.deepEqual(ping.sectionList, [7]);
      assert.deepEqual(ping.applicableSections, [7]);
      assert.deepEqual(ping.parsedSections, c.gpp_parsed);
      const saleOptOut = c.flags.opted_out ? 1 : 2; // 1 = opted out, 2 = did not opt out
      assert.deepEqual(gpp("getField", "usnat.SaleOptOut"), [saleOptOut, true]);
      assert.deepEqual(gpp("getField", "usnat.SharingOptOut"), [saleOptOut, true]);
      assert.deepEqual(gpp("getField", "usnat.TargetedAdvertisingOptOut"), [saleOptOut, true]);
      assert.deepEqual(gpp("getField", "usnat.Gpc"), [c.flags.gpc, true]);
      assert.deepEqual(gpp("getField", "usnat.MspaCoveredTransaction"), [c.flags.mspa_signatory ? 1 : 2, true]);
      let usp;
      window.__uspapi("getUSPData", 1, (...args) => (usp = args));
      await flush();
      assert.deepEqual(usp, [{ version: 1, uspString: c.usp }, true]);
      assert.equal(c.usp[2], c.flags.opted_out ? "Y" : "N");
    });
  }

  test("hasSection answers from gpp_sid", () => {
    answered(optedOutGpc);
    for (const name of ["usnat", "7:usnat", "usnat.2"]) assert.deepEqual(gpp("hasSection", name), [true, true], name);
    for (const name of ["usca", "tcfeuv2", "xusnat"]) assert.deepEqual(gpp("hasSection", name), [false, true], name);
    answered(strings.find((c) => !c.flags.us));
    assert.deepEqual(gpp("hasSection", "usnat"), [false, true]);
  });

  test("getSection and getField read the parsed sections; unknown ones fail", () => {
    answered(optedOutGpcMspa);
    const [section, ok] = gpp("getSection", "usnat");
    assert.equal(ok, true);
    assert.deepEqual(section, optedOutGpcMspa.gpp_parsed.usnat);
    assert.deepEqual(section[1], { SubsectionType: 1, Gpc: true });
    assert.deepEqual(gpp("getSection", "7:usnat"), [section, true]);
    assert.deepEqual(gpp("getSection", "usca"), [null, false]);
    assert.deepEqual(gpp("getField", "usnat.NoSuchField"), [null, false]);
    assert.deepEqual(gpp("getField", "usca.SaleOptOut"), [null, false]);
    assert.deepEqual(gpp("getField", "usnat.SensitiveDataProcessing"), [Array(16).fill(0), true]);
    answered(strings.find((c) => !c.flags.us));
    assert.deepEqual(gpp("getSection", "usnat"), [null, false]);
  });

  test("tcfeuv2 (section 2): hasSection, getSection (one object of fields) and getField", () => {
    answered(tcfAcceptAll);
    const [ping] = gpp("ping");
    assert.deepEqual([ping.sectionList, ping.applicableSections, ping.gppString], [[2], [2], tcfAcceptAll.gpp]);
    for (const name of ["tcfeuv2", "2:tcfeuv2", "tcfeuv2.2"]) assert.deepEqual(gpp("hasSection", name), [true, true], name);
    for (const name of ["usnat", "7:usnat", "tcfcav1"]) assert.deepEqual(gpp("hasSection", name), [false, true], name);
    assert.deepEqual(gpp("getSection", "tcfeuv2"), [tcfAcceptAll.gpp_parsed.tcfeuv2, true]);
    assert.deepEqual(gpp("getSection", "2:tcfeuv2"), [tcfAcceptAll.gpp_parsed.tcfeuv2, true]);
    assert.deepEqual(gpp("getField", "tcfeuv2.PurposeConsents")[0].slice(0, 12), [...Array(11).fill(true), false]);
    assert.deepEqual(gpp("getField", "tcfeuv2.CmpId"), [300, true]);
    assert.deepEqual(gpp("getField", "tcfeuv2.VendorConsents"), [[32, 755], true]);
    assert.deepEqual(gpp("getField", "tcfeuv2.NoSuchField"), [null, false]);
    assert.deepEqual(gpp("getSection", "usnat"), [null, false]);
  });

  test("unknown commands fail; a missing callback is no error", () => {
    assert.deepEqual(gpp("getTCData"), [null, false]);
    assert.doesNotThrow(() => window.__gpp("ping"));
    let usp;
    window.__uspapi("getUSPDatum", 1, (...args) => (usp = args));
    assert.deepEqual(usp, [null, false]);
  });

  test("a callback that throws stays inside the banner", () => {
    const warn = console.warn;
    const warned = [];
    console.warn = (...args) => warned.push(args);
    try {
      assert.doesNotThrow(() => window.__gpp("ping", () => {
        throw new Error("the page's bug");
      }));
    } finally {
      console.warn = warn;
    }
    assert.equal(warned.length, 1);
  });
});

describe("events", () => {
  beforeEach(() => answered(notOptedOut));

  test("a change starts with signalStatus 'not ready' and ends with 'ready', after the others", () => {
    const heard = [];
    window.__gpp("addEventListener", (e) => heard.push([e.eventName, e.data, e.pingData.signalStatus]));
    const removed = [];
    const [{ listenerId }] = gpp("addEventListener");
    window.__gpp("addEventListener", (e) => e.eventName !== "listenerRegistered" && removed.push(e));
    window.__gpp("removeEventListener", () => {}, listenerId + 1);

    S.pending = { path: "/v1/opt-out", body: {} }; // a choice is being recorded, the banner is shown
    live.shown = true;
    gppUpdate();
    S.pending = null; // the service's answer, with its new string; the banner has gone
    live.shown = false;
    S.gpp = optedOutGpc.gpp;
    gppUpdate();
    assert.deepEqual(heard, [
      ["listenerRegistered", true, "ready"],
      ["signalStatus", "not ready", "not ready"],
      ["cmpDisplayStatus", "visible", "not ready"],
      ["cmpDisplayStatus", "hidden", "ready"],
      ["sectionChange", "usnat", "ready"],
      ["signalStatus", "ready", "ready"],
    ]);
    assert.deepEqual(removed, []); // removed before the change
  });

  test("a new string in GDPR territory is a sectionChange of tcfeuv2", () => {
    answered(tcfNoConsent);
    const heard = [];
    window.__gpp("addEventListener", (e) => heard.push([e.eventName, e.data]));
    S.gpp = tcfAcceptAll.gpp;
    gppUpdate();
    assert.deepEqual(heard, [["listenerRegistered", true], ["sectionChange", "tcfeuv2"]]);
  });

  test("nothing is sent when nothing changed", () => {
    const heard = [];
    window.__gpp("addEventListener", (e) => heard.push(e.eventName));
    gppUpdate();
    assert.deepEqual(heard, ["listenerRegistered"]);
  });

  test("removeEventListener answers whether it removed one", () => {
    const [{ listenerId }] = gpp("addEventListener");
    const [removed, ok] = gpp("removeEventListener", listenerId);
    assert.equal(ok, true);
    assert.equal(removed.eventName, "listenerRemoved");
    assert.equal(removed.listenerId, listenerId);
    assert.equal(removed.data, true);
    assert.equal(gpp("removeEventListener", listenerId)[0].data, false);
  });
});

describe("postMessage", () => {
  beforeEach(() => answered(notOptedOut));

  test("__gppCall objects are answered with __gppReturn objects", () => {
    const f = frame();
    f.post({ __gppCall: { command: "ping", parameter: null, version: "1.1", callId: "g1" } });
    assert.equal(f.received.length, 1);
    const [[message, target]] = f.received;
    assert.equal(target, "*");
    assert.equal(message.__gppReturn.callId, "g1");
    assert.equal(message.__gppReturn.success, true);
    assert.equal(message.__gppReturn.returnValue.gppString, notOptedOut.gpp);
  });

  test("JSON strings are answered with JSON strings, USP too", async () => {
    const f = frame();
    f.post(JSON.stringify({ __gppCall: { command: "getField", parameter: "usnat.SaleOptOut", callId: 7 } }));
    f.post(JSON.stringify({ __uspapiCall: { command: "getUSPData", version: 1, callId: "u1" } }));
    await flush();
    assert.deepEqual(
      f.received.map(([message]) => JSON.parse(message)),
      [
        { __gppReturn: { returnValue: 2, success: true, callId: 7 } },
        { __uspapiReturn: { returnValue: { version: 1, uspString: "1YNN" }, success: true, callId: "u1" } },
      ],
    );
  });

  test("other messages are left alone", () => {
    const f = frame();
    f.post("hello");
    f.post(JSON.stringify({ other: 1 }));
    f.post({ __otherCall: { command: "ping", callId: 1 } });
    f.post(JSON.stringify({ __otherCall: { command: "ping", callId: 1 } }));
    f.post(null);
    assert.deepEqual(f.received, []);
  });

  test("a frame removes only its own listeners; the page, any", () => {
    const a = frame();
    const b = frame();
    a.post({ __gppCall: { command: "addEventListener", callId: "a1" } });
    const { listenerId } = a.received[0][0].__gppReturn.returnValue;
    b.post({ __gppCall: { command: "removeEventListener", parameter: listenerId, callId: "b1" } });
    assert.equal(b.received[0][0].__gppReturn.returnValue.data, false);

    S.gpp = optedOutGpc.gpp;
    gppUpdate();
    const events = a.received.slice(1).map(([m]) => [m.__gppReturn.callId, m.__gppReturn.returnValue.eventName]);
    assert.deepEqual(events, [["a1", "sectionChange"]]); // still listening; events carry the call's id

    a.post({ __gppCall: { command: "removeEventListener", parameter: listenerId, callId: "a2" } });
    assert.equal(a.received.at(-1)[0].__gppReturn.returnValue.data, true);

    a.post({ __gppCall: { command: "addEventListener", callId: "a3" } });
    const second = a.received.at(-1)[0].__gppReturn.returnValue.listenerId;
    assert.equal(gpp("removeEventListener", second)[0].data, true);
  });
});
