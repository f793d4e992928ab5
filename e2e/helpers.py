"""Helpers shared by the browser tests: publisher pages, the banner's shadow DOM, the service's view of a
device, request logs and screenshots. The fixtures themselves live in conftest.py."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2 as httpx
from playwright.sync_api import BrowserContext, Locator, Page, Request

from e2e.conftest import AXE, ROOT, new_page

VIEWPORT = {"width": 1000, "height": 700}
OPTIONAL = ("analytics", "advertising", "personalization")
SHOTS = ROOT / "e2e" / "screenshots"
# The committed screenshots in docs/ are rewritten only when asked (or missing), so a test run
# leaves the work tree clean.
DO_NOT_SELL = "Do Not Sell or Share My Personal Information"
GPC_HONORED = "Opt-Out Request Honored"
GPC_INIT = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true});"
# Records every CSP violation (the event is composed, so ones inside the shadow root reach document).
CSP_RECORDER = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push({directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample, source: e.sourceFile});
}, true);
"""
# What the page knew at DOMContentLoaded (the banner script runs in <head>, before it).
DCL_RECORDER = """
document.addEventListener('DOMContentLoaded', () => {
  const cs = window.consentService;
  window.__atDcl = {api: !!cs, state: cs ? JSON.parse(JSON.stringify(cs.state())) : null, t: performance.now()};
});
"""


