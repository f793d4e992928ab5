// @ts-check
// The IAB page APIs: `__gpp` (GPP CMP API 1.1), `__uspapi` (with its data deletion commands) and
// `__tcfapi` (the TCF v2.3 CMP API), calls queued by their stubs, and the `__gppLocator` /
// `__uspapiLocator` / `__tcfapiLocator` frames with postMessage answers for ads in iframes: one path
// for the three. The strings are the service's, and so are their parsed sections (`gpp_parsed`) and
// the TC data (`tcf_data`): there is no encoder or decoder in the browser.
import { CMP_ID, GPP_APIS, GPP_VERSION, IAB_APIS, TCF_API_VERSION } from "./constants.js";
import { doc, h, safe, w, whenParsed } from "./dom.js";
import { S, bannerDue, decided, live } from "./state.js";

/**
 * @import { GppEvent, GppEventName, GppFieldValue, GppPing, GppSection, TcfPing, TcfServiceData, TcfVector, TCData,
 *   UspData } from "../types/consent-service"
 * @typedef {(value: unknown, success: boolean) => void} Callback a page's callback, or a postMessage reply
 * @typedef {{queue?: ArrayLike<unknown>[], a?: ArrayLike<unknown>[], events?: {id: number, callback: unknown}[]}} Stub
 *   what an IAB stub keeps on its function: calls (their arguments) and GPP listeners it registered
 * @typedef {(command: string, cb: unknown, parameter: unknown, version: unknown) => unknown} Handler an
 *   API's commands, in GPP's order of arguments (postMessage calls come this way too)
 * @typedef {[cb: unknown, once?: boolean, vendorIds?: unknown]} Listener a callback (called only when it is a
 *   function); for TCF, whether it is answered once (getTCData) and the vendor ids its TC data names
 */

/** @type {Map<number, Listener>} GPP listener id → its callback */
const gppListeners = new Map();
/** @type {Map<number, Listener>} TCF listener id → its callback; getTCData calls wait here too */
const tcfListeners = new Map();
/** @type {WeakMap<object, MessageEventSource>} */
const senders = new WeakMap(); // postMessage reply → the window that sent the call
/** @type {WeakSet<object>} */
const forwarded = new WeakSet(); // events during which a page function was called (see onMessage)
let nextId = 1; // listener ids, for both APIs
/** @type {Partial<GppPing>} */
let last = {}; // what GPP listeners were last told
/** @type {string | undefined} */
let lastTcf; // what TCF listeners were last told: status, eventStatus and TC string
/** @type {unknown[]} */
const deletions = []; // registerDeletion's callbacks
/** @type {boolean | undefined} */
let deleted; // a deletion was performed in this page view: a callback registered later is called at once
/** @type {number | undefined} */
let announced; // the service's `deleted_at` announced (at load: the saved one, announced before)
/** @type {() => unknown} */
let refresh;

/** @type {(cb: unknown, value: unknown, success: boolean) => unknown} */
const answer = (cb, value, success) => typeof cb === "function" && safe(/** @type {Callback} */ (cb))(value, success);

/** @type {(map: Map<number, Listener>, listener: Listener) => number} */
const listen = (map, listener) => (map.set(nextId, listener), nextId++);

// A frame may remove only the listeners it added itself; the page, any. (`id` is the listener id;
// WeakMap.get answers undefined for a key that is no object.)
/** @type {(map: Map<number, Listener>, cb: unknown, id: unknown) => boolean} */
const unlisten = (map, cb, id) => {
  const from = senders.get(/** @type {object} */ (cb));
  const listener = map.get(/** @type {number} */ (id));
  return (!from || senders.get(/** @type {object} */ (listener?.[0])) === from) && map.delete(/** @type {number} */ (id));
};

// ---- GPP --------------------------------------------------------------------------------------

/** @returns {GppPing} */
function ping() {
  const sid = S.gpp_sid;
  return {
    gppVersion: GPP_VERSION,
    cmpStatus: S.fetched_at ? "loaded" : live.failed ? "error" : "loading",
    cmpDisplayStatus: live.shown ? "visible" : "hidden",
    // Not ready while a change is not confirmed by the service: its string would be stale.
    signalStatus: S.fetched_at && !S.pending && !live.ask && !live.busy ? "ready" : "not ready",
    supportedAPIs: GPP_APIS,
    cmpId: CMP_ID,
    sectionList: sid,
    applicableSections: sid.length ? sid : [-1],
    gppString: S.gpp || "",
    parsedSections: S.gpp_parsed || {},
  };
}

