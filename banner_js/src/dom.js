// Small helpers shared by every module. Nothing here may throw into the host page.

export const doc = document;

// Wraps a function so an error stays inside the banner (logged, never thrown into the page); this
// covers the page's own callbacks too, so one failing listener does not stop the others.
export const safe = (fn) => function () {
  try {
    return fn.apply(this, arguments);
  } catch (e) {
    console.warn("consent-service:", e);
  }
};

// Builds an element: `on…` keys become listeners, `true` a bare attribute, null/false nothing.
// Children are nodes or strings; strings become text nodes (never parsed as HTML).
export function h(tag, attrs, children) {
  const el = doc.createElement(tag);
  for (const k in attrs) {
    const v = attrs[k];
    if (k.startsWith("on")) el.addEventListener(k.slice(2), safe(v));
    else if (v === true) el.setAttribute(k, "");
    else if (v != null && v !== false) el.setAttribute(k, v);
  }
  for (const c of [].concat(children || [])) if (c != null && c !== false) el.append(c);
  return el;
}

// Runs fn once the document is parsed (at once if it already is).
export function whenParsed(fn) {
  if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", safe(() => fn()));
  else fn();
}
