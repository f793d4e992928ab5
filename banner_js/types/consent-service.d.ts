// Types for the page API of the consent service's banner (`/v1/banner.js`, built from banner_js/src).
//
// For integrators: copy this file into a TypeScript project (or a JavaScript one with `// @ts-check`)
// and include it in the compilation, e.g. `/// <reference path="./consent-service.d.ts" />` or in
// tsconfig's "files"/"include". It types what the banner installs on `window`:
//   - `consentService` (decide, onChange, open, state),
//   - the IAB GPP 1.1 CMP API `__gpp`, the US Privacy API `__uspapi` (with its data deletion
//     commands) and the IAB TCF v2.3 CMP API `__tcfapi`,
//   - the `consent:change` event on `document`,
// and exports the shapes they hand out (`ConsentState`, `GppPing`, `GppEvent`, `TCData`, ...), so a page can
// write `import type { ConsentState } from "./consent-service"`.
//
// The banner assigns these globals when it runs, so they may be undefined here: a tag that may run
// first checks for them (or queues calls on an IAB stub). The shapes follow docs/banner.md and DESIGN.md.
// The banner's own sources (banner_js/src/*.js) are type-checked against this file: `tsc` in
// `./dev test` fails if they stop matching it.

/** How the visitor's region treats non-necessary purposes before a choice. */
export type Regime = "opt_in" | "opt_out" | "notice";

/** A purpose's kind; the standard purpose ids on a first visit are these kinds. */
export type PurposeKind = "necessary" | "analytics" | "advertising" | "functional" | "personalization";

/** Why a purpose is allowed or denied (one per decision rule of the service). */
export type Reason =
  | "necessary"
  | "consent"
  | "opt_out"
  | "gpc"
  | "account_opt_out"
  | "no_consent"
  | "default"
  | "store_unavailable";

/** One purpose's decision. Tags should run only when `allowed` is true. */
export interface Decision {
  allowed: boolean;
  reason: Reason;
}

/** A purpose of the site, as the banner shows it (texts in the visitor's language). */
export interface Purpose {
  id: string;
  kind: PurposeKind;
  /** The purpose is a "sale" or "sharing" under US state laws (GPC and the opt-out turn it off). */
  sale_share: boolean;
  label: string;
  description: string;
  /** First-party cookie name patterns (`*` matches anything) deleted when the purpose is denied. */
  cookies: string[];
}

export type ConsentModeValue = "granted" | "denied";

/** Google Consent Mode v2, as the banner sends it to `gtag("consent", ...)`. */
export interface ConsentMode {
  ad_storage: ConsentModeValue;
  ad_user_data: ConsentModeValue;
  ad_personalization: ConsentModeValue;
  analytics_storage: ConsentModeValue;
  functionality_storage: ConsentModeValue;
  personalization_storage: ConsentModeValue;
  /** Always "granted". */
  security_storage: ConsentModeValue;
}

/** A GPP field's value: a number, a list of numbers (e.g. `SensitiveDataProcessing`, tcfeuv2's
 * `VendorConsents`), a boolean (`Gpc`), a list of booleans (tcfeuv2's `PurposeConsents`) or a string
 * (tcfeuv2's `PublisherCountryCode`, and its dates as JSON gives them). */
export type GppFieldValue = number | number[] | boolean | boolean[] | string;

/** One GPP section as `getSection` gives it: for usnat the core fields, then each sub-section's
 * fields (`[{Version, SharingNotice, ..., SaleOptOut, ...}, {SubsectionType: 1, Gpc}]`); for tcfeuv2
 * one object of fields (`{Version, Created, ..., PurposeConsents, VendorConsents, ...}`). */
export type GppSection = Array<Record<string, GppFieldValue>> | Record<string, GppFieldValue>;

/** The decoded sections by API prefix, e.g. `{usnat: GppSection}`; `{}` when there is no GPP string. */
export type GppParsedSections = Record<string, GppSection>;

/**
 * What `consentService.state()` returns and the `consent:change` event carries: a copy, safe to
 * keep or change. It never holds the device token or a choice not yet sent. Keys marked optional
 * are absent until the service first answered (or the visitor acted); the service may add keys.
 */
