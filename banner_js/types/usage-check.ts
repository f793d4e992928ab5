// Compile-time check of consent-service.d.ts (tsc in `./dev test`; never built or run): page code as
// an integrator writes it must type-check, and the lines marked @ts-expect-error must not, so the
// declarations neither reject what the banner accepts nor accept what it does not answer. The
// banner's sources are checked against the same declarations (src/index.js and src/iab.js assign
// `consentService`, `__gpp`, `__uspapi` and `__tcfapi`).
import type {
  ConsentChangeEvent,
  ConsentService,
  ConsentState,
  Decision,
  GppCallMessage,
  GppEvent,
  GppFieldValue,
  GppPing,
  GppReturnMessage,
  GppSection,
  TCData,
  TcfCallMessage,
  TcfPing,
  TcfReturnMessage,
  UspCallMessage,
  UspData,
} from "./consent-service";

// `Same<A, B>` is true only when A and B are the same type (an `any` does not pass for another type).
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const same = <A, B>(proof: Same<A, B>): Same<A, B> => proof;

export async function windowApi(): Promise<void> {
  // Undefined until the banner ran.
  // @ts-expect-error possibly undefined
  window.consentService.open();
  const cs = window.consentService;
  if (!cs) return;

  same<Awaited<ReturnType<ConsentService["decide"]>>, boolean>(true);
  if (await cs.decide("advertising")) document.body.append("ads allowed");

  const unsubscribe = cs.onChange((state) => {
    same<typeof state, ConsentState>(true);
    const analytics: Decision | undefined = state.decisions.analytics;
    console.log(analytics?.allowed, analytics?.reason === "gpc", state.gpc, state.usp, state.gpp);
  });
  unsubscribe();
  cs.open();

  const state = cs.state();
  same<typeof state.regime, "opt_in" | "opt_out" | "notice" | null>(true);
  same<typeof state.consent_mode.ad_storage, "granted" | "denied">(true);
  for (const purpose of state.purposes) console.log(purpose.id, purpose.kind, purpose.sale_share, purpose.cookies);
  // @ts-expect-error the device token is never in the page's copy
  console.log(state.device);
  // @ts-expect-error nor is a choice not yet sent
  console.log(state.pending);
  // @ts-expect-error decide() takes a purpose id
  void cs.decide();
  // @ts-expect-error Consent Mode has these seven keys only
  console.log(state.consent_mode.ads_storage);
}

document.addEventListener("consent:change", (event) => {
  same<typeof event, ConsentChangeEvent>(true);
  same<typeof event.detail, ConsentState>(true);
  console.log(event.detail.decisions.advertising?.allowed);
});

export function gpp(): void {
  const api = window.__gpp;
  if (!api) return;
  api("ping", (data, success) => {
    same<typeof data, GppPing>(true);
    if (success && data.cmpStatus === "loaded" && data.signalStatus === "ready") console.log(data.gppString);
    same<typeof data.parsedSections.usnat, GppSection>(true);
  });
  api("addEventListener", (event, success) => {
    same<typeof event, GppEvent>(true);
    if (!success) return;
    // The events are a union on eventName: each narrows `data`.
    if (event.eventName === "signalStatus") same<typeof event.data, "ready" | "not ready">(true);
    if (event.eventName === "listenerRegistered") {
      api("removeEventListener", (removed) => console.log(removed.data === true), event.listenerId);
    }
    console.log(event.pingData.gppString);
  });
  api("hasSection", (has) => same<typeof has, boolean>(true), "usnat");
  api("getSection", (section) => {
    same<typeof section, GppSection | null>(true);
    // usnat's is a list of sub-sections; tcfeuv2's one object of fields.
    if (Array.isArray(section)) console.log(section[1]?.Gpc);
    else console.log(section?.PurposeConsents);
  }, "usnat");
  api("getField", (value) => same<typeof value, GppFieldValue | null>(true), "usnat.SaleOptOut");
  api("ping", () => {}, undefined, "1.1"); // a version after the parameter is allowed
  api("getField", (value) => console.log(value), "tcfeuv2.PurposeConsents");
  // @ts-expect-error no such command
  api("getTCData", () => {});
  // @ts-expect-error hasSection names the section
  api("hasSection", () => {});
  // @ts-expect-error removeEventListener takes the listener id
  api("removeEventListener", () => {}, "1");
  // @ts-expect-error the callback is required
  api("ping");
}

