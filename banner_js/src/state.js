// @ts-check
// The one state object, its first-party storage, and the decisions the browser may compute itself
// (before the first answer, for a GPC signal the service has not seen yet, and for a choice made
// while the API cannot be reached). The service's answers always win once they arrive.
import {
  CONSENT_MODE_KEYS, DENIED, GRANTED, NECESSARY, OPT_IN, REASON_ACCOUNT, REASON_CONSENT, REASON_DEFAULT,
  REASON_GPC, REASON_NO_CONSENT, REASON_OPT_OUT, SECURITY_STORAGE, STORAGE_PREFIX, YEAR,
} from "./constants.js";

/**
 * @import { ConsentMode, ConsentState, Decision, GppSection, Reason } from "../types/consent-service"
 * @typedef {{path: string, body: Record<string, unknown>}} Pending a choice the service has not accepted yet
 * @typedef {ConsentState & {device?: string | null, pending: Pending | null}} State what is saved: the
 *   page's copy (ConsentState) with the device token and the pending choice
 * @typedef {{failed?: boolean, ask?: boolean | number, shown?: unknown, busy?: number, bad?: number, got?: number,
 *   done?: number}} Live this page's flags (see `live`)
 */

// A page-level GPC signal is an opt-out of sale/sharing before any network answer.
export const PAGE_GPC = navigator.globalPrivacyControl === true;

/** @type {(allowed: boolean, reason: Reason) => Decision} */
const decision = (allowed, reason) => ({ allowed, reason });

// Before the first answer the site's purposes are unknown: the safe default names the standard
// ids (the purpose kinds), all denied but necessary; with GPC, advertising (sale/share) says so.
function firstVisit() {
  /** @type {Record<string, Decision>} */
  const d = { [NECESSARY]: decision(true, NECESSARY) };
  for (const kind in CONSENT_MODE_KEYS) d[kind] = decision(false, REASON_NO_CONSENT);
  if (PAGE_GPC) d.advertising = decision(false, REASON_GPC);
  return d;
}

// Everything here is saved under localStorage `cs:<site>`; the README documents the shape. A key
// that is not known yet is absent (undefined), and so left out of the saved JSON:
//   device          signed device token, sent as X-Consent-Device
//   region, language, policy_version, gpp, usp, gpp_parsed, gpc_lift: the service's
//   show            the service wants the banner shown
//   chosen_at       ms of the visitor's last choice
//   dismissed_at    ms the notice was dismissed
//   opted_out_at    ms of the visitor's last opt-out of sale/sharing (no re-prompt for 12 months)
// (consent_mode is set below: it is computed from this object.)
export const S = /** @type {State} */ (/** @type {Omit<State, "consent_mode">} */ ({
  v: 1, // the shape's version: a saved state of another shape is ignored
  regime: null, // opt_in | opt_out | notice; null until the service answers
  gpc: PAGE_GPC, // effective GPC: this page's signal or the service's record
  texts: {},
  purposes: [], // [{id, kind, sale_share, label, description, cookies}]
  choices: {}, // the visitor's explicit choices {purpose: bool}
  decisions: firstVisit(), // {purpose: {allowed, reason}}
  gpp_sid: [],
  fetched_at: 0, // ms of the last experience answer
  pending: null, // {path, body}: a choice not yet accepted by the service
}));

// Google Consent Mode v2 values (the service's, or computed here); on a first visit everything but
// security_storage is denied.
S.consent_mode = consentMode();

// This page's flags, never saved (absent is false):
//   failed  the last API call failed
//   ask     ask the service now, not after the page loads: the page has a GPC signal the service
//           has not recorded yet, or saved decisions were reset to "no consent"
//   shown   the banner or the preferences are on screen
//   bad     the service refused this page as not set up for it (forbidden_origin, unknown_site)
//   busy    a change is under way (the preferences are open, or a choice is being recorded): GPP
//           signalStatus is "not ready", TCF eventStatus "cmpuishown"
//   got     the service answered in this page view (without `tcf_data`, TCF is off for the site)
//   done    the service confirmed a choice of the visitor's in this page view: TCF "useractioncomplete"
/** @type {Live} */
export const live = {};

// Resolves once decisions are known: from saved state, the service, or the safe default.
/** @type {() => void} */
export let markDecided;
export const decided = /** @type {Promise<void>} */ (new Promise((resolve) => (markDecided = resolve)));

/** @type {string} */
let key;

/**
 * Loads the saved state for `site`; true when there was one (a returning visitor).
 * @param {string} site
 */
export function load(site) {
  key = STORAGE_PREFIX + site;
  try {
    const saved = JSON.parse(/** @type {string} */ (localStorage.getItem(key))); // null when absent
    if (saved?.v === S.v) {
      Object.assign(S, saved);
      // A saved "default" is the regime of the place the visitor was in then: until the service
      // answers for today's place, it counts as no consent (a US default must not run ads in Germany).
      for (const id in S.decisions) {
        if (S.decisions[id].reason === REASON_DEFAULT) {
          S.decisions[id] = decision(false, REASON_NO_CONSENT);
          live.ask = 1;
        }
      }
      S.consent_mode = consentMode();
      return true;
    }
  } catch (e) {
    // storage blocked or corrupt: start as a first visit
  }
  return false;
}

export function save() {
  try {
    localStorage.setItem(key, JSON.stringify(S));
  } catch (e) {
    // storage blocked or full: the state lives for this page only
  }
}

// What tags may read: never the device token (a stable identifier) or an unsent choice.
/** @type {() => ConsentState} */
export const copy = () => JSON.parse(JSON.stringify(S, (k, v) => (k === "device" || k === "pending" ? void 0 : v)));