export interface ConsentState {
  /** The shape's version (1). */
  v: number;
  site?: string;
  /** The visitor's region as the service placed it (e.g. "US-CA", "DE"), null when unknown. */
  region?: string | null;
  /** null until the service answers (the banner then asks as in `opt_in`). */
  regime: Regime | null;
  /** The language of `texts` and the purposes' labels. */
  language?: string;
  /** Global Privacy Control in effect: the page's signal or the service's record. */
  gpc: boolean;
  /** The service's last word on showing the banner. */
  show?: boolean;
  policy_version?: string;
  /** A later explicit opt-in may lift GPC on this site. */
  gpc_lift?: boolean;
  /** The banner's texts by key (the service's, in `language`); `{}` before the first answer. */
  texts: Record<string, string>;
  /** The site's purposes; `[]` before the first answer. */
  purposes: Purpose[];
  /** The visitor's explicit choices still in force, by purpose id. */
  choices: Record<string, boolean>;
  /** Every purpose's decision by purpose id. Before the first answer: the standard ids (the purpose
   * kinds), all denied but `necessary`. An id not listed is denied. */
  decisions: Record<string, Decision>;
  consent_mode: ConsentMode;
  /** The IAB GPP string (`DBABLA~...`); null outside the US or for a site without sale/share. */
  gpp?: string | null;
  /** The GPP section ids that apply: `[7]` (usnat) or `[]`. */
  gpp_sid: number[];
  gpp_parsed?: GppParsedSections;
  /** The US Privacy string: "1YNN", "1YYN", ..., or "1---" where it does not apply. */
  usp?: string | null;
  /** The TC string, on a site with TCF on, in GDPR territory (for server-side callers; the page reads
   * `__tcfapi`). */
  tcf?: string | null;
  /** What `__tcfapi` answers from, on a site with TCF on (absent where it is off). */
  tcf_data?: TcfServiceData;
  /** ms the service deleted this device's data (on its data page); a new value is announced to the
   * callbacks registered with `__uspapi("registerDeletion", ...)`. */
  deleted_at?: number;
  /** Each configured partner's pseudonym of this device, to hand to that partner's tag. */
  partner_ids?: Record<string, string>;
  /** Present (false) only when an opt-out was acknowledged while the service's storage was down. */
  stored?: false;
  /** ms since the epoch of the service's last answer (0: never). */
  fetched_at: number;
  /** ms of the visitor's last choice. */
  chosen_at?: number;
  /** ms the visitor dismissed the notice. */
  dismissed_at?: number;
  /** ms of the visitor's last opt-out of sale/sharing made on this device. */
  opted_out_at?: number;
}

/** `window.consentService`. */
export interface ConsentService {
  /** Resolves once decisions are known: at once from saved state, else after the first answer (or
   * its failure, then with the safe default: denied). An unknown purpose id resolves to false. */
  decide(purpose: string): Promise<boolean>;
  /** `callback(state)` runs on every change of decisions, GPC, GPP or USP. Returns an unsubscribe
   * function. An error thrown by the callback is logged, not thrown into the page. */
  onChange(callback: (state: ConsentState) => void): () => void;
  /** Opens the preferences (as a click on any `[data-consent-open]` element does). */
  open(): void;
  /** A copy of the current state. */
  state(): ConsentState;
}

/** The `consent:change` event dispatched on `document`. */
export type ConsentChangeEvent = CustomEvent<ConsentState>;

// ---------------------------------------------------------------------------------------------------
// IAB Global Privacy Platform, CMP API 1.1: `__gpp(command, callback, parameter)`.

/** Every callback of `__gpp` gets the command's value and whether the command succeeded. */
export type GppCallback<T> = (data: T, success: boolean) => void;

export type GppCommand = "ping" | "addEventListener" | "removeEventListener" | "hasSection" | "getSection" | "getField";

/** The answer of `ping`, and the `pingData` of every event. */
export interface GppPing {
  gppVersion: "1.1";
  /** "error" when the service could not be reached for the first answer. */
  cmpStatus: "loading" | "loaded" | "error";
  cmpDisplayStatus: "visible" | "hidden";
  /** "ready" when the strings are the service's and no change is under way; tags proceed on
   * `cmpStatus` "loaded" and `signalStatus` "ready". */
  signalStatus: "ready" | "not ready";
  /** `["2:tcfeuv2", "7:usnat"]`. */
  supportedAPIs: string[];
  /** 0: no IAB-registered CMP id. */
  cmpId: number;
  sectionList: number[];
  /** `[7]` in the US, `[2]` in GDPR territory on a site with TCF on, `[-1]` where no section applies. */
  applicableSections: number[];
  /** "" when there is no GPP string. */
  gppString: string;
  parsedSections: GppParsedSections;
}

interface GppEventOf<N extends string, D> {
  eventName: N;
  listenerId: number;
  data: D;
  pingData: GppPing;
}

/** What an `addEventListener` callback receives: first `listenerRegistered`, then every change. A
 * change starts with `signalStatus` "not ready" and ends with "ready", after the other events. */
