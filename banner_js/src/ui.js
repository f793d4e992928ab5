// @ts-check
// The banner (a labelled region) and the preferences (a modal dialog), inside an open shadow root.
// Stable hooks for tests: host #consent-service, buttons [data-cs=accept|reject|customize|save|close|
// dismiss|optout], toggles [data-cs-purpose=<id>], the GPC message [data-cs=gpc], [data-cs=status],
// and the GPC status line [data-cs=honored].
import CSS from "./banner.css";
import {
  ACCEPT_ALL, CUSTOM, EN_TEXTS, HOST_ID, NECESSARY, NOTICE, OPT_OUT, REASON_GPC, REJECT_ALL, STATUS_ATTR,
} from "./constants.js";
import { doc, h } from "./dom.js";
import { iabUpdate } from "./iab.js";
import { S, allowed, live, optedOut } from "./state.js";

/**
 * @import { Purpose } from "../types/consent-service"
 * @import { Attr, Child } from "./dom.js"
 * @typedef {{choose(action: string, choices?: Record<string, boolean>): void, optOut(): void, dismiss(): void}} Actions
 *   the visitor's choices, from index.js
 * @typedef {Record<string, string>} Texts the UI texts by key (EN_TEXTS's keys)
 */

/** @type {Actions} */
let act;
/** @type {ShadowRoot} */
let root; // made by mount()
/** @type {HTMLElement | null | undefined} */
let banner;
/** @type {HTMLElement | null | undefined} */
let prefs;
/** @type {HTMLElement | null} */
let returnFocus;
/** @type {boolean | undefined} */
let bannerBack;
/** @type {HTMLElement | undefined} */
let back; // the page's element focused before the focus entered the banner or the preferences
/** @type {HTMLElement | undefined} */
let line; // the GPC status line in the corner

export const setActions = (/** @type {Actions} */ actions) => (act = actions);

/** @type {() => Texts} */
export const texts = () => ({ ...EN_TEXTS, ...S.texts });

function mount() {
  if (root) return;
  // Focus moving in from the page: remember where it came from. Within the shadow root the related
  // target is the host itself; none when the focused control was just replaced (then keep `back`).
  const from = (/** @type {FocusEvent} */ e) =>
    e.relatedTarget !== host && (back = /** @type {HTMLElement | null} */ (e.relatedTarget) || back);
  const host = h("div", { id: HOST_ID, onfocusin: from });
  root = host.attachShadow({ mode: "open" });
  try {
    // A constructable sheet works under `style-src 'self'`, where a <style> element would not.
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } catch (e) {
    root.append(h("style", {}, CSS));
  }
  // First in the body, so keyboard and screen-reader users meet it before the page.
  doc.body.prepend(host);
}

// No form around them here, so no `type` is needed. The hook is the text key's first word (accept_all:
// accept) unless given (do_not_sell: optout).
/** @type {(t: Texts, key: string, onclick: () => unknown, cs?: string) => HTMLButtonElement} */
const button = (t, key, onclick, cs = key.split("_")[0]) => h("button", { "data-cs": cs, onclick }, t[key]);

// The banner and the preferences alike: a container labelled by its title. They never show
// together, so they share the heading's id.
/** @type {(attrs: Record<string, Attr>, t: Texts, body: Child[]) => HTMLDivElement} */
const panel = (attrs, t, body) =>
  h("div", { ...attrs, "aria-labelledby": "cs-t", lang: S.language }, [h("h2", { id: "cs-t" }, t.title), ...body]);

// The GPC message (when GPC is on) and the regime's introduction. Where the sale/share opt-out is
// already in force in `opt_out`, no "you can opt out" intro: GPC's message, or else the confirmation.
/** @type {(t: Texts) => Child[]} */
const lead = (t) => [
  S.gpc && h("p", { "data-cs": "gpc" }, [h("strong", {}, t.gpc_honored), " ", t.gpc_detail]),
  S.regime !== OPT_OUT || !optedOut()
    ? h("p", {}, t["intro_" + S.regime] || t.intro_opt_in)
    : !S.gpc && h("p", {}, t.opt_out_done),
];

// Tells IAB listeners whether the CMP is on screen; the corner's status line gives way to it.
function displayed() {
  live.shown = banner || prefs;
  iabUpdate();
  showLine();
}

// GPC honoured (CCPA regs §7025(f)): "Opt-Out Request Honored" as an inline status, never a dialog.
// It goes in every element the site marks `data-consent-status`; without one, in a small line in the
// bottom left corner that takes no focus and lets clicks through. That line is not shown while the
// banner or the preferences are (they carry the GPC message), nor when an explicit opt-in lifted GPC.
export function showLine() {
  const text = Object.values(S.decisions).some((d) => d.reason === REASON_GPC) ? texts().gpc_honored : "";
  const marked = doc.querySelectorAll(`[${STATUS_ATTR}]`);
  marked.forEach((el) => (el.textContent = text));
  line?.remove();
  if (text && !marked[0] && !live.shown) {
    mount();
    root.append((line = h("p", { class: "s", "data-cs": "honored", lang: S.language }, text)));
  }
}

/**
 * Shows the banner with the regime's buttons, or with `body` (a status message) instead.
 * @param {Child[]} [body]
 */
