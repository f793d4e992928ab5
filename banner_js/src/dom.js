// @ts-check
// Small helpers shared by every module. Nothing here may throw into the host page.
import { HOST_ID } from "./constants.js";

export const doc = document;
export const w = window;

/**
 * @typedef {string | number | boolean | null | undefined | ((event: never) => unknown)} Attr h()'s
 *   attribute value, or a listener for an `on…` key
 * @typedef {Node | string | false | null | undefined} Child h()'s child: falsy ones are left out
 */

/**
 * Wraps a function so an error stays inside the banner (logged, never thrown into the page); this
 * covers the page's own callbacks too, so one failing listener does not stop the others.
 * @template {unknown[]} A
 * @template R
 * @param {(...args: A) => R} fn
 * @returns {(...args: A) => R | undefined}
 */
export const safe = (fn) => /** @this {unknown} */ function () {
  try {
    return fn.apply(this, /** @type {A} */ (/** @type {unknown} */ (arguments)));
  } catch (e) {
    console.warn(HOST_ID, e);
  }
};

/**
 * Builds an element: `on…` keys become listeners, `true` a bare attribute, a falsy value nothing.
 * Children are nodes or strings; strings become text nodes (never parsed as HTML); falsy ones are
 * left out.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, Attr>} attrs
 * @param {Child | Child[]} [children]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs, children) {
  const el = doc.createElement(tag);
  for (const k in attrs) {
    const v = attrs[k];
    if (k.startsWith("on")) el.addEventListener(k.slice(2), safe(/** @type {(e: Event) => unknown} */ (v)));
    else if (v) el.setAttribute(k, v === true ? "" : /** @type {string} */ (v));
  }
  for (const c of /** @type {Child[]} */ ([]).concat(children)) if (c) el.append(c);
  return el;
}

/**
 * Runs fn once the document is parsed (at once if it already is).
 * @param {() => unknown} fn
 */
export function whenParsed(fn) {
  if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", safe(() => fn()));
  else fn();
}
