// @ts-check
// The IAB page APIs: `__gpp` (GPP CMP API 1.1) and `__uspapi`, calls queued by their stubs, and the
// `__gppLocator` / `__uspapiLocator` frames with postMessage answers for ads in iframes.
// The strings are the service's, and so are their parsed sections (`gpp_parsed`, decoded by the
// service): there is no GPP encoder or decoder in the browser. hasSection answers from gpp_sid.
import { CMP_ID, GPP_LOCATOR, GPP_VERSION, USNAT, USP_LOCATOR } from "./constants.js";
import { doc, h, safe, w, whenParsed } from "./dom.js";
import { S, decided, live } from "./state.js";

/**
 * @import { GppEvent, GppEventName, GppFieldValue, GppPing, GppSection, UspData } from "../types/consent-service"
 * @typedef {(value: unknown, success: boolean) => void} Callback a page's callback, or a postMessage reply
 * @typedef {{queue?: ArrayLike<unknown>[], a?: ArrayLike<unknown>[], events?: {id: number, callback: unknown}[]}} Stub
 *   what an IAB stub keeps on its function: calls (their arguments) and GPP listeners it registered
 */

/** @type {Map<number, unknown>} listener id → its callback (answer() calls only a function) */
const listeners = new Map();
/** @type {WeakMap<object, MessageEventSource>} */
const senders = new WeakMap(); // postMessage reply → the window that sent the call
let nextId = 1;
/** @type {Partial<GppPing>} */
let last = {};

/** @returns {GppPing} */
function ping() {
  const sid = S.gpp_sid;
  return {
    gppVersion: GPP_VERSION,
    cmpStatus: S.fetched_at ? "loaded" : live.failed ? "error" : "loading",
    cmpDisplayStatus: live.shown ? "visible" : "hidden",
    // Not ready while a change is not confirmed by the service: its string would be stale.
    signalStatus: S.fetched_at && !S.pending && !live.ask && !live.busy ? "ready" : "not ready",
    supportedAPIs: ["7:" + USNAT],
    cmpId: CMP_ID,
    sectionList: sid,
    applicableSections: sid.length ? sid : [-1],
    gppString: S.gpp || "",
    parsedSections: S.gpp_parsed || {},
  };
}

/** @type {(eventName: GppEventName, listenerId: number, data: GppEvent["data"]) => GppEvent} */
const event = (eventName, listenerId, data) =>
  /** @type {GppEvent} */ ({ eventName, listenerId, data, pingData: ping() });

/** @type {(cb: unknown, value: unknown, success: boolean) => unknown} */
const answer = (cb, value, success) => typeof cb === "function" && safe(/** @type {Callback} */ (cb))(value, success);

/**
 * The `__gpp` page API (GppApi in ../types/consent-service.d.ts); a postMessage call comes with a
 * `reply` as its callback.
 * @param {string} command
 * @param {unknown} cb
 * @param {unknown} parameter a listener id, a section ("usnat", "7:usnat") or a field ("usnat.Gpc")
 */
function gpp(command, cb, parameter) {
  /** @type {GppPing | GppEvent | GppSection | GppFieldValue | null} */
  let value = null;
  if (command === "ping") value = ping();
  else if (command === "addEventListener") {
    // (events go through answer(), which calls only a function)
    listeners.set(nextId, cb);
    value = event("listenerRegistered", nextId++, true);
  } else if (command === "removeEventListener") {
    // A frame may remove only the listeners it added itself; the page, any.
    // (`parameter` is the listener id. WeakMap.get answers undefined for a key that is no object.)
    const from = senders.get(/** @type {object} */ (cb));
    const mine =
      !from || senders.get(/** @type {object} */ (listeners.get(/** @type {number} */ (parameter)))) === from;
    value = event(
      "listenerRemoved",
      /** @type {number} */ (parameter),
      mine && listeners.delete(/** @type {number} */ (parameter)),
    );
  } else if (command === "getSection") {
    value = S.gpp_parsed?.[String(parameter).replace(/^\d+:/, "")] || null;
  } else if (command === "getField") {
    const [section, field] = String(parameter).split(".");
    for (const part of S.gpp_parsed?.[section] || []) if (field in part) value = part[field];
  } else if (command === "hasSection") {
    value = S.gpp_sid.includes(7) && /^(7:)?usnat(\.\d+)?$/.test(/** @type {string} */ (parameter));
  }
  answer(cb, value, value !== null);
  return value;
}