export type GppEvent =
  | GppEventOf<"listenerRegistered", true>
  | GppEventOf<"listenerRemoved", boolean>
  | GppEventOf<"cmpStatus", GppPing["cmpStatus"]>
  | GppEventOf<"cmpDisplayStatus", GppPing["cmpDisplayStatus"]>
  | GppEventOf<"sectionChange", string>
  | GppEventOf<"signalStatus", GppPing["signalStatus"]>;

export type GppEventName = GppEvent["eventName"];

/** `window.__gpp`. Answers come through the callback (at once, synchronously). */
export interface GppApi {
  (command: "ping", callback: GppCallback<GppPing>, parameter?: unknown, version?: string): void;
  /** The callback gets a `listenerRegistered` event at once, then every event; its `listenerId`
   * is what `removeEventListener` takes. */
  (command: "addEventListener", callback: GppCallback<GppEvent>, parameter?: unknown, version?: string): void;
  /** The event's `data` is true when the listener was removed. */
  (
    command: "removeEventListener",
    callback: GppCallback<Extract<GppEvent, { eventName: "listenerRemoved" }>>,
    listenerId: number,
    version?: string,
  ): void;
  /** `"usnat"`, `"tcfeuv2"` (or `"7:usnat"`, `"2:tcfeuv2"`): whether the section applies to this visitor. */
  (command: "hasSection", callback: GppCallback<boolean>, api: string, version?: string): void;
  /** `"usnat"`, `"tcfeuv2"`: the decoded section, or null (success false) when there is none. */
  (command: "getSection", callback: GppCallback<GppSection | null>, api: string, version?: string): void;
  /** `"usnat.SaleOptOut"`, `"tcfeuv2.PurposeConsents"`: one field, or null (success false) when there is none. */
  (command: "getField", callback: GppCallback<GppFieldValue | null>, field: string, version?: string): void;
}

/** The `__gppCall` message a frame posts to the `__gppLocator` frame's window (as an object or as
 * its JSON string); the answer is `{__gppReturn: {returnValue, success, callId}}` in the same form.
 * For `addEventListener`, every event comes back as such an answer with the call's `callId`. */
export interface GppCallMessage {
  __gppCall: { command: GppCommand; parameter?: unknown; version?: string; callId: string | number };
}

export interface GppReturnMessage {
  __gppReturn: { returnValue: unknown; success: boolean; callId: string | number };
}

// ---------------------------------------------------------------------------------------------------
// IAB US Privacy (CCPA) API: `__uspapi("getUSPData", 1, callback)`.

export interface UspData {
  version: 1;
  /** e.g. "1YNN"; "1---" where the US Privacy string does not apply. */
  uspString: string;
}

/** `window.__uspapi`. */
export interface UspApi {
  /** The callback runs once decisions are known; `data` is null (success false) before the service
   * has given a string. */
  (command: "getUSPData", version: number, callback: (data: UspData | null, success: boolean) => void): void;
  /** A vendor's deletion callback (IAB's data deletion request): called, with success true, only when
   * a deletion is performed: by `performDeletion`, or when the visitor deleted this device's data on
   * the service's data page (announced on the next page view). Registered after a deletion in the
   * same page view, it is called at once. Returns true. */
  (command: "registerDeletion", version: number, callback: (identifiers: unknown, success: true) => void): boolean;
  /** Calls every deletion callback (with `identifiers` in apps, as IAB's spec describes). */
  (command: "performDeletion", version: number, callback: null, identifiers?: unknown): void;
}

export interface UspCallMessage {
  __uspapiCall: {
    command: "getUSPData" | "registerDeletion" | "performDeletion";
    version: number;
    parameter?: unknown;
    callId: string | number;
  };
}

export interface UspReturnMessage {
  __uspapiReturn: { returnValue: UspData | null; success: boolean; callId: string | number };
}

// ---------------------------------------------------------------------------------------------------
// IAB Transparency and Consent Framework v2.3, CMP API: `__tcfapi(command, version, callback, parameter)`.

/** Id (as a string) → true or false. */
export type TcfVector = Record<string, boolean>;

/** What the service gives (`tcf_data` in its answers) and `__tcfapi` hands out: IAB's `TCData` but for
 * the three fields the page API adds. Outside GDPR territory only `{gdprApplies: false}`. */
export interface TcfServiceData {
  gdprApplies: boolean;
  /** The TC string: before a choice in GDPR territory the no-consent one (Disclosed Vendors listed). */
  tcString?: string;
  tcfPolicyVersion?: number;
  /** The operator's IAB-registered CMP id and version (service settings; 0 when none is registered). */
  cmpId?: number;
  cmpVersion?: number;
  isServiceSpecific?: boolean;
  useNonStandardTexts?: boolean;
  publisherCC?: string;
  purposeOneTreatment?: boolean;
  purpose?: { consents: TcfVector; legitimateInterests: TcfVector };
  vendor?: { consents: TcfVector; legitimateInterests: TcfVector; disclosedVendors?: TcfVector };
  specialFeatureOptins?: TcfVector;
  publisher?: {
    consents: TcfVector;
    legitimateInterests: TcfVector;
    customPurpose: { consents: TcfVector; legitimateInterests: TcfVector };
    /** purpose id → vendor id → 0 (not allowed), 1 (consent required), 2 (legitimate interest required). */
    restrictions: Record<string, Record<string, 0 | 1 | 2>>;
  };
}