// Before any answer only necessary runs: an unknown decision is a denial.
export const allowed = (/** @type {string} */ id) => id === NECESSARY || !!S.decisions[id]?.allowed;

// DESIGN "When the banner asks": the service decides (`show`), but never after a choice that is not
// yet sent, within 12 months of an opt-out, or after the visitor dismissed a notice. (Without an
// opt-out, `opted_out_at` is undefined: NaN is not less than a year, here and in merge().)
export const bannerDue = () =>
  S.show &&
  !S.pending &&
  !(Date.now() - /** @type {number} */ (S.opted_out_at) < YEAR) &&
  !(S.dismissed_at && S.regime !== OPT_IN);

/**
 * Takes an answer of the service (experience or decision shape): its fields replace ours.
 * @param {Partial<State>} answer
 */
export function merge(answer) {
  const mine = S.choices;
  Object.assign(S, answer);
  live.got = 1;
  // Absent where the site has TCF off: a TC string saved from before must not outlive it.
  S.tcf_data = answer.tcf_data;
  if (!answer.consent_mode) S.consent_mode = consentMode();
  // An opt-out of sale/sharing made here within 12 months holds even when the service refused it
  // (a 4xx drops the pending call) or never got it: the local choice stays, and an answer that
  // allows the purpose without an explicit consent of the visitor's is a denial here.
  if (Date.now() - /** @type {number} */ (S.opted_out_at) < YEAR) {
    for (const p of S.purposes) {
      const d = S.decisions[p.id];
      if (p.sale_share && mine[p.id] === false && d?.reason !== REASON_CONSENT) {
        S.choices[p.id] = false;
        if (d?.allowed) {
          S.decisions[p.id] = decision(false, REASON_OPT_OUT);
          settle();
        }
      }
    }
  }
  // The page's signal was sent (gpc=1 or "gpc": true); should an answer not reflect it, it still holds.
  if (PAGE_GPC && !answer.gpc) applyGpc();
}

// GPC seen in the page: every sale/share purpose off with reason gpc.
export function applyGpc() {
  S.gpc = true;
  for (const p of S.purposes) if (p.sale_share) S.decisions[p.id] = decision(false, REASON_GPC);
  settle();
}

// Decisions from the visitor's choices, the service's rules in short: necessary, GPC, an account
// opt-out the service reported, the choice, the regime's default (opt_in or unknown: denied).
export function decideLocally() {
  for (const p of S.purposes) {
    const c = S.choices[p.id];
    const d = S.decisions[p.id];
    S.decisions[p.id] =
      p.kind === NECESSARY ? decision(true, NECESSARY)
      : p.sale_share && S.gpc ? decision(false, REASON_GPC)
      : p.sale_share && d?.reason === REASON_ACCOUNT ? d
      : c != null ? decision(c, c ? REASON_CONSENT : REASON_OPT_OUT)
      : !S.regime || S.regime === OPT_IN ? decision(false, REASON_NO_CONSENT)
      : decision(true, REASON_DEFAULT);
  }
  settle();
}

// After a local change: Consent Mode from the decisions; and where a sale/share purpose is opted out
// (denied for another reason than no consent yet), USP and GPP say so at once, as the service's own
// strings for that visitor do, so a tag never reads a new USP beside an old GPP. There is no GPP
// encoder here: usnat's SaleOptOut, SharingOptOut and TargetedAdvertisingOptOut are bits 18-23 of
// its core, the 4th base64url character, "q" (2, 2, 2: not opted out) or "V" (1, 1, 1). Only the
// exact layout the service writes (header DBABLA: usnat alone) is edited; the parsed copy
// (gpp_parsed) follows. (The Gpc subsection stays the service's until it answers.)
function settle() {
  S.consent_mode = consentMode();
  if (S.purposes.some((p) => p.sale_share && !allowed(p.id) && S.decisions[p.id]?.reason !== REASON_NO_CONSENT)) {
    if (S.usp) S.usp = S.usp.replace(/^(1.)N/, "$1Y");
    if (S.gpp) S.gpp = S.gpp.replace(/^(DBABLA~...)q/, "$1V");
    Object.assign(/** @type {GppSection[] | undefined} */ (S.gpp_parsed?.usnat)?.[0] || {}, { SaleOptOut: 1, SharingOptOut: 1, TargetedAdvertisingOptOut: 1 });
  }
}

// The page is not set up for the service (misconfigured): what this device had allowed is denied, as
// before any choice; necessary stays.
export function failClosed() {
  for (const id in S.decisions) {
    const d = S.decisions[id];
    if (d.allowed && d.reason !== NECESSARY) S.decisions[id] = decision(false, REASON_NO_CONSENT);
  }
  settle();
}

// Every sale/share purpose of the site is opted out (GPC, the visitor, an account opt-out): the
// Do Not Sell offer is in force, so it is not offered again.
export const optedOut = () => {
  const sale = S.purposes.filter((p) => p.sale_share);
  return !!sale[0] && !sale.some((p) => allowed(p.id));
};

// As the service computes it: a key is granted when the site has purposes of its kind and every
// one is allowed (a kind it does not declare, or any kind before the purposes are known, is denied).
/** @returns {ConsentMode} */
export function consentMode() {
  /** @type {Partial<ConsentMode>} */
  const m = { [SECURITY_STORAGE]: GRANTED };
  for (const kind in CONSENT_MODE_KEYS) {
    const mine = S.purposes.filter((p) => p.kind === kind);
    const ok = mine.length > 0 && mine.every((p) => allowed(p.id));
    for (const k of CONSENT_MODE_KEYS[kind]) m[k] = ok ? GRANTED : DENIED;
  }
  return /** @type {ConsentMode} */ (m);
}