// "7:usnat" applies when the service's gpp_sid has 7.
const applies = (/** @type {string} */ api) => S.gpp_sid.includes(parseInt(api));

/** @type {(eventName: GppEventName, listenerId: number, data: GppEvent["data"]) => GppEvent} */
const event = (eventName, listenerId, data) =>
  /** @type {GppEvent} */ ({ eventName, listenerId, data, pingData: ping() });

/**
 * The `__gpp` page API (GppApi in ../types/consent-service.d.ts).
 * @type {Handler}
 * @param {unknown} parameter a listener id, a section ("usnat", "7:usnat") or a field ("usnat.Gpc")
 */
function gpp(command, cb, parameter) {
  /** @type {GppPing | GppEvent | GppSection | GppFieldValue | null} */
  let value = null;
  const section = String(parameter).replace(/^\d+:/, "");
  if (command === "ping") value = ping();
  else if (command === "addEventListener") value = event("listenerRegistered", listen(gppListeners, [cb]), true);
  else if (command === "removeEventListener") {
    value = event("listenerRemoved", /** @type {number} */ (parameter), unlisten(gppListeners, cb, parameter));
  } else if (command === "getSection") value = S.gpp_parsed?.[section] || null;
  else if (command === "getField") {
    // A section is a list of sub-sections (usnat) or one object of fields (tcfeuv2).
    const [name, field] = section.split(".");
    for (const part of /** @type {GppSection[]} */ ([]).concat(S.gpp_parsed?.[name] || [])) {
      if (field in part) value = /** @type {Record<string, GppFieldValue>} */ (part)[field];
    }
  } else if (command === "hasSection") {
    // "usnat", "7:usnat" and "usnat.2" (a section's version) name usnat.
    value = GPP_APIS.some((api) => applies(api) && RegExp(`^${api.slice(2)}(\\.\\d+)?$`).test(section));
  }
  answer(cb, value, value !== null);
  return value;
}

/** @type {(name: GppEventName, data: GppEvent["data"]) => void} */
const notify = (name, data) => gppListeners.forEach(([cb], id) => answer(cb, event(name, id, data), true));

// Tells GPP listeners what changed since the last call. As GPP 1.1 asks, a change starts with
// signalStatus "not ready" and ends with "ready", after the others. A new GPP string is a
// sectionChange of the section it carries (one at a time: usnat in the US, tcfeuv2 in GDPR territory).
function gppUpdate() {
  const p = ping();
  const signal = p.signalStatus !== last.signalStatus && p.signalStatus;
  if (signal === "not ready") notify("signalStatus", signal);
  for (const k of /** @type {const} */ (["cmpStatus", "cmpDisplayStatus"])) if (p[k] !== last[k]) notify(k, p[k]);
  if (last.gppString != null && p.gppString !== last.gppString) {
    for (const api of GPP_APIS) if (applies(api)) notify("sectionChange", api.slice(2));
  }
  if (signal === "ready") notify("signalStatus", signal);
  last = p;
}

// ---- USP --------------------------------------------------------------------------------------

// Calls every registered deletion callback (USP's data deletion request), and from now on each one
// registered later in this page view at once.
const performDeletion = (/** @type {unknown} */ identifiers) => {
  deleted = true;
  deletions.forEach((cb) => answer(cb, identifiers, true));
};

/**
 * The `__uspapi` page API (UspApi in ../types/consent-service.d.ts).
 * @type {Handler}
 */
function usp(command, cb, parameter) {
  // A deletion callback is called only when a deletion is performed (calling it means "delete").
  if (command === "registerDeletion") {
    deletions.push(cb);
    if (deleted) answer(cb, undefined, true);
    return true;
  }
  if (command === "performDeletion") return performDeletion(parameter);
  if (command !== "getUSPData") return answer(cb, null, false);
  // Answered once decisions are known, so a tag never reads a value that is about to change.
  decided.then(() =>
    answer(cb, S.usp ? /** @satisfies {UspData} */ ({ version: 1, uspString: S.usp }) : null, !!S.usp));
}

