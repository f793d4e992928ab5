// @ts-check
// Every name the banner shares with the service, the page or ad tech, defined once.
// The vocabularies mirror consent_service/vocab.py; only add here, never rename.

// The UI text keys; a test checks this list against consent_service/texts.py (TEXT_KEYS).
export const TEXT_KEYS = [
  "title", "intro_opt_in", "intro_opt_out", "intro_notice", "accept_all", "reject_all", "customize",
  "save", "close", "dismiss", "do_not_sell", "opt_out_done", "gpc_honored", "gpc_detail", "always_on",
  "saved", "offline", "gpc_off", "unavailable",
];

// English ships inside the script so the banner works when the API cannot be reached;
// the experience answer's `texts` override these.
export const EN_TEXTS = {
  title: "Your privacy choices",
  intro_opt_in: "We use cookies and similar technologies for analytics, personalization and advertising. " +
    "Choose what you allow; you can change it at any time.",
  intro_opt_out: "We share personal information with advertising partners, which may be a sale or sharing " +
    "under US state privacy laws. You can opt out at any time.",
  intro_notice: "This site uses cookies for analytics, personalization and advertising.",
  accept_all: "Accept all",
  reject_all: "Reject all",
  customize: "Customize",
  save: "Save choices",
  close: "Close",
  dismiss: "OK",
  do_not_sell: "Do Not Sell or Share My Personal Information",
  opt_out_done: "Your opt-out has been processed. We will not sell or share your personal information.",
  gpc_honored: "Opt-Out Request Honored",
  gpc_detail: "Your browser sent a Global Privacy Control signal, which we treat as an opt-out of sale and sharing.",
  always_on: "Always on",
  saved: "Your choices have been saved.",
  offline: "Saved on this device; it will be sent when the service can be reached.",
  gpc_off: "Off because of your browser's Global Privacy Control signal",
  unavailable: "Privacy choices cannot be recorded on this page right now, so only what is strictly necessary is used.",
};

export const OPT_IN = "opt_in";
export const OPT_OUT = "opt_out";
export const NOTICE = "notice";

export const NECESSARY = "necessary";
export const REASON_GPC = "gpc";
export const REASON_CONSENT = "consent";
export const REASON_OPT_OUT = "opt_out";
export const REASON_NO_CONSENT = "no_consent";
export const REASON_DEFAULT = "default";
export const REASON_ACCOUNT = "account_opt_out";

export const ACCEPT_ALL = "accept_all";
export const REJECT_ALL = "reject_all";
export const CUSTOM = "custom";
export const SOURCE = "banner";

export const STORAGE_PREFIX = "cs:";
export const DEVICE_HEADER = "X-Consent-Device";
export const CHANGE_EVENT = "consent:change";
export const OPEN_ATTR = "data-consent-open";
export const GATE_ATTR = "data-consent";
export const HOST_ID = "consent-service";
export const STATUS_ATTR = "data-consent-status"; // where the site wants the GPC status line

// The service's errors that mean "this page is not set up" (not an outage): vocab.py's ErrorCode.
export const ERR_ORIGIN = "forbidden_origin";
export const ERR_SITE = "unknown_site";

export const PATH_CONSENT = "/v1/consent";
export const PATH_OPT_OUT = "/v1/opt-out";
export const experiencePath = (/** @type {string} */ site) => `/v1/sites/${encodeURIComponent(site)}/experience`;

export const DAY = 864e5; // ms
export const YEAR = 31536e6; // 365 days, ms
export const TIMEOUT = 8000; // ms before an API call counts as unreachable
export const OPEN_WAIT = 1500; // ms open() waits for a first answer before it opens with what is known

// Google Consent Mode v2: the keys each purpose kind controls (DESIGN.md's mapping);
// security_storage is always granted.
export const GRANTED = "granted";
export const DENIED = "denied";
export const SECURITY_STORAGE = "security_storage";
/** @type {Record<string, Array<keyof import("../types/consent-service").ConsentMode>>} */
export const CONSENT_MODE_KEYS = {
  advertising: ["ad_storage", "ad_user_data", "ad_personalization"],
  analytics: ["analytics_storage"],
  functional: ["functionality_storage"],
  personalization: ["personalization_storage"],
};
export const WAIT_FOR_UPDATE = 500; // ms

// IAB GPP / USP / TCF.
export const GPP_VERSION = "1.1";
export const CMP_ID = 0; // GPP's: no IAB-registered CMP id (TCF's comes from the service, in tcf_data)
// The GPP sections the service writes, "<id>:<api prefix>" as ping's supportedAPIs lists them.
export const GPP_APIS = ["2:tcfeuv2", "7:usnat"];
// The page APIs: window.__<name>, their `__<name>Call` / `__<name>Return` messages, `__<name>Locator` frames.
export const IAB_APIS = ["gpp", "uspapi", "tcfapi"];
export const TCF_API_VERSION = "2.2"; // the CMP API's (TCF v2.3 strings); `version` 2 in calls
export const USP_COOKIE = "usprivacy";