/** `tcloaded`: a valid TC string and no UI to show (always, outside GDPR territory); `cmpuishown`: the
 * banner is due (with the no-consent string) or the visitor is choosing; `useractioncomplete`: the
 * visitor's choice, confirmed by the service, in this page view. */
export type TcfEventStatus = "tcloaded" | "cmpuishown" | "useractioncomplete";

/** What `addEventListener` callbacks (and the deprecated `getTCData`) receive. */
export interface TCData extends TcfServiceData {
  eventStatus: TcfEventStatus;
  cmpStatus: "loaded";
  /** The listener's id (for `removeEventListener`); undefined for `getTCData`. */
  listenerId: number | undefined;
}

/** The answer of `ping` (at once, always). */
export interface TcfPing {
  /** undefined until the service has answered (and on a site with TCF off). */
  gdprApplies: boolean | undefined;
  cmpLoaded: boolean;
  /** "error" on a site with TCF off, or when the service cannot be reached or refuses the page: every
   * other command then fails. */
  cmpStatus: "loading" | "loaded" | "error";
  displayStatus: "visible" | "hidden" | "disabled";
  /** "2.2", the CMP API's version (TC strings of TCF v2.3). */
  apiVersion: string;
  cmpVersion: number | undefined;
  cmpId: number | undefined;
  gvlVersion?: number;
  tcfPolicyVersion: number | undefined;
}

/** The `version` argument: 2, or 0/null/undefined for the latest; any other fails (null, false). */
export type TcfVersion = 2 | 0 | null | undefined;

/** `window.__tcfapi`. Before the service's first answer every command but `ping` waits for it. */
export interface TcfApi {
  (command: "ping", version: TcfVersion, callback: (ping: TcfPing, success: boolean) => void): void;
  /** The callback gets the TC data at once (once known), then on every change of its TC string or
   * eventStatus; `(null, false)` where TCF is not available (`cmpStatus` "error"). */
  (command: "addEventListener", version: TcfVersion, callback: (tcData: TCData | null, success: boolean) => void): void;
  /** `removed` (the first argument, as the CMP API has it) is whether the listener was removed. */
  (
    command: "removeEventListener",
    version: TcfVersion,
    callback: (removed: boolean, success: boolean) => void,
    listenerId: number,
  ): void;
  /** @deprecated since TCF v2.2, kept for old callers: use `addEventListener`. Answers once; with
   * `vendorIds`, `vendor`'s fields name those vendors only. */
  (
    command: "getTCData",
    version: TcfVersion,
    callback: (tcData: TCData | null, success: boolean) => void,
    vendorIds?: number[],
  ): void;
  /** Not supported: `(null, false)`. */
  (command: "getVendorList", version: TcfVersion, callback: (gvl: null, success: false) => void, vendorListVersion?: unknown): void;
}

export type TcfCommand = "ping" | "addEventListener" | "removeEventListener" | "getTCData" | "getVendorList";

/** The `__tcfapiCall` message a frame posts to the `__tcfapiLocator` frame's window (as an object or
 * as its JSON string); the answer is `{__tcfapiReturn: {returnValue, success, callId}}` in the same
 * form. For `addEventListener`, every call of the listener comes back with the call's `callId`. */
export interface TcfCallMessage {
  __tcfapiCall: { command: TcfCommand; parameter?: unknown; version?: TcfVersion; callId: string | number };
}

export interface TcfReturnMessage {
  __tcfapiReturn: { returnValue: unknown; success: boolean; callId: string | number };
}

// ---------------------------------------------------------------------------------------------------

declare global {
  // Installed by the banner when it runs, so undefined before (and never replaced by a second copy).
  // Before it, IAB stubs may stand in: calls queued on `__gpp.queue`, `__uspapi.a` (or `.queue`) and
  // `__tcfapi.a` (or kept by IAB's TCF stub, which gives them when called without arguments) are
  // answered once the banner runs.
  var consentService: ConsentService | undefined;
  var __gpp: GppApi | undefined;
  var __uspapi: UspApi | undefined;
  var __tcfapi: TcfApi | undefined;

  interface DocumentEventMap {
    "consent:change": ConsentChangeEvent;
  }
}