export function showBanner(body) {
  // While the preferences are open, the banner comes back when they close; but not after a status
  // (the visitor chose meanwhile: reopened the preferences while a choice was being recorded).
  if (prefs) return (bannerBack = !body);
  mount();
  banner?.remove();
  const t = texts();
  // A row of buttons, all alike (banner.css lays them out).
  banner = panel({ class: "b", role: "region" }, t, body || [...lead(t), h("div", { class: "r" }, regimeButtons(t))]);
  root.append(banner);
  displayed();
}

/** @param {Texts} t */
function regimeButtons(t) {
  const customize = button(t, "customize", openPrefs);
  if (S.regime === OPT_OUT) {
    return [button(t, "do_not_sell", act.optOut, "optout"), customize, button(t, "dismiss", act.dismiss)];
  }
  if (S.regime === NOTICE) return [button(t, "dismiss", act.dismiss), customize];
  // opt_in, and any visitor the service could not place: three buttons alike, reject as easy as accept.
  return [
    button(t, ACCEPT_ALL, () => act.choose(ACCEPT_ALL)),
    button(t, REJECT_ALL, () => act.choose(REJECT_ALL)),
    customize,
  ];
}

/** @returns {undefined} */
export function hideBanner() {
  banner?.remove();
  banner = null;
  displayed();
}

// The outcome of a choice, in the banner's place; it takes the focus if the banner had it (or if
// the focus was lost with the preferences). Closing it returns the focus to where it was before the
// banner or the preferences took it (to <body> only when that element is gone). No banner, and no
// status, while the preferences are open.
/** @param {string} message */
export function showStatus(message) {
  mount();
  const hadFocus = root.activeElement || doc.activeElement === doc.body;
  const close = () => hideBanner() || back?.focus();
  showBanner([
    h("div", { class: "t" }, [
      h("p", { role: "status", "data-cs": "status" }, message),
      button(texts(), "close", close),
    ]),
  ]);
  if (hadFocus) banner?.querySelector("button")?.focus();
}

export function openPrefs() {
  mount();
  if (prefs) return;
  const t = texts();
  live.busy = 1;
  returnFocus = /** @type {HTMLElement | null} */ (root.activeElement || doc.activeElement);
  // The banner leaves while the preferences are open, so each control exists once on the page.
  bannerBack = !!banner;
  banner?.remove();
  banner = null;
  /** @type {(action: string, read?: true) => () => void} */
  const choose = (action, read) => () => {
    const choices = read && readToggles();
    closePrefs(true);
    act.choose(action, choices);
  };
  // Where the law asks for it, the "Do Not Sell or Share" link leads to a one-step opt-out; not
  // offered again once it is in force (by GPC, the visitor or an account opt-out).
  const dns = S.regime === OPT_OUT && !optedOut() && button(t, "do_not_sell", () => closePrefs(true) || act.optOut(), "optout");
  const dialog = panel({ class: "d", role: "dialog", "aria-modal": "true", onkeydown: onKey }, t, [
    ...lead(t),
    ...S.purposes.map((p) => purposeRow(p, t)),
    h("div", { class: "r" }, [
      dns,
      button(t, ACCEPT_ALL, choose(ACCEPT_ALL)),
      button(t, REJECT_ALL, choose(REJECT_ALL)),
      button(t, "save", choose(CUSTOM, true)),
      button(t, "close", () => closePrefs()),
    ]),
  ]);
  prefs = h("div", { class: "o" }, dialog);
  root.append(prefs);
  focusables()[0].focus();
  displayed();
}

// One toggle per purpose, ticked only where the purpose is allowed now (so none in opt_in before
// a choice); necessary is always on, and a sale/share purpose GPC turned off is shown off, disabled,
// with the reason in its label.
/**
 * @param {Purpose} p
 * @param {Texts} t
 */
function purposeRow(p, t) {
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
  for (const i of /** @type {NodeListOf<HTMLInputElement>} */ (
    /** @type {HTMLElement} */ (prefs).querySelectorAll("input:not([disabled])")
  )) {
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
  /** @type {HTMLElement} */ (prefs).remove();
  prefs = null;
  if (!chose) {
    live.busy = 0;
    if (bannerBack) showBanner();
  }
  (returnFocus?.isConnected
    ? returnFocus
    : /** @type {HTMLElement | null | undefined} */ (banner?.querySelector("[data-cs=customize]")))?.focus();
  displayed();
}

/** @type {() => HTMLElement[]} */
const focusables = () => [
  .../** @type {NodeListOf<HTMLElement>} */ (
    /** @type {HTMLElement} */ (prefs).querySelectorAll("input:not([disabled]),button")
  ),
];

// Escape closes; Tab and Shift+Tab stay inside the modal dialog.
/** @param {KeyboardEvent} e */
function onKey(e) {
  if (e.key === "Escape") return closePrefs();
  if (e.key !== "Tab") return;
  // Shift+Tab: the same with the order reversed.
  const all = e.shiftKey ? focusables().reverse() : focusables();
  if (root.activeElement === all[all.length - 1]) {
    e.preventDefault();
    all[0].focus();
  }
}
