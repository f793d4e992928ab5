// @ts-check
// First-party cookies: the IAB `usprivacy` cookie, and deletion of the cookies the site lists for
// a purpose that is denied (name patterns with `*`).
import { USP_COOKIE } from "./constants.js";
import { doc } from "./dom.js";
import { S, allowed } from "./state.js";

export function syncCookies() {
  if (S.usp) doc.cookie = `${USP_COOKIE}=${S.usp}; path=/; max-age=31536000; SameSite=Lax`;
  const patterns = S.purposes.filter((p) => !allowed(p.id)).flatMap((p) => p.cookies || []);
  if (!patterns.length) return;
  const escaped = patterns.map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*"));
  const re = new RegExp(`^(${escaped.join("|")})$`);
  for (const c of doc.cookie.split(";")) {
    const name = c.split("=")[0].trim();
    if (re.test(name)) expire(name);
  }
}

// A cookie may have been set host-only or on any parent domain: expire it on each (on path /).
/** @param {string} name */
function expire(name) {
  const labels = location.hostname.split(".");
  for (let i = 0; i <= labels.length; i++) {
    const domain = i < labels.length ? "; domain=" + labels.slice(i).join(".") : "";
    doc.cookie = `${name}=; path=/; max-age=0${domain}`;
  }
}
