// @ts-check
// First-party cookies: the IAB `usprivacy` cookie, and deletion of the cookies the site lists for
// a purpose that is denied (name patterns with `*`).
import { USP_COOKIE } from "./constants.js";
import { doc } from "./dom.js";
import { S, allowed } from "./state.js";

export function syncCookies() {
  if (S.usp) doc.cookie = `${USP_COOKIE}=${S.usp}; path=/; max-age=31536000; SameSite=Lax`;
  // Each pattern as a regular expression: every other character than a letter, digit or _ escaped
  // (an identity escape), then `\*` as `.*`.
  const patterns = S.purposes
    .filter((p) => !allowed(p.id))
    .flatMap((p) => p.cookies || [])
    .map((p) => RegExp(`^${p.replace(/\W/g, "\\$&").replace(/\\\*/g, ".*")}$`));
  for (const c of doc.cookie.split(";")) {
    const name = c.split("=")[0].trim();
    if (patterns.some((re) => re.test(name))) expire(name);
  }
}

// A cookie may have been set host-only or on any parent domain: expire it on each (on path /).
/** @param {string} name */
function expire(name) {
  const labels = location.hostname.split(".");
  // a.b.c, b.c, c, then host-only (one index more than there are labels)
  labels.concat("").forEach((label, i) => {
    doc.cookie = `${name}=; path=/; max-age=0${label && "; domain=" + labels.slice(i).join(".")}`;
  });
}
