// A small stand-in for the browser globals the banner's modules read, so node --test can run them:
// window, document, navigator, localStorage and location. Call installBrowser() before importing a
// module of src/ (with `await import(...)`): some read the globals when they load. node --test runs
// every test file in a process of its own, so each file gets fresh modules and a fresh "page".

/** An element: attributes, children, listeners and `style`; enough for h(), locators and focus. */
export class FakeElement extends EventTarget {
  constructor(tagName) {
    super();
    this.tagName = tagName.toUpperCase();
    this.attributes = new Map();
    this.children = [];
    this.style = {};
  }

  setAttribute(name, value) {
    this.attributes.set(name, String(value));
  }

  getAttribute(name) {
    return this.attributes.has(name) ? this.attributes.get(name) : null;
  }

  append(...nodes) {
    this.children.push(...nodes);
  }
}

/** localStorage over a Map; `blocked` makes every call throw, as in a browser that refuses storage. */
export class FakeStorage {
  constructor(entries = {}) {
    this.map = new Map(Object.entries(entries));
    this.blocked = false;
  }

  getItem(key) {
    if (this.blocked) throw new Error("SecurityError");
    return this.map.has(key) ? this.map.get(key) : null;
  }

  setItem(key, value) {
    if (this.blocked) throw new Error("SecurityError");
    this.map.set(key, String(value));
  }
}

const define = (name, value) => Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });

/**
 * Installs the globals; returns them. `gpc`: navigator.globalPrivacyControl; `top`: false for a page
 * in a frame (window.top is then another window).
 */
export function installBrowser({ gpc = false, top = true } = {}) {
  const window = new EventTarget();
  window.top = top ? window : new EventTarget();
  window.frames = {}; // named frames: the locators an earlier CMP added
  const document = new EventTarget();
  document.readyState = "complete";
  document.body = new FakeElement("body");
  document.cookie = "";
  document.createElement = (tag) => new FakeElement(tag);
  const localStorage = new FakeStorage();
  define("window", window);
  define("document", document);
  define("navigator", { globalPrivacyControl: gpc });
  define("localStorage", localStorage);
  define("location", { hostname: "shop.example", origin: "https://shop.example" });
  return { window, document, localStorage };
}

/** The state object back to what it was (`snapshot` is a structuredClone of it); `live` cleared. */
export function reset(S, live, snapshot) {
  for (const key of Object.keys(S)) delete S[key];
  Object.assign(S, structuredClone(snapshot));
  for (const key of Object.keys(live)) delete live[key];
}

/** Every queued promise callback has run (the event loop's current turn is over). */
/** A window that posts calls to ours, and keeps what ours posts back. */
export function frame() {
  const received = [];
  const source = { postMessage: (message, target) => received.push([message, target]) };
  const post = (data) => {
    const event = new Event("message");
    Object.defineProperties(event, { data: { value: data }, source: { value: source } });
    window.dispatchEvent(event);
  };
  return { received, post };
}

export const flush = () => new Promise((resolve) => setImmediate(resolve));

/** A purpose as the service describes it. */
export const purpose = (id, kind, sale_share = false, cookies = []) => ({
  id,
  kind,
  sale_share,
  label: id,
  description: `About ${id}.`,
  cookies,
});

/** The service's answers for the IAB strings: tests/test_banner_build.py keeps this file current. */
export async function iabFixture() {
  const { readFile } = await import("node:fs/promises");
  return JSON.parse(await readFile(new URL("./fixtures/iab-strings.json", import.meta.url), "utf8"));
}