def publisher_html(api: str, *, head: str = "", body: str = "", tags: bool = True, title: str = "Publisher") -> str:
    """A publisher page embedding the banner from the service's origin (another site than the page's),
    with Google's consent API, a Do-Not-Sell link that reopens the preferences, and gated demo tags."""
    gated = (
        f'<script type="text/plain" data-consent="analytics" src="{api}/demo/analytics.js"></script>\n'
        f'<script type="text/plain" data-consent="advertising" src="{api}/demo/ads.js"></script>\n'
        if tags
        else ""
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
{head}
<script src="{api}/demo/gtag.js"></script>
<script src="{api}/v1/banner.js" data-site="demo"></script>
</head>
<body>
<header><h1>{title}</h1></header>
<main>
<p>An article on a publisher's page. Its ads and analytics wait for the consent banner.</p>
<p><a href="#top" id="other-link">Another link</a></p>
{body}
</main>
<footer><a href="#privacy" id="privacy-link" data-consent-open>{DO_NOT_SELL}</a></footer>
{gated}</body>
</html>
"""


@dataclass
class RequestLog:
    """Every request a context makes, in order (frames and workers included)."""

    urls: list[str] = field(default_factory=list)

    def attach(self, context: BrowserContext) -> RequestLog:
        context.on("request", self._add)
        return self

    def _add(self, request: Request) -> None:
        self.urls.append(request.url)

    def paths(self, origin: str) -> list[str]:
        return [u[len(origin) :] for u in self.urls if u.startswith(origin + "/")]

    def api_calls(self, origin: str) -> list[str]:
        """The calls to the consent API (the banner script itself excluded)."""
        return [p for p in self.paths(origin) if p.startswith("/v1/") and not p.startswith("/v1/banner")]

    def count(self, needle: str) -> int:
        return sum(needle in u for u in self.urls)

    def clear(self) -> None:
        self.urls.clear()


def open_page(context: BrowserContext, url: str, log: RequestLog | None = None) -> Page:
    if log is not None:
        log.attach(context)
    page = new_page(context)
    page.goto(url)
    return page


# ---- the banner ------------------------------------------------------------------------------


def cs(page: Page, name: str) -> Locator:
    """A visible banner control by its data-cs name (Playwright's CSS pierces the open shadow root; the
    banner keeps its buttons, hidden, while the preferences are open)."""
    return page.locator(f"#consent-service [data-cs={name}]").filter(visible=True)


def toggle(page: Page, purpose: str) -> Locator:
    return page.locator(f"#consent-service input[data-cs-purpose={purpose}]")


def wait_ready(page: Page) -> dict[str, Any]:
    """Waits until the banner knows the service's answer (the regime comes from it) and returns state()."""
    page.wait_for_function("() => window.consentService && window.consentService.state().regime")
    return state(page)


# state() as the page's tags see it, plus the unsent choice (`pending`), which tags never see but the
# tests follow through the banner's first-party storage.
STATE_JS = """(() => {
  const s = JSON.parse(JSON.stringify(window.consentService.state()));
  const saved = JSON.parse(localStorage.getItem('cs:demo') || 'null');
  s.pending = saved ? saved.pending : null;
  return s;
})()"""


def state(page: Page) -> dict[str, Any]:
    return page.evaluate(f"() => {STATE_JS}")  # type: ignore[no-any-return]


def wait_state(page: Page, predicate_js: str) -> dict[str, Any]:
    """Waits until `predicate_js` (a function of the state) holds, and returns the state."""
    page.wait_for_function(f"() => window.consentService && ({predicate_js})({STATE_JS})")
    return state(page)


def decided(st: dict[str, Any]) -> dict[str, tuple[bool, str]]:
    return {p: (d["allowed"], d["reason"]) for p, d in st["decisions"].items() if p != "necessary"}


def host_present(page: Page) -> bool:
    return bool(
        page.evaluate("() => { const h = document.getElementById('consent-service'); return !!(h && h.shadowRoot); }")
    )


def banner_visible(page: Page) -> bool:
    """Whether any banner/preferences control is on screen."""
    return any(cs(page, n).first.is_visible() for n in ("accept", "reject", "customize", "optout", "dismiss", "save"))


FOCUSED_JS = """() => {
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  if (!el) return null;
  const inBanner = el.getRootNode() !== document;
  const s = getComputedStyle(el);
  return {
    inBanner, tag: el.tagName.toLowerCase(), id: el.id || null,
    cs: el.getAttribute('data-cs'), purpose: el.getAttribute('data-cs-purpose'),
    focusVisible: el.matches(':focus-visible'),
    outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0,
    shadow: s.boxShadow !== 'none',
  };
}"""


def focused(page: Page) -> dict[str, Any] | None:
    return page.evaluate(FOCUSED_JS)  # type: ignore[no-any-return]


def tab_to(page: Page, want: Callable[[dict[str, Any]], bool], *, limit: int = 25, key: str = "Tab") -> dict[str, Any]:
    """Presses Tab until the focused element satisfies `want`; fails after `limit` presses."""
    seen = []
    for _ in range(limit):
        page.keyboard.press(key)
        now = focused(page)
        seen.append(now and (now["cs"] or now["purpose"] or now["id"] or now["tag"]))
        if now is not None and want(now):
            return now
    raise AssertionError(f"never reached the wanted element with {key}; focus went through {seen}")


# ---- the service's view ---------------------------------------------------------------------


def device_token(page: Page, context: BrowserContext, api: str) -> str:
    """The device token the banner keeps (localStorage `cs:demo`), else the service's cs_device_demo cookie."""
    saved = page.evaluate("() => localStorage.getItem('cs:demo')")
    token = json.loads(saved).get("device") if saved else None
    if not token:
        token = next((c["value"] for c in context.cookies(api) if c["name"] == "cs_device_demo"), None)
    assert token, f"the browser holds no device token (localStorage cs:demo = {saved!r})"
    return str(token)


def server_decision(
    api: str, token: str, region: dict[str, str], purposes: tuple[str, ...] = OPTIONAL
) -> dict[str, Any]:
    params = [("site", "demo"), *(("purpose", p) for p in purposes)]
    r = httpx.get(f"{api}/v1/decision", params=params, headers={**region, "x-consent-device": token}, timeout=5)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body.get("device") == token, "the service did not recognise the browser's device token"
    return body


def wait_server(
    api: str, token: str, region: dict[str, str], check: Callable[[dict[str, Any]], bool], timeout_s: float = 5
) -> dict[str, Any]:
    """Polls the decision endpoint until `check` holds (a write may land just after the click)."""
    deadline = time.monotonic() + timeout_s
    while True:
        body = server_decision(api, token, region)
        if check(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def cookie_names(context: BrowserContext, url: str) -> set[str]:
    return {c["name"] for c in context.cookies(url)}


def cookie_value(context: BrowserContext, url: str, name: str) -> str | None:
    return next((c["value"] for c in context.cookies(url) if c["name"] == name), None)


# ---- screenshots -----------------------------------------------------------------------------


def snap(page: Page, name: str) -> None:
    """Saves a screenshot under e2e/screenshots/ (gitignored), to look at after a run. The docs'
    screenshots are made by tools/screenshots.py, not by the tests."""
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


# ---- accessibility ---------------------------------------------------------------------------


AXE_RUN = """async () => {
  const result = await axe.run({include: [['#consent-service']]}, {resultTypes: ['violations']});
  return {
    violations: result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map(n => ({target: n.target, summary: n.failureSummary}))})),
    passes: result.passes.length,
  };
}"""


def axe_violations(page: Page) -> list[dict[str, Any]]:
    assert AXE.exists(), "axe-core is missing: run `npm ci --prefix e2e`"
    if not page.evaluate("() => !!window.axe"):
        page.evaluate(AXE.read_text())
    result = page.evaluate(AXE_RUN)
    assert result["passes"] > 0, "axe checked nothing: the banner was not in its scope"
    return result["violations"]  # type: ignore[no-any-return]
