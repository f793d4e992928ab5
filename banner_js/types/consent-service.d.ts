// Types for the page API of the consent service's banner (`/v1/banner.js`, built from banner_js/src).
//
// For integrators: copy this file into a TypeScript project (or a JavaScript one with `// @ts-check`)
// and include it in the compilation, e.g. `/// <reference path="./consent-service.d.ts" />` or in
// tsconfig's "files"/"include". It types what the banner installs on `window`:
//   - `consentService` (decide, onChange, open, state),
//   - the IAB GPP 1.1 CMP API `__gpp` and the US Privacy API `__uspapi`,
//   - the `consent:change` event on `document`,
// and exports the shapes they hand out (`ConsentState`, `GppPing`, `GppEvent`, ...), so a page can
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

/** A GPP field's value: a number, a list of numbers (e.g. `SensitiveDataProcessing`) or `Gpc`. */
export type GppFieldValue = number | number[] | boolean;

/** One GPP section as `getSection` gives it: the core fields, then each sub-section's fields
 * (usnat: `[{Version, SharingNotice, ..., SaleOptOut, ...}, {SubsectionType: 1, Gpc}]`). */
export type GppSection = Array<Record<string, GppFieldValue>>;

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
  /** `["7:usnat"]`. */
  supportedAPIs: string[];
  /** 0: no IAB-registered CMP id. */
  cmpId: number;
  sectionList: number[];
  /** `[7]` in the US, `[-1]` where no section applies. */
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
  /** `"usnat"` (or `"7:usnat"`): whether the section applies to this visitor. */
  (command: "hasSection", callback: GppCallback<boolean>, api: string, version?: string): void;
  /** `"usnat"`: the decoded section, or null (success false) when there is none. */
  (command: "getSection", callback: GppCallback<GppSection | null>, api: string, version?: string): void;
  /** `"usnat.SaleOptOut"`: one field, or null (success false) when there is none. */
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

/** `window.__uspapi`. The callback runs once decisions are known; `data` is null (success false)
 * for another command, or before the service has given a string. */
export interface UspApi {
  (command: "getUSPData", version: number, callback: (data: UspData | null, success: boolean) => void): void;
}

export interface UspCallMessage {
  __uspapiCall: { command: "getUSPData"; version: number; callId: string | number };
}

export interface UspReturnMessage {
  __uspapiReturn: { returnValue: UspData | null; success: boolean; callId: string | number };
}

// ---------------------------------------------------------------------------------------------------

declare global {
  // Installed by the banner when it runs, so undefined before (and never replaced by a second copy).
  // Before it, IAB stubs may stand in: calls queued on `__gpp.queue` and `__uspapi.a` (or `.queue`)
  // are answered once the banner runs.
  var consentService: ConsentService | undefined;
  var __gpp: GppApi | undefined;
  var __uspapi: UspApi | undefined;

  interface DocumentEventMap {
    "consent:change": ConsentChangeEvent;
  }
}
