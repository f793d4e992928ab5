// @ts-check
// Google Consent Mode v2: a `default` before any tag, an `update` on every decision.
import { WAIT_FOR_UPDATE } from "./constants.js";
import { w } from "./dom.js";
import { S } from "./state.js";

/** @type {boolean | undefined} */
let defaulted;

// Calls the page's gtag, or pushes an arguments object the way gtag itself does. The dataLayer is
// made when missing, so the default is queued before a Google tag loaded after this script.
/** @type {(...args: unknown[]) => void} */
function gtag() {
  if (typeof w.gtag === "function") w.gtag.apply(w, arguments);
  else (w.dataLayer = w.dataLayer || []).push(arguments);
}

export function syncConsentMode() {
  if (!defaulted) gtag("consent", "default", { ...S.consent_mode, wait_for_update: WAIT_FOR_UPDATE });
  else gtag("consent", "update", S.consent_mode);
  defaulted = true;
}