// ---- TCF --------------------------------------------------------------------------------------

// "loaded" with the service's TC data; "error" when an answer (or its failure) left none: the site
// has TCF off, or the service cannot be reached or refuses this page. Before that, "loading".
const tcfStatus = () => (S.tcf_data && !live.bad ? "loaded" : live.got || live.failed ? "error" : "loading");

// Outside GDPR territory always "tcloaded". Inside: "useractioncomplete" once the service confirmed
// the visitor's choice in this page view; "cmpuishown" while the banner is due (the string is then
// the service's no-consent one, so it does not wait for the UI) or the visitor's choice is under way
// (preferences open, choice being recorded); else "tcloaded".
const eventStatus = () =>
  !S.tcf_data?.gdprApplies
    ? "tcloaded"
    : live.done
      ? "useractioncomplete"
      : bannerDue() || live.busy
        ? "cmpuishown"
        : "tcloaded";

// A listener (or a waiting getTCData) hears the TC data once it is known, with what this API adds
// and, given vendor ids, the vendor fields for those only. An error is told once, and ends it.
/** @type {(listener: Listener, id: number) => void} */
function tcfSend([cb, once, vendorIds], id) {
  const status = tcfStatus();
  const d = /** @type {TcfServiceData} */ (S.tcf_data);
  /** @type {TCData | null} */
  let data = null;
  if (status === "loading") return;
  if (once || !d) tcfListeners.delete(id);
  if (status === "loaded") {
    data = { ...d, eventStatus: eventStatus(), cmpStatus: status, listenerId: once ? undefined : id };
    if (vendorIds && d.vendor) {
      const vendor = /** @type {Record<string, TcfVector>} */ ((data.vendor = { ...d.vendor }));
      for (const k in vendor) {
        vendor[k] = Object.fromEntries(/** @type {number[]} */ (vendorIds).map((v) => [v, !!vendor[k][v]]));
      }
    }
  }
  answer(cb, data, !!data);
}

/**
 * The `__tcfapi` page API (TcfApi in ../types/consent-service.d.ts). `version`: 2, or 0/null/undefined
 * for the latest (2); anything else fails, as the CMP API asks.
 * @type {Handler}
 */
function tcf(command, cb, parameter, version) {
  const d = S.tcf_data || /** @type {Partial<TcfServiceData>} */ ({});
  const listener = command === "addEventListener";
  if (version && version != 2) return answer(cb, null, false);
  if (command === "ping") {
    return answer(cb, /** @satisfies {TcfPing} */ ({
      gdprApplies: d.gdprApplies, // undefined until known (and where the site has TCF off)
      cmpLoaded: true, // this is the CMP itself, not its stub
      cmpStatus: tcfStatus(),
      displayStatus: live.shown ? "visible" : "hidden",
      apiVersion: TCF_API_VERSION,
      cmpVersion: d.cmpVersion,
      cmpId: d.cmpId,
      tcfPolicyVersion: d.tcfPolicyVersion,
    }), true);
  }
  if (command === "removeEventListener") {
    const removed = unlisten(tcfListeners, cb, parameter);
    return answer(cb, removed, removed);
  }
  // getTCData is deprecated since TCF v2.2, kept for old callers: answered once, like a listener's
  // first call. Its parameter, when given, is a list of vendor ids.
  if (!(listener || command === "getTCData") || (parameter != null && !Array.isArray(parameter))) {
    return answer(cb, null, false);
  }
  /** @type {Listener} */
  const entry = [cb, !listener, parameter];
  tcfSend(entry, listen(tcfListeners, entry));
  // A saved state without TC data (from before the site had TCF, or of a site without it) is told
  // apart by asking the service now, rather than at the next daily refresh.
  if (tcfStatus() === "loading" && S.fetched_at && !live.ask) {
    live.ask = 1;
    refresh();
  }
}

// ---- all three --------------------------------------------------------------------------------

/** @type {Record<string, Handler>} */
const handlers = { gpp, uspapi: usp, tcfapi: tcf };

