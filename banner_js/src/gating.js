// @ts-check
// Tag gating: `<script type="text/plain" data-consent="PURPOSE …">` and `<iframe data-consent data-src>`
// run only when every purpose they name is allowed, in document order, each once.
import { GATE_ATTR } from "./constants.js";
import { doc } from "./dom.js";
import { allowed } from "./state.js";

/** @typedef {HTMLScriptElement | HTMLIFrameElement} Gated an inert tag: a script of type text/plain, or an iframe */

/** @type {WeakSet<Gated>} */
const queued = new WeakSet();
/** @type {Promise<unknown>} */
let chain = Promise.resolve();

const permitted = (/** @type {Gated} */ el) =>
  /** @type {string} */ (el.getAttribute(GATE_ATTR)).split(/\s+/).filter(Boolean).every(allowed);

// Called on every decision change and when the document is parsed.
export function gate() {
  for (const el of /** @type {NodeListOf<Gated>} */ (
    doc.querySelectorAll(`script[${GATE_ATTR}],iframe[${GATE_ATTR}]`)
  )) {
    if (queued.has(el) || !permitted(el)) continue;
    queued.add(el);
    chain = chain.then(() => activate(el)).catch(() => {});
  }
}

// One at a time: an external script is waited for before the next element runs, and each one is
// checked again when its turn comes, so an opt-out in between stops it.
/** @param {Gated} el */
function activate(el) {
  if (!permitted(el)) return queued.delete(el);
  const src = el.getAttribute("data-src");
  if (el.tagName === "IFRAME") {
    if (src) el.src = src;
    return;
  }
  // (`done` is the promise's resolve, called with an event or nothing.)
  return new Promise((/** @type {(value?: unknown) => void} */ done) => {
    const s = doc.createElement("script");
    for (const a of el.attributes) {
      if (!/^(type|data-consent|data-src)$/.test(a.name)) s.setAttribute(a.name, a.value);
    }
    if (el.nonce) s.nonce = el.nonce; // strict-CSP sites that use nonces
    if (src || el.src) {
      s.src = src || el.src;
      s.onload = s.onerror = done;
    } else {
      s.text = /** @type {HTMLScriptElement} */ (el).text;
      done();
    }
    el.replaceWith(s); // the inert copy goes, so a later scan cannot run it twice
  });
}