/**
 * The `__uspapi` page API (UspApi in ../types/consent-service.d.ts).
 * @param {string} command
 * @param {unknown} version
 * @param {unknown} cb
 */
function usp(command, version, cb) {
  if (command !== "getUSPData") return answer(cb, null, false);
  // Answered once decisions are known, so a tag never reads a value that is about to change.
  decided.then(() =>
    answer(cb, S.usp ? /** @satisfies {UspData} */ ({ version: 1, uspString: S.usp }) : null, !!S.usp));
}

/** @type {(name: GppEventName, data: GppEvent["data"]) => void} */
const notify = (name, data) => listeners.forEach((cb, id) => answer(cb, event(name, id, data), true));

// Tells GPP listeners what changed since the last call (after every state change). As GPP 1.1
// asks, a change starts with signalStatus "not ready" and ends with "ready", after the others.
export function gppUpdate() {
  const p = ping();
  const signal = p.signalStatus !== last.signalStatus && p.signalStatus;
  if (signal === "not ready") notify("signalStatus", signal);
  for (const k of /** @type {const} */ (["cmpStatus", "cmpDisplayStatus"])) if (p[k] !== last[k]) notify(k, p[k]);
  if (last.gppString != null && p.gppString !== last.gppString) notify("sectionChange", USNAT);
  if (signal === "ready") notify("signalStatus", signal);
  last = p;
}

// Stubs keep their calls on the function: `queue` (GPP) or `a` (USP, TCF style).
const queueOf = (/** @type {Stub | undefined} */ stub) => stub?.queue || stub?.a || [];

export function installIab() {
  const gppStub = /** @type {Stub | undefined} */ (w.__gpp);
  const uspStub = /** @type {Stub | undefined} */ (w.__uspapi);
  w.__gpp = safe(gpp); // (tsc checks both against the declared GppApi and UspApi)
  w.__uspapi = safe(usp);
  // Listeners the GPP stub already registered (and answered) keep their ids.
  for (const e of gppStub?.events || []) {
    listeners.set(e.id, e.callback);
    nextId = Math.max(nextId, e.id + 1);
  }
  gppUpdate();
  for (const args of queueOf(gppStub)) /** @type {Function} */ (w.__gpp).apply(w, args);
  for (const args of queueOf(uspStub)) /** @type {Function} */ (w.__uspapi).apply(w, args);
  w.addEventListener("message", safe(onMessage));
  if (w === w.top) whenParsed(() => [GPP_LOCATOR, USP_LOCATOR].forEach(addLocator));
}

// Frames in other windows find us by these names; they must exist once in the top window.
/** @param {string} name */
function addLocator(name) {
  if (/** @type {Record<string, unknown>} */ (/** @type {unknown} */ (w.frames))[name]) return; // a named frame
  const f = h("iframe", { name });
  f.style.display = "none"; // CSSOM, allowed under style-src 'self'; hidden from everyone
  doc.body.append(f);
}

// `{__gppCall: {command, parameter, version, callId}}` → `{__gppReturn: {returnValue, success, callId}}`,
// and the same for `__uspapiCall`; a JSON string is answered with a JSON string.
/** @param {MessageEvent} e */
function onMessage(e) {
  let data = e.data;
  const isString = typeof data === "string";
  if (isString) {
    if (!/"__(gpp|uspapi)Call"/.test(data)) return;
    data = JSON.parse(data);
  }
  const isGpp = !!(data && data.__gppCall);
  const call = data && (data.__gppCall || data.__uspapiCall);
  if (!call || !e.source) return;
  /** @type {Callback} */
  const reply = (returnValue, success) => {
    const msg = { [isGpp ? "__gppReturn" : "__uspapiReturn"]: { returnValue, success, callId: call.callId } };
    /** @type {Window} */ (e.source).postMessage(isString ? JSON.stringify(msg) : msg, "*");
  };
  senders.set(reply, e.source);
  if (isGpp) gpp(call.command, reply, call.parameter);
  else usp(call.command, call.version, reply);
}
