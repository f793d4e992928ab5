// What the banner's sources use from their environment beyond lib.dom (for tsc only; not built).
// A script, not a module: its declarations are global. The page API the banner installs is
// declared in ../types/consent-service.d.ts.

// `import CSS from "./banner.css"`: build.mjs hands the minified stylesheet over as a string.
declare module "*.css" {
  const css: string;
  export default css;
}

interface Navigator {
  /** Global Privacy Control (https://privacycg.github.io/gpc-spec/); undefined where unsupported. */
  readonly globalPrivacyControl?: boolean;
}

// The preferences' script (prefs.js) hands its open() to the banner (ui.js) in this event.
interface DocumentEventMap {
  "consent-service:prefs": CustomEvent<import("./prefs.js").Open>;
}

// Google's tag and its queue, when the page has them (Consent Mode). Any function: consentmode.js
// calls it with apply() and its own arguments object, as gtag's snippet pushes that object.
declare var gtag: Function | undefined;
declare var dataLayer: unknown[] | undefined;
