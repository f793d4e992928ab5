"""The banner in a real Chromium: each regime's banner, the choices and what the service records for
them, GPC, the Do-Not-Sell button, returning visitors, keyboard use, axe, a strict CSP and an API that
cannot be reached. Every test runs on the publisher's page (http://localhost, another site than the
service on 127.0.0.1, so CORS and the X-Consent-Device path are used) and, where it matters, on the
service's own /demo page (same origin, the cs_device_demo cookie path)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from e2e.conftest import CA, DE, JP, ContextFactory, Publisher, Service, new_page
from e2e.helpers import (
    CSP_RECORDER,
    DCL_RECORDER,
    DO_NOT_SELL,
    GPC_HONORED,
    GPC_INIT,
    OPTIONAL,
    VIEWPORT,
    RequestLog,
    axe_violations,
    banner_visible,
    cookie_names,
    cookie_value,
    cs,
    decided,
    device_token,
    focused,
    open_page,
    publisher_html,
    server_decision,
    snap,
    state,
    tab_to,
    toggle,
    wait_ready,
    wait_server,
    wait_state,
)

WHERE = ["publisher", "demo"]
REGIONS = {"CA": CA, "DE": DE, "JP": JP}
# Computed styles that make a button more or less prominent: they must be the same on all three.
STYLE_JS = """el => { const s = getComputedStyle(el); return {
  background: s.backgroundColor, color: s.color, font: s.font, fontWeight: s.fontWeight,
  border: s.borderTopWidth + ' ' + s.borderTopStyle + ' ' + s.borderTopColor, radius: s.borderTopLeftRadius,
  padding: s.padding, textDecoration: s.textDecorationLine, opacity: s.opacity, boxShadow: s.boxShadow,
}; }"""
# The accessible name of the banner's labelled region / dialog.
LABELS_JS = """() => {
  const root = document.getElementById('consent-service').shadowRoot;
  return [...root.querySelectorAll('[role=region],[role=dialog],dialog')].filter(e => !e.hidden).map(e => {
    const by = e.getAttribute('aria-labelledby');
    return {role: e.getAttribute('role') || 'dialog', modal: e.getAttribute('aria-modal'),
            name: (e.getAttribute('aria-label') || (by && root.getElementById(by)?.textContent) || '').trim()};
  });
}"""
FOCUSED_IN_BANNER = (
    "(() => { const h = document.getElementById('consent-service');"
    " return document.activeElement === h && !!h.shadowRoot.activeElement; })()"
)


WATCH_JS = """() => {
  window.seen = {events: [], changes: []};
  document.addEventListener('consent:change', (e) => seen.events.push(e.detail));
  seen.unsubscribe = window.consentService.onChange((s) => seen.changes.push(s));
}"""


def url_for(where: str, service: Service, publisher: Publisher, **page: Any) -> str:
    if where == "demo":
        return f"{service.origin}/demo"
    return publisher.page("/article", publisher_html(service.origin, **page))


def choice_posted(page: Page, path: str = "/v1/consent") -> Any:
    return page.expect_response(lambda r: r.url.split("?")[0].endswith(path) and r.request.method == "POST")


def no_tags_ran(page: Page, log: RequestLog, service: Service) -> None:
    assert log.count(f"{service.origin}/demo/ads.js") == 0, "the advertising tag was requested"
    assert log.count(f"{service.origin}/demo/analytics.js") == 0, "the analytics tag was requested"
    assert page.evaluate("() => [window.demoAdLoaded, window.demoAnalyticsLoaded]") == [None, None]


# ---- 1. each regime's banner ------------------------------------------------------------------


@pytest.mark.parametrize("where", WHERE)
def test_opt_in_banner_in_germany(
    where: str, service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    context = make_context(region=DE, viewport=VIEWPORT)
    log = RequestLog()
    page = open_page(context, url_for(where, service, publisher), log)
    names = ("accept", "reject", "customize")
    for name, text in zip(names, ("Accept all", "Reject all", "Customize"), strict=True):
        expect(cs(page, name)).to_have_text(text)
        expect(cs(page, name)).to_be_visible()
    st = wait_ready(page)
    assert (st["regime"], st["region"]) == ("opt_in", "DE")
    assert decided(st) == dict.fromkeys(OPTIONAL, (False, "no_consent"))
    assert page.evaluate("() => document.getElementById('consent-service').shadowRoot.mode") == "open"
    assert {"role": "region", "modal": None, "name": "Your privacy choices"} in page.evaluate(LABELS_JS)
    # Equal size, style and prominence: rejecting is no harder to find than accepting.
    boxes = [cs(page, n).bounding_box() for n in names]
    assert all(b is not None for b in boxes)
    for box in boxes[1:]:
        assert abs(box["width"] - boxes[0]["width"]) <= 1 and abs(box["height"] - boxes[0]["height"]) <= 1, boxes  # type: ignore[index]
    styles = [cs(page, n).evaluate(STYLE_JS) for n in names]
    assert styles[1] == styles[0] and styles[2] == styles[0], styles
    # Nothing but necessary runs before a choice.
    no_tags_ran(page, log, service)
    snap(page, f"opt_in-banner-{where}")
    # Customize: a toggle per purpose, none pre-ticked; necessary always on.
    cs(page, "customize").click()
    for purpose in OPTIONAL:
        expect(toggle(page, purpose)).to_be_visible()
        expect(toggle(page, purpose)).not_to_be_checked()
        expect(toggle(page, purpose)).to_be_enabled()
    expect(toggle(page, "necessary")).to_be_checked()
    expect(toggle(page, "necessary")).to_be_disabled()
    assert {"role": "dialog", "modal": "true", "name": "Your privacy choices"} in page.evaluate(LABELS_JS)
    snap(page, f"opt_in-preferences-{where}")
    no_tags_ran(page, log, service)


@pytest.mark.parametrize("where", WHERE)
def test_opt_out_notice_in_california(
    where: str, service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    context = make_context(region=CA, viewport=VIEWPORT)
    page = open_page(context, url_for(where, service, publisher))
    expect(cs(page, "optout")).to_have_text(DO_NOT_SELL)
    expect(cs(page, "optout")).to_be_visible()
    expect(cs(page, "accept")).to_have_count(0)  # nothing to accept: sale/share is on until opted out
    st = wait_ready(page)
    assert (st["regime"], st["region"], st["gpc"]) == ("opt_out", "US-CA", False)
    assert decided(st) == dict.fromkeys(OPTIONAL, (True, "default"))
    # opt_out: tags run by default (the notice does not block them).
    page.wait_for_function("() => window.demoAdLoaded === 1 && window.demoAnalyticsLoaded === 1")
    expect(cs(page, "gpc")).to_have_count(0)  # no GPC here: nothing claims it was honoured
    snap(page, f"opt_out-notice-{where}")
    # The preferences show each purpose, as it stands (on by default here).
    cs(page, "customize").click()
    for purpose in OPTIONAL:
        expect(toggle(page, purpose)).to_be_checked()
    snap(page, f"opt_out-preferences-{where}")


@pytest.mark.parametrize("where", WHERE)
def test_notice_in_japan_is_dismissed_and_remembered(
    where: str, service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    context = make_context(region=JP, viewport=VIEWPORT)
    page = open_page(context, url_for(where, service, publisher))
    expect(cs(page, "dismiss")).to_have_text("OK")
    expect(cs(page, "dismiss")).to_be_visible()
    expect(cs(page, "accept")).to_have_count(0)
    expect(cs(page, "optout")).to_have_count(0)
    st = wait_ready(page)
    assert (st["regime"], st["region"]) == ("notice", "JP")
    assert decided(st) == dict.fromkeys(OPTIONAL, (True, "default"))
    assert st["usp"] == "1---" and st["gpp"] is None  # not a US region
    snap(page, f"notice-{where}")
    cs(page, "dismiss").click()
    expect(cs(page, "dismiss")).to_have_count(0)
    page.reload()
    wait_ready(page)
    page.wait_for_function("() => window.demoAdLoaded === 1")  # the page has settled
    assert not banner_visible(page), "a dismissed notice came back on the next page"


# ---- 2. accept, reject, customize ---------------------------------------------------------------


@pytest.mark.parametrize("where", WHERE)
def test_accept_all(where: str, service: Service, publisher: Publisher, make_context: ContextFactory) -> None:
    context = make_context(region=DE, viewport=VIEWPORT)
    log = RequestLog()
    page = open_page(context, url_for(where, service, publisher), log)
    wait_ready(page)
    with choice_posted(page) as posted:
        cs(page, "accept").click()
    assert posted.value.ok, posted.value.text()
    assert posted.value.request.post_data_json["action"] == "accept_all"
    st = wait_state(page, "s => !s.pending")
    assert decided(st) == dict.fromkeys(OPTIONAL, (True, "consent"))
    expect(cs(page, "status")).to_have_text("Your choices have been saved.")
    expect(cs(page, "accept")).to_have_count(0)
    page.wait_for_function("() => window.demoAdLoaded === 1 && window.demoAnalyticsLoaded === 1")
    token = device_token(page, context, service.origin)
    body = server_decision(service.origin, token, DE)
    assert decided(body) == dict.fromkeys(OPTIONAL, (True, "consent"))
    snap(page, f"opt_in-accepted-{where}")


def test_reject_all(service: Service, publisher: Publisher, make_context: ContextFactory) -> None:
    context = make_context(region=DE, viewport=VIEWPORT)
    log = RequestLog()
    page = open_page(context, url_for("publisher", service, publisher), log)
    wait_ready(page)
    with choice_posted(page) as posted:
        cs(page, "reject").click()  # one click, like accepting
    assert posted.value.ok and posted.value.request.post_data_json["action"] == "reject_all"
    st = wait_state(page, "s => !s.pending")
    assert decided(st) == dict.fromkeys(OPTIONAL, (False, "opt_out"))
    expect(cs(page, "status")).to_be_visible()
    token = device_token(page, context, service.origin)
    assert decided(server_decision(service.origin, token, DE)) == dict.fromkeys(OPTIONAL, (False, "opt_out"))
    assert st["consent_mode"]["ad_storage"] == "denied" and st["consent_mode"]["analytics_storage"] == "denied"
    no_tags_ran(page, log, service)
    # No cookie wall: the page stays usable.
    page.locator("#other-link").click()
    assert page.url.endswith("#top")


def test_customize(service: Service, publisher: Publisher, make_context: ContextFactory) -> None:
    context = make_context(region=DE, viewport=VIEWPORT)
    log = RequestLog()
    page = open_page(context, url_for("publisher", service, publisher), log)
    wait_ready(page)
    page.evaluate(WATCH_JS)
    cs(page, "customize").click()
    toggle(page, "analytics").check()
    with choice_posted(page) as posted:
        cs(page, "save").click()
    sent = posted.value.request.post_data_json
    assert posted.value.ok and sent["action"] == "custom"
    assert sent["choices"] == {"analytics": True, "advertising": False, "personalization": False}
    st = wait_state(page, "s => !s.pending")
    want = {"analytics": (True, "consent"), "advertising": (False, "opt_out"), "personalization": (False, "opt_out")}
    assert decided(st) == want
    token = device_token(page, context, service.origin)
    assert decided(server_decision(service.origin, token, DE)) == want
    page.wait_for_function("() => window.demoAnalyticsLoaded === 1")
    assert log.count(f"{service.origin}/demo/ads.js") == 0
    assert page.evaluate("() => window.demoAdLoaded") is None
    # The window API: decide(), onChange() and the consent:change event saw the choice.
    assert page.evaluate("() => Promise.all(['analytics', 'advertising'].map(p => consentService.decide(p)))") == [
        True,
        False,
    ]
    page.wait_for_function("() => seen.changes.some(s => s.decisions.analytics.allowed)")
    page.wait_for_function("() => seen.events.some(s => s.decisions.analytics.allowed)")
    # Reopened, the preferences show the choice as it stands.
    page.evaluate("() => window.consentService.open()")
    expect(toggle(page, "analytics")).to_be_checked()
    expect(toggle(page, "advertising")).not_to_be_checked()
    expect(toggle(page, "personalization")).not_to_be_checked()
    # After unsubscribing, onChange is quiet; the DOM event still fires.
    page.evaluate("() => { seen.unsubscribe(); seen.quiet = seen.changes.length; }")
    with choice_posted(page) as posted:
        cs(page, "accept").click()
    page.wait_for_function("() => seen.events.some(s => s.decisions.advertising.allowed)")
    assert page.evaluate("() => seen.changes.length === seen.quiet")
    # Cross-site, the device is named by the X-Consent-Device header (its cookie is not sent here), so
    # the second choice lands on the same device.
    assert posted.value.request.headers.get("x-consent-device") == token
    # The same device (the token is re-signed on every write, so compare the signed id, not the string).
    assert device_token(page, context, service.origin).split(".")[0] == token.split(".")[0]
    assert decided(server_decision(service.origin, token, DE)) == dict.fromkeys(OPTIONAL, (True, "consent"))


# ---- 3. GPC -------------------------------------------------------------------------------------


def gpc_context(make_context: ContextFactory, how: str, region: dict[str, str]) -> BrowserContext:
    """GPC by the header only (as a browser that sends Sec-GPC but whose page API is not seen), by
    navigator.globalPrivacyControl only (Chromium: an init script, no header), or both."""
    if how == "both":
        return make_context(region=region, gpc=True, viewport=VIEWPORT)
    if how == "header":
        return make_context(region=region, viewport=VIEWPORT, extra_http_headers={"Sec-GPC": "1"})
    context = make_context(region=region, viewport=VIEWPORT)
    context.add_init_script(GPC_INIT)
    return context


@pytest.mark.parametrize(
    ("how", "where"), [("header", "publisher"), ("navigator", "publisher"), ("both", "demo"), ("navigator", "demo")]
)
def test_gpc_in_california_is_honoured_without_a_pop_up(
    how: str, where: str, service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    context = gpc_context(make_context, how, CA)
    context.add_init_script(DCL_RECORDER)
    log = RequestLog()
    page = open_page(context, url_for(where, service, publisher), log)
    st = wait_ready(page)
    assert st["gpc"] is True and st["regime"] == "opt_out"
    assert decided(st) == {
        "analytics": (True, "default"),
        "advertising": (False, "gpc"),
        "personalization": (True, "default"),
    }
    if how != "header":  # the page's own signal counts before any network answer
        at_dcl = page.evaluate("() => window.__atDcl")
        assert at_dcl["api"] and at_dcl["state"]["gpc"] is True
        assert not at_dcl["state"]["decisions"].get("advertising", {}).get("allowed")
        assert any("gpc=1" in p for p in log.api_calls(service.origin) if "/experience" in p)
    # Non-discrimination: only the sale/share purpose is off; the analytics tag still runs.
    page.wait_for_function("() => window.demoAnalyticsLoaded === 1")
    assert not banner_visible(page), "GPC alone must not pop anything up (frictionless)"
    assert log.count(f"{service.origin}/demo/ads.js") == 0 and page.evaluate("() => window.demoAdLoaded") is None
    expect(page.locator("#consent-service [data-cs=gpc]")).to_have_count(0)
    assert cookie_value(context, page.url, "usprivacy") == "1YYN"
    # Where the preferences are shown, they say so, with the sale/share toggle off.
    page.evaluate("() => window.consentService.open()")
    expect(cs(page, "gpc")).to_be_visible()
    expect(cs(page, "gpc")).to_contain_text(GPC_HONORED)
    expect(toggle(page, "advertising")).not_to_be_checked()
    expect(toggle(page, "analytics")).to_be_checked()
    snap(page, f"gpc-preferences-{how}-{where}")
    # The service recorded it for the device.
    body = wait_server(service.origin, device_token(page, context, service.origin), CA, lambda b: b["gpc"])
    assert body["gpc"] is True and body["decisions"]["advertising"] == {"allowed": False, "reason": "gpc"}
    assert body["usp"] == "1YYN"
    assert log.count(f"{service.origin}/demo/ads.js") == 0


def test_gpc_turned_on_by_a_returning_visitor(
    service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    """A visitor whose stored state allows sale/share turns GPC on: the page signal wins at once, before
    any network answer, so the ad tag does not run even once."""
    context = make_context(region=CA, viewport=VIEWPORT)
    page = open_page(context, url_for("publisher", service, publisher))
    wait_ready(page)
    page.wait_for_function("() => window.demoAdLoaded === 1")
    cs(page, "dismiss").click()
    context.add_init_script(GPC_INIT)
    context.add_init_script(DCL_RECORDER)
    log = RequestLog().attach(context)
    page.reload()
    at_dcl = page.evaluate("() => window.__atDcl")
    assert at_dcl["state"]["gpc"] is True
    assert at_dcl["state"]["decisions"]["advertising"] == {"allowed": False, "reason": "gpc"}
    page.wait_for_function("() => window.demoAnalyticsLoaded === 1")
    # The service is told (gpc=1), and records it for the device.
    body = wait_server(service.origin, device_token(page, context, service.origin), CA, lambda b: b["gpc"])
    assert body["decisions"]["advertising"] == {"allowed": False, "reason": "gpc"}
    assert any("gpc=1" in p for p in log.api_calls(service.origin))
    assert page.evaluate("() => window.demoAdLoaded") is None
    assert not {"_fbp", "_gcl_au"} & cookie_names(context, page.url)
    assert cookie_value(context, page.url, "usprivacy") == "1YYN"
    assert not banner_visible(page)


@pytest.mark.parametrize("how", ["header", "navigator"])
def test_gpc_in_an_opt_in_region(
    how: str, service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    """opt_in still asks for the other purposes; the banner says GPC was honoured, and accepting all
    does not switch sale/share on (GPC wins over a later opt-in unless the site allows lifting it)."""
    context = gpc_context(make_context, how, DE)
    log = RequestLog()
    page = open_page(context, url_for("publisher", service, publisher), log)
    expect(cs(page, "accept")).to_be_visible()
    expect(cs(page, "gpc")).to_contain_text(GPC_HONORED)
    snap(page, f"gpc-opt_in-banner-{how}")
    cs(page, "customize").click()
    expect(toggle(page, "advertising")).not_to_be_checked()
    expect(toggle(page, "advertising")).to_be_disabled()
    cs(page, "accept").click()
    st = wait_state(page, "s => !s.pending")
    assert decided(st) == {
        "analytics": (True, "consent"),
        "advertising": (False, "gpc"),
        "personalization": (True, "consent"),
    }
    page.wait_for_function("() => window.demoAnalyticsLoaded === 1")
    body = server_decision(service.origin, device_token(page, context, service.origin), DE)
    assert body["gpc"] is True and body["decisions"]["advertising"] == {"allowed": False, "reason": "gpc"}
    assert log.count(f"{service.origin}/demo/ads.js") == 0 and page.evaluate("() => window.demoAdLoaded") is None


# ---- 4. the Do Not Sell button --------------------------------------------------------------------


@pytest.mark.parametrize("where", WHERE)
def test_do_not_sell_in_one_click(
    where: str, service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    context = make_context(region=CA, viewport=VIEWPORT)
    page = open_page(context, url_for(where, service, publisher))
    wait_ready(page)
    page.wait_for_function("() => window.demoAdLoaded === 1")
    assert {"_fbp", "_gcl_au"} <= cookie_names(context, page.url)
    assert cookie_value(context, page.url, "usprivacy") == "1YNN"
    with choice_posted(page, "/v1/opt-out") as posted:
        cs(page, "optout").click()
    assert posted.value.ok, posted.value.text()
    expect(cs(page, "status")).to_contain_text("Your opt-out has been processed")
    st = wait_state(page, "s => !s.pending")
    assert st["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"}
    assert st["decisions"]["analytics"] == {"allowed": True, "reason": "default"}  # only what it names
    assert st["usp"] == "1YYN" and cookie_value(context, page.url, "usprivacy") == "1YYN"
    assert not {"_fbp", "_gcl_au"} & cookie_names(context, page.url), "the advertising cookies were kept"
    body = server_decision(service.origin, device_token(page, context, service.origin), CA)
    assert body["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"} and body["usp"] == "1YYN"
    snap(page, f"opt_out-done-{where}")
    # Next page: no re-prompt, and the ad tag stays off.
    page.reload()
    wait_ready(page)
    page.wait_for_function("() => window.demoAnalyticsLoaded === 1")
    assert not banner_visible(page), "the visitor was asked again after opting out"
    assert page.evaluate("() => window.demoAdLoaded") is None


def test_do_not_sell_link_leads_to_a_one_step_opt_out(service: Service, make_context: ContextFactory) -> None:
    """After the notice is gone, the site's "Do Not Sell or Share" link (data-consent-open) must still
    lead to an opt-out that works in one step (DESIGN "Legal rules"), and only of sale/share."""
    context = make_context(region=CA, viewport=VIEWPORT)
    page = open_page(context, f"{service.origin}/demo")
    wait_ready(page)
    cs(page, "dismiss").click()
    expect(cs(page, "dismiss")).to_have_count(0)
    page.get_by_role("link", name=DO_NOT_SELL).click()
    expect(cs(page, "save")).to_be_visible()
    snap(page, "opt_out-preferences-from-link")
    expect(cs(page, "optout")).to_have_text(DO_NOT_SELL)
    with choice_posted(page, "/v1/opt-out") as posted:
        cs(page, "optout").click()
    assert posted.value.ok, posted.value.text()
    expect(cs(page, "status")).to_contain_text("Your opt-out has been processed")
    st = wait_state(page, "s => !s.pending")
    assert decided(st) == {
        "analytics": (True, "default"),
        "advertising": (False, "opt_out"),
        "personalization": (True, "default"),
    }
    body = server_decision(service.origin, device_token(page, context, service.origin), CA)
    assert body["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"} and body["usp"] == "1YYN"


# ---- 5. returning visitors -------------------------------------------------------------------------


RETURNING_TAGS = """
<script type="text/plain" data-consent="advertising" src="/tags/ad.js"></script>
"""


def test_returning_visitor_decides_without_a_request(
    service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    publisher.page("/tags/ad.js", "window.adRanAt = performance.now();", {"cache-control": "no-store"})
    url = publisher.page("/returning", publisher_html(service.origin, tags=False, body=RETURNING_TAGS))
    context = make_context(region=DE, viewport=VIEWPORT)
    log = RequestLog()
    page = open_page(context, url, log)
    wait_ready(page)
    with choice_posted(page):
        cs(page, "accept").click()
    wait_state(page, "s => !s.pending")
    page.wait_for_function("() => window.adRanAt !== undefined")
    # The next page, the same day: decided from first-party state, no call to the API at all.
    context.add_init_script(DCL_RECORDER)
    log.clear()
    page.reload()
    page.wait_for_function("() => window.adRanAt !== undefined")
    page.wait_for_load_state("networkidle")  # a refresh would start after the load event
    at_dcl = page.evaluate("() => window.__atDcl")
    assert at_dcl["state"]["decisions"]["advertising"] == {"allowed": True, "reason": "consent"}
    assert log.api_calls(service.origin) == [], "a returning visitor's page called the API"
    assert not banner_visible(page)
    # A day later: the tag still runs first; the refresh runs in the background, after it.
    page.evaluate("""() => { const s = JSON.parse(localStorage.getItem('cs:demo'));
        s.fetched_at = Date.now() - 2 * 864e5; localStorage.setItem('cs:demo', JSON.stringify(s)); }""")
    log.clear()
    with page.expect_response(lambda r: "/experience" in r.url):
        page.reload()
    urls = log.urls
    tag = next(i for i, u in enumerate(urls) if u.endswith("/tags/ad.js"))
    first_api = next(i for i, u in enumerate(urls) if u.startswith(service.origin + "/v1/") and "/v1/banner" not in u)
    assert tag < first_api, f"an API call came before the tag: {urls}"
    assert [p.split("?")[0] for p in log.api_calls(service.origin)] == ["/v1/sites/demo/experience"]
    st = wait_state(page, "s => Date.now() - s.fetched_at < 60000")
    assert st["decisions"]["advertising"] == {"allowed": True, "reason": "consent"}
    assert not banner_visible(page)


# ---- 10. keyboard only ---------------------------------------------------------------------------


def test_keyboard_only(service: Service, publisher: Publisher, make_context: ContextFactory) -> None:
    context = make_context(region=DE, viewport=VIEWPORT)
    page = open_page(context, url_for("publisher", service, publisher))
    expect(cs(page, "accept")).to_be_visible()
    # Tab reaches the banner's buttons, with a visible focus.
    now = tab_to(page, lambda f: f["inBanner"] and f["cs"] in ("accept", "reject", "customize"))
    assert now["focusVisible"] and (now["outline"] or now["shadow"]), now
    snap(page, "keyboard-focus")
    now = tab_to(page, lambda f: f["cs"] == "customize", limit=4)
    page.keyboard.press("Enter")
    expect(cs(page, "save")).to_be_visible()
    now = focused(page)
    assert now is not None and now["inBanner"], "the preferences did not take the focus"
    # Focus stays in the modal preferences.
    for _ in range(12):
        page.keyboard.press("Tab")
        now = focused(page)
        assert now is not None and now["inBanner"], "Tab left the modal preferences"
    now = tab_to(page, lambda f: f["purpose"] == "analytics", limit=10)
    page.keyboard.press("Space")
    expect(toggle(page, "analytics")).to_be_checked()
    # Escape closes the preferences (nothing saved) and gives the focus back to Customize.
    page.keyboard.press("Escape")
    expect(cs(page, "save")).to_have_count(0)
    now = focused(page)
    assert now is not None and now["cs"] == "customize", now
    assert wait_ready(page)["choices"] == {}
    # Reject with the keyboard (Shift+Tab back to it), Space activates.
    tab_to(page, lambda f: f["cs"] == "reject", limit=4, key="Shift+Tab")
    with choice_posted(page):
        page.keyboard.press("Space")
    st = wait_state(page, "s => !s.pending")
    assert decided(st) == dict.fromkeys(OPTIONAL, (False, "opt_out"))
    expect(cs(page, "status")).to_be_visible()
    now = focused(page)
    assert now is not None and now["cs"] == "close", f"focus was lost after the choice: {now}"
    page.keyboard.press("Enter")
    expect(cs(page, "status")).to_have_count(0)
    # The site's link reopens the preferences by keyboard; Escape returns the focus to it.
    tab_to(page, lambda f: f["id"] == "privacy-link")
    page.keyboard.press("Enter")
    expect(cs(page, "save")).to_be_visible()
    page.wait_for_function(f"() => ({FOCUSED_IN_BANNER})")
    page.keyboard.press("Escape")
    expect(cs(page, "save")).to_have_count(0)
    assert focused(page)["id"] == "privacy-link"  # type: ignore[index]
    # Again, and this time change a purpose and save, all by keyboard.
    page.keyboard.press("Enter")
    expect(cs(page, "save")).to_be_visible()
    page.wait_for_function(f"() => ({FOCUSED_IN_BANNER})")
    tab_to(page, lambda f: f["purpose"] == "personalization", limit=10)
    page.keyboard.press("Space")
    tab_to(page, lambda f: f["cs"] == "save", limit=10)
    with choice_posted(page) as posted:
        page.keyboard.press("Enter")
    assert posted.value.request.post_data_json["choices"] == {
        "analytics": False,
        "advertising": False,
        "personalization": True,
    }
    st = wait_state(page, "s => !s.pending")
    assert st["decisions"]["personalization"] == {"allowed": True, "reason": "consent"}


# ---- 11. axe-core ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "region", "gpc", "open_prefs", "visible"),
    [
        ("opt_in-banner", "DE", False, False, "accept"),
        ("opt_in-preferences", "DE", False, True, "save"),
        ("opt_out-notice", "CA", False, False, "optout"),
        ("opt_out-preferences-gpc", "CA", True, True, "gpc"),
        ("notice", "JP", False, False, "dismiss"),
    ],
)
def test_axe_finds_no_violations(
    name: str,
    region: str,
    gpc: bool,
    open_prefs: bool,
    visible: str,
    service: Service,
    publisher: Publisher,
    make_context: ContextFactory,
) -> None:
    context = make_context(region=REGIONS[region], gpc=gpc, viewport=VIEWPORT)
    page = open_page(context, url_for("publisher", service, publisher))
    wait_ready(page)
    if open_prefs:
        page.evaluate("() => window.consentService.open()")
    expect(cs(page, visible)).to_be_visible()
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, indent=1)


# ---- 12. strict CSP -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "region"), [("publisher", "DE"), ("publisher", "CA"), ("demo", "DE"), ("demo", "CA")]
)
def test_strict_csp_without_violations(
    where: str, region: str, service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    api = service.origin
    csp = (
        f"default-src 'self'; script-src 'self' {api}; style-src 'self'; connect-src {api}; "
        "frame-src 'self'; img-src 'self' data:"
    )
    if where == "publisher":
        url = publisher.page("/strict", publisher_html(api), {"content-security-policy": csp})
    else:
        url = f"{api}/demo"
    context = make_context(region=REGIONS[region], viewport=VIEWPORT)
    context.add_init_script(CSP_RECORDER)
    errors: list[str] = []
    page = new_page_logging(context, errors)
    response = page.goto(url)
    assert response is not None and "content-security-policy" in response.headers
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    first = "accept" if region == "DE" else "optout"
    expect(cs(page, first)).to_be_visible()
    # The rendered banner is styled (the constructable sheet applied, no inline style needed).
    assert cs(page, first).evaluate("el => getComputedStyle(el).backgroundColor") not in ("rgba(0, 0, 0, 0)", "")
    # Exercise the rest: the preferences, a choice (a POST to the API), its status.
    cs(page, "customize").click()
    expect(cs(page, "save")).to_be_visible()
    with choice_posted(page) as posted:
        cs(page, "save").click()
    assert posted.value.ok, posted.value.text()
    expect(cs(page, "status")).to_be_visible()
    wait_state(page, "s => !s.pending")
    assert page.evaluate("() => window.__csp") == []
    assert errors == []


def new_page_logging(context: BrowserContext, errors: list[str]) -> Page:
    """A page whose console errors and uncaught exceptions are collected (the banner never throws)."""
    page = new_page(context)
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    return page


# ---- 13. the API cannot be reached ----------------------------------------------------------------


def api_down(context: BrowserContext, api: str) -> str:
    """Every API call fails at the network level (the banner script itself still loads)."""
    pattern = f"{api}/v1/**"

    def handler(route: Any) -> None:
        if "/v1/banner" in route.request.url:
            route.fallback()
        else:
            route.abort("connectionrefused")

    context.route(pattern, handler)
    return pattern


@pytest.mark.parametrize(("region", "button"), [("CA", "reject"), ("DE", "accept")])
def test_api_down_fails_closed_and_sends_the_choice_later(
    region: str, button: str, service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    context = make_context(region=REGIONS[region], viewport=VIEWPORT)
    pattern = api_down(context, service.origin)
    errors: list[str] = []
    page = new_page_logging(context, errors)
    log = RequestLog().attach(context)
    page.goto(url_for("publisher", service, publisher))
    # The banner still shows, from the English texts inside the script.
    expect(cs(page, "accept")).to_have_text("Accept all")
    expect(cs(page, "reject")).to_have_text("Reject all")
    st = state(page)
    assert st["regime"] is None and st["fetched_at"] == 0
    # Sale/share stays off (and so does everything else: nothing is known).
    assert all(not d["allowed"] for p, d in st["decisions"].items() if p != "necessary")
    assert page.evaluate("() => window.consentService.decide('advertising')") is False
    assert log.count(f"{service.origin}/demo/ads.js") == 0 and page.evaluate("() => window.demoAdLoaded") is None
    assert page.evaluate("() => new Promise(r => __uspapi('getUSPData', 1, (v, ok) => r(v)))") in (
        None,
        {"version": 1, "uspString": "1YYN"},
    )
    snap(page, f"api-down-banner-{button}")
    cs(page, button).click()
    expect(cs(page, "status")).to_contain_text("Saved on this device")
    st = state(page)
    assert st["pending"] is not None, "the choice was not kept for later"
    # The API answers again: the next page sends the pending choice first.
    context.unroute(pattern)
    with choice_posted(page) as posted:
        page.reload()
    assert posted.value.ok, posted.value.text()
    st = wait_state(page, "s => !s.pending && s.fetched_at > 0")
    token = device_token(page, context, service.origin)
    body = server_decision(service.origin, token, REGIONS[region])
    if button == "accept":
        assert decided(body) == dict.fromkeys(OPTIONAL, (True, "consent"))
    else:
        assert decided(body)["advertising"] == (False, "opt_out")
        assert st["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"}
    assert not banner_visible(page), "the banner asked again for a choice already made"
    assert [e for e in errors if "pageerror" in e] == []
