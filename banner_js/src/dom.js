// Small helpers shared by every module. Nothing here may throw into the host page.
import { HOST_ID } from "./constants.js";

export const doc = document;
export const w = window;

// Wraps a function so an error stays inside the banner (logged, never thrown into the page); this
// covers the page's own callbacks too, so one failing listener does not stop the others.
export const safe = (fn) => function () {
  try {
    return fn.apply(this, arguments);
  } catch (e) {
    console.warn(HOST_ID, e);
  }
};

// Builds an element: `on…` keys become listeners, `true` a bare attribute, a falsy value nothing.
// Children are nodes or strings; strings become text nodes (never parsed as HTML); falsy ones are
// left out.
export function h(tag, attrs, children) {
  const el = doc.createElement(tag);
  for (const k in attrs) {
    const v = attrs[k];
    if (k.startsWith("on")) el.addEventListener(k.slice(2), safe(v));
    else if (v) el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of [].concat(children)) if (c) el.append(c);
  return el;
}

// Runs fn once the document is parsed (at once if it already is).
export function whenParsed(fn) {
  if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", safe(() => fn()));
  else fn();
}
