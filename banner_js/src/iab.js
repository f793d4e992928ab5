// The IAB page APIs: `__gpp` (GPP CMP API 1.1) and `__uspapi`, calls queued by their stubs, and the
// `__gppLocator` / `__uspapiLocator` frames with postMessage answers for ads in iframes.
// The strings are the service's, and so are their parsed sections (`gpp_parsed`, decoded by the
// service): there is no GPP encoder or decoder in the browser. hasSection answers from gpp_sid.
import { CMP_ID, GPP_LOCATOR, GPP_VERSION, USNAT, USP_LOCATOR } from "./constants.js";
import { doc, h, safe, w, whenParsed } from "./dom.js";
import { S, decided, live } from "./state.js";

const listeners = new Map();
const senders = new WeakMap(); // postMessage reply → the window that sent the call
let nextId = 1;
let last = {};

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

const event = (eventName, listenerId, data) => ({ eventName, listenerId, data, pingData: ping() });

const answer = (cb, value, success) => typeof cb === "function" && safe(cb)(value, success);

function gpp(command, cb, parameter) {
  let value = null;
  if (command === "ping") value = ping();
  else if (command === "addEventListener") {
    // (events go through answer(), which calls only a function)
    listeners.set(nextId, cb);
    value = event("listenerRegistered", nextId++, true);
  } else if (command === "removeEventListener") {
    // A frame may remove only the listeners it added itself; the page, any.
    const from = senders.get(cb);
    const mine = !from || senders.get(listeners.get(parameter)) === from;
    value = event("listenerRemoved", parameter, mine && listeners.delete(parameter));
  } else if (command === "getSection") {
    value = S.gpp_parsed?.[String(parameter).replace(/^\d+:/, "")] || null;
  } else if (command === "getField") {
    const [section, field] = String(parameter).split(".");
    for (const part of S.gpp_parsed?.[section] || []) if (field in part) value = part[field];
  } else if (command === "hasSection") {
    value = S.gpp_sid.includes(7) && /^(7:)?usnat(\.\d+)?$/.test(parameter);
  }
  answer(cb, value, value !== null);
  return value;
}

function usp(command, version, cb) {
  if (command !== "getUSPData") return answer(cb, null, false);
  // Answered once decisions are known, so a tag never reads a value that is about to change.
  decided.then(() => answer(cb, S.usp ? { version: 1, uspString: S.usp } : null, !!S.usp));
}

const notify = (name, data) => listeners.forEach((cb, id) => answer(cb, event(name, id, data), true));

// Tells GPP listeners what changed since the last call (after every state change). As GPP 1.1
// asks, a change starts with signalStatus "not ready" and ends with "ready", after the others.
export function gppUpdate() {
  const p = ping();
  const signal = p.signalStatus !== last.signalStatus && p.signalStatus;
  if (signal === "not ready") notify("signalStatus", signal);
  for (const k of ["cmpStatus", "cmpDisplayStatus"]) if (p[k] !== last[k]) notify(k, p[k]);
  if (last.gppString != null && p.gppString !== last.gppString) notify("sectionChange", USNAT);
  if (signal === "ready") notify("signalStatus", signal);
  last = p;
}

// Stubs keep their calls on the function: `queue` (GPP) or `a` (USP, TCF style).
const queueOf = (stub) => stub?.queue || stub?.a || [];

export function installIab() {
  const gppStub = w.__gpp;
  const uspStub = w.__uspapi;
  w.__gpp = safe(gpp);
  w.__uspapi = safe(usp);
  // Listeners the GPP stub already registered (and answered) keep their ids.
  for (const e of gppStub?.events || []) {
    listeners.set(e.id, e.callback);
    nextId = Math.max(nextId, e.id + 1);
  }
  gppUpdate();
  for (const args of queueOf(gppStub)) w.__gpp.apply(w, args);
  for (const args of queueOf(uspStub)) w.__uspapi.apply(w, args);
  w.addEventListener("message", safe(onMessage));
  if (w === w.top) whenParsed(() => [GPP_LOCATOR, USP_LOCATOR].forEach(addLocator));
}

// Frames in other windows find us by these names; they must exist once in the top window.
function addLocator(name) {
  if (w.frames[name]) return;
  const f = h("iframe", { name });
  f.style.display = "none"; // CSSOM, allowed under style-src 'self'; hidden from everyone
  doc.body.append(f);
}

// `{__gppCall: {command, parameter, version, callId}}` → `{__gppReturn: {returnValue, success, callId}}`,
// and the same for `__uspapiCall`; a JSON string is answered with a JSON string.
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
  const reply = (returnValue, success) => {
    const msg = { [isGpp ? "__gppReturn" : "__uspapiReturn"]: { returnValue, success, callId: call.callId } };
    e.source.postMessage(isString ? JSON.stringify(msg) : msg, "*");
  };
  senders.set(reply, e.source);
  if (isGpp) gpp(call.command, reply, call.parameter);
  else usp(call.command, call.version, reply);
}
