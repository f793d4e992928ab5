// @ts-check
// The preferences (the "Customize" dialog): a script of its own, static/banner-prefs.js, that the
// banner (ui.js) loads from the service the first time they are opened, so the base banner stays
// within its budget. When it runs it hands its open() over in a PREFS_EVENT on `document`; the
// banner calls it with what the dialog needs (Internals). Nothing of the page API changes.
// Hooks for tests: a modal [role=dialog][aria-modal=true], the toggles [data-cs-purpose=<id>] and the
// buttons [data-cs=optout|accept|reject|save|close].
import CSS from "./prefs.css";
import { ACCEPT_ALL, CUSTOM, NECESSARY, OPT_OUT, PREFS_EVENT, REJECT_ALL } from "./constants.js";

/**
 * @import { Purpose } from "../types/consent-service"
 * @import { h as H } from "./dom.js"
 * @import { S as State, allowed as Allowed, live as Live, optedOut as OptedOut } from "./state.js"
 * @import { Actions, Texts, button as Button, lead as Lead, panel as Panel } from "./ui.js"
 */

/**
 * What the banner hands the preferences when it opens them (all of it the banner's own), as open()'s
 * arguments in this order: positional, because an object's keys would cost the base banner about 40
 * bytes of its budget (minifiers rename arguments, not keys).
 * @typedef {object} Internals
 * @property {ShadowRoot} root the banner's shadow root
 * @property {Texts} t the texts
 * @property {typeof State} S the state
 * @property {typeof Live} live this page's flags (`busy` while the preferences are open)
 * @property {typeof Allowed} allowed
 * @property {typeof OptedOut} optedOut
 * @property {Actions} act the visitor's choices
 * @property {typeof H} h
 * @property {typeof Button} button
 * @property {typeof Panel} panel
 * @property {typeof Lead} lead
 * @property {(overlay: HTMLElement | null, chose?: boolean) => void} show shows the preferences' overlay
 *   in the banner's place, or removes it (null) and brings the banner back unless the visitor chose
 * @property {() => void} displayed tells IAB listeners (and the GPC status line) what is on screen
 * @typedef {typeof open} Open the preferences' open(), handed to the banner
 */

/** @type {Internals} */
let x;
/** @type {HTMLElement} */
let prefs; // the overlay, while open
/** @type {HTMLElement | null} */
let returnFocus;
/** @type {boolean | undefined} */
let styled;

/**
 * Opens the preferences (the banner made sure they are not open).
 * @param {Internals["root"]} root
 * @param {Internals["t"]} t
 * @param {Internals["S"]} S
 * @param {Internals["live"]} live
 * @param {Internals["allowed"]} allowed
 * @param {Internals["optedOut"]} optedOut
 * @param {Internals["act"]} act
 * @param {Internals["h"]} h
 * @param {Internals["button"]} button
 * @param {Internals["panel"]} panel
 * @param {Internals["lead"]} lead
 * @param {Internals["displayed"]} displayed
 * @param {Internals["show"]} show
 */
function open(root, t, S, live, allowed, optedOut, act, h, button, panel, lead, displayed, show) {
  x = { root, t, S, live, allowed, optedOut, act, h, button, panel, lead, displayed, show };
  if (!styled) {
    // Its rules after the banner's, as the base adds them (a constructable sheet works under
    // `style-src 'self'`, where a <style> element would not).
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      x.root.adoptedStyleSheets = [...x.root.adoptedStyleSheets, sheet];
    } catch (e) {
      x.root.append(x.h("style", {}, CSS));
    }
    styled = true;
  }
  x.live.busy = 1;
  returnFocus = /** @type {HTMLElement | null} */ (x.root.activeElement || document.activeElement);
  /** @type {(action: string, read?: true) => () => void} */
  const choose = (action, read) => () => {
    const choices = read && readToggles();
    closePrefs(true);
    x.act.choose(action, choices);
  };
  // Where the law asks for it, the "Do Not Sell or Share" link leads to a one-step opt-out; not
  // offered again once it is in force (by GPC, the visitor or an account opt-out).
  const dns =
    S.regime === OPT_OUT && !x.optedOut() && button(t, "do_not_sell", () => closePrefs(true) || x.act.optOut(), "optout");
  const dialog = x.panel({ class: "d", role: "dialog", "aria-modal": "true", onkeydown: onKey }, t, [
    ...x.lead(t),
    ...S.purposes.map((p) => purposeRow(p, t)),
    x.h("div", { class: "r" }, [
      dns,
      button(t, ACCEPT_ALL, choose(ACCEPT_ALL)),
      button(t, REJECT_ALL, choose(REJECT_ALL)),
      button(t, "save", choose(CUSTOM, true)),
      button(t, "close", () => closePrefs()),
    ]),
  ]);
  // The banner leaves while the preferences are open, so each control exists once on the page.
  x.show((prefs = x.h("div", { class: "o" }, dialog)));
  focusables()[0].focus();
  x.displayed();
}

// One toggle per purpose, ticked only where the purpose is allowed now (so none in opt_in before
// a choice); necessary is always on, and a sale/share purpose GPC turned off is shown off, disabled,
// with the reason in its label.
/**
 * @param {Purpose} p
 * @param {Texts} t
 */
function purposeRow(p, t) {
  const { S, allowed, h } = x;
  // Where the site allows a later explicit opt-in to lift GPC (`gpc_lift`), the toggle stays usable:
  // this dialog, opened by the visitor, is the only place that offer appears.
  const fixed =
    p.kind === NECESSARY ? t.always_on : p.sale_share && S.gpc && !allowed(p.id) && !S.gpc_lift && t.gpc_off;
  const id = "cs-d-" + p.id;
  return h("div", { class: "p" }, [
    h("label", {}, [
      h("input", {
        type: "checkbox",
        "data-cs-purpose": p.id,
        "aria-describedby": id,
        checked: p.kind === NECESSARY || allowed(p.id),
        disabled: !!fixed,
      }),
      p.label,
      fixed && h("small", {}, fixed),
    ]),
    h("p", { id }, p.description),
  ]);
}

function readToggles() {
  /** @type {Record<string, boolean>} */
  const choices = {};
  for (const i of /** @type {NodeListOf<HTMLInputElement>} */ (prefs.querySelectorAll("input:not([disabled])"))) {
    choices[/** @type {string} */ (i.dataset.csPurpose)] = i.checked;
  }
  return choices;
}

// Closing without a choice brings the banner back; the focus returns where it was (or to the
// banner's Customize button, which opened the preferences). With a choice, the change goes on until
// the choice is recorded.
/**
 * @param {boolean} [chose]
 * @returns {undefined}
 */
function closePrefs(chose) {
  x.show(null, chose);
  (returnFocus?.isConnected
    ? returnFocus
    : /** @type {HTMLElement | null} */ (x.root.querySelector("[data-cs=customize]")))?.focus();
  x.displayed();
}

/** @type {() => HTMLElement[]} */
const focusables = () => [.../** @type {NodeListOf<HTMLElement>} */ (prefs.querySelectorAll("input:not([disabled]),button"))];

// Escape closes; Tab and Shift+Tab stay inside the modal dialog.
/** @param {KeyboardEvent} e */
function onKey(e) {
  if (e.key === "Escape") return closePrefs();
  if (e.key !== "Tab") return;
  // Shift+Tab: the same with the order reversed.
  const all = e.shiftKey ? focusables().reverse() : focusables();
  if (x.root.activeElement === all[all.length - 1]) {
    e.preventDefault();
    all[0].focus();
  }
}

document.dispatchEvent(new CustomEvent(PREFS_EVENT, { detail: open }));