// After every change of state: GPP listeners; TCF listeners when the TC data's status, eventStatus or
// string changed (not on every change of state); and a deletion the service reports (a new
// `deleted_at`: the visitor deleted this device's data on the service's data page).
export function iabUpdate() {
  const tcfNow = tcfStatus() + eventStatus() + S.tcf_data?.tcString;
  gppUpdate();
  if (tcfNow !== lastTcf) {
    lastTcf = tcfNow;
    tcfListeners.forEach(tcfSend);
  }
  if (S.deleted_at && S.deleted_at !== announced) {
    announced = S.deleted_at;
    performDeletion(undefined);
  }
}

// Stubs keep their calls on the function (`queue` for GPP, `a` for USP and older TCF stubs), or give
// them when called without arguments (IAB's TCF stub).
/** @param {unknown} stub */
const queueOf = (stub) =>
  /** @type {ArrayLike<unknown>[]} */ ([]).concat(
    /** @type {Stub} */ (stub)?.queue ||
      /** @type {Stub} */ (stub)?.a ||
      /** @type {ArrayLike<unknown>[]} */ ((typeof stub === "function" && safe(/** @type {() => unknown} */ (stub))()) || []),
  );

// A page function, called while an event is dispatched, marks it: a stub's message listener, which
// runs before ours, has then answered the call already (see onMessage).
/** @type {(handler: Handler) => Handler} */
const page = (handler) => (command, cb, parameter, version) => {
  if (w.event) forwarded.add(w.event);
  return handler(command, cb, parameter, version);
};

// USP's and TCF's page functions take the version second, the callback third.
/** @type {(handler: Handler) => (command: string, version: unknown, cb: unknown, parameter?: unknown) => any} */
const versionFirst = (handler) => safe((command, version, cb, parameter) => page(handler)(command, cb, parameter, version));

/** @type {(name: string) => unknown} `window.__<name>` */
const api = (name) => /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (w))["__" + name];

/** @param {() => unknown} sync asks the service now (and applies its answer) */
export function installIab(sync) {
  refresh = sync;
  announced = S.deleted_at;
  const stubs = IAB_APIS.map(api);
  w.__gpp = safe(page(gpp)); // (tsc checks the three against the declared GppApi, UspApi and TcfApi)
  w.__uspapi = versionFirst(usp);
  w.__tcfapi = versionFirst(tcf);
  // Listeners the GPP stub already registered (and answered) keep their ids.
  for (const e of /** @type {Stub | undefined} */ (stubs[0])?.events || []) {
    gppListeners.set(e.id, [e.callback]);
    nextId = Math.max(nextId, e.id + 1);
  }
  iabUpdate();
  IAB_APIS.forEach((name, i) => {
    for (const args of queueOf(stubs[i])) /** @type {Function} */ (api(name)).apply(w, args);
  });
  w.addEventListener("message", safe(onMessage));
  if (w === w.top) whenParsed(() => IAB_APIS.forEach((name) => addLocator("__" + name + "Locator")));
}

// Frames in other windows find us by these names; they must exist once in the top window.
/** @param {string} name */
function addLocator(name) {
  if (/** @type {Record<string, unknown>} */ (/** @type {unknown} */ (w.frames))[name]) return; // a named frame
  const f = h("iframe", { name });
  f.style.display = "none"; // CSSOM, allowed under style-src 'self'; hidden from everyone
  doc.body.append(f);
}

// `{__<name>Call: {command, parameter, version, callId}}` → `{__<name>Return: {returnValue, success,
// callId}}` for gpp, uspapi and tcfapi; a JSON string is answered with a JSON string. A call a stub's
// message listener (added before ours, so called first) passed to our page function is answered.
/** @param {MessageEvent} e */
function onMessage(e) {
  let data = e.data;
  const isString = typeof data === "string";
  if (forwarded.has(e)) return;
  if (isString) {
    if (!/"__\w+Call"/.test(data)) return;
    data = JSON.parse(data);
  }
  for (const name of IAB_APIS) {
    const call = data?.["__" + name + "Call"];
    if (!call || !e.source) continue;
    /** @type {Callback} */
    const reply = (returnValue, success) => {
      const msg = { ["__" + name + "Return"]: { returnValue, success, callId: call.callId } };
      /** @type {Window} */ (e.source).postMessage(isString ? JSON.stringify(msg) : msg, "*");
    };
    senders.set(reply, e.source);
    handlers[name](call.command, reply, call.parameter, call.version);
  }
}