export function usp(): void {
  window.__uspapi?.("getUSPData", 1, (data, success) => {
    same<typeof data, UspData | null>(true);
    if (success && data) console.log(data.version, data.uspString.charAt(2) === "Y");
  });
  // A vendor's deletion callback (IAB's data deletion request), and the publisher's deletion.
  const registered = window.__uspapi?.("registerDeletion", 1, (identifiers, success) => console.log(identifiers, success));
  same<typeof registered, boolean | undefined>(true);
  window.__uspapi?.("performDeletion", 1, null);
  window.__uspapi?.("performDeletion", 1, null, { platform: "ios" });
  // @ts-expect-error no such command
  window.__uspapi?.("getUSPDatum", 1, () => {});
  // @ts-expect-error performDeletion takes no callback
  window.__uspapi?.("performDeletion", 1, () => {});
}

export function tcf(): void {
  const api = window.__tcfapi;
  if (!api) return;
  api("ping", 2, (ping, success) => {
    same<typeof ping, TcfPing>(true);
    same<typeof ping.cmpStatus, "loading" | "loaded" | "error">(true);
    if (success && ping.gdprApplies === false) console.log("no TCF here");
  });
  api("addEventListener", 2, (tcData, success) => {
    same<typeof tcData, TCData | null>(true);
    if (!success || !tcData) return;
    same<typeof tcData.eventStatus, "tcloaded" | "cmpuishown" | "useractioncomplete">(true);
    if (tcData.gdprApplies && tcData.eventStatus !== "cmpuishown") console.log(tcData.tcString, tcData.purpose?.consents[1]);
    if (tcData.listenerId !== undefined) api("removeEventListener", 2, (removed) => same<typeof removed, boolean>(true), tcData.listenerId);
  });
  api("getTCData", 2, (tcData) => console.log(tcData?.vendor?.consents[755]), [32, 755]);
  api("getTCData", null, () => {}); // version: 2, or 0/null/undefined for the latest
  api("getVendorList", 2, (gvl, success) => same<[typeof gvl, typeof success], [null, false]>(true));
  // @ts-expect-error the CMP API's version is 2 (1 is not supported)
  api("ping", 1, () => {});
  // @ts-expect-error the arguments are (command, version, callback): not GPP's order
  api("ping", () => {});
  // @ts-expect-error removeEventListener takes the listener id
  api("removeEventListener", 2, () => {});
  // @ts-expect-error getTCData's parameter is a list of vendor ids
  api("getTCData", 2, () => {}, 32);
}

// Ads in frames: the messages to the locator frames and their answers.
export function frames(target: Window): void {
  const gppCall: GppCallMessage = { __gppCall: { command: "ping", parameter: null, version: "1.1", callId: "g1" } };
  const uspCall: UspCallMessage = { __uspapiCall: { command: "getUSPData", version: 1, callId: "u1" } };
  target.postMessage(gppCall, "*");
  target.postMessage(JSON.stringify(uspCall), "*");
  window.addEventListener("message", (event: MessageEvent<GppReturnMessage>) => {
    if (event.data.__gppReturn?.callId === "g1") console.log(event.data.__gppReturn.returnValue);
  });
  // @ts-expect-error a GPP call names a command of the API
  const wrong: GppCallMessage = { __gppCall: { command: "pong", callId: 1 } };
  console.log(wrong);
  const tcfCall: TcfCallMessage = { __tcfapiCall: { command: "addEventListener", version: 2, callId: "t1" } };
  target.postMessage(JSON.stringify(tcfCall), "*");
  window.addEventListener("message", (event: MessageEvent<TcfReturnMessage>) => {
    if (event.data.__tcfapiReturn?.callId === "t1") console.log(event.data.__tcfapiReturn.success);
  });
  // @ts-expect-error a TCF call names a command of the API
  console.log({ __tcfapiCall: { command: "getTCString", callId: 2 } } satisfies TcfCallMessage);
}

// The globals are declared with `var`, so a page may also call them bare (after the same check).
if (typeof __gpp === "function") __gpp("ping", (data) => console.log(data.gppVersion));
if (typeof __tcfapi === "function") __tcfapi("ping", 2, (data) => console.log(data.cmpLoaded));
