"""Fixes from review: the focus comes back when the status message closes, the preferences open at once
while the API hangs, an opt-out the service refused stays in force, a frame cannot remove the
page's own GPP listeners, and a choice recorded while the preferences are open (found by tsc)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Route, expect

from e2e.conftest import CA, DE, ContextFactory, Publisher, Service
from e2e.helpers import (
    VIEWPORT,
    banner_visible,
    cs,
    focused,
    open_page,
    publisher_html,
    tab_to,
    wait_ready,
    wait_state,
)

# The last experience answer two days ago: the next page fetches it again (after its load event).
DAY_OLD_JS = """() => { const s = JSON.parse(localStorage.getItem('cs:demo'));
  s.fetched_at = Date.now() - 2 * 864e5; localStorage.setItem('cs:demo', JSON.stringify(s)); }"""


def hang_api(context: Any, api: str) -> None:
    """Every API call hangs, unanswered (the banner script itself still loads)."""

    def handler(route: Route) -> None:
        if "/v1/banner" in route.request.url:
            route.fallback()
        # anything else: never answered

    context.route(f"{api}/v1/**", handler)


def test_closing_the_status_gives_the_focus_back(
    service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    page = open_page(make_context(region=DE, viewport=VIEWPORT), publisher.page("/f", publisher_html(service.origin)))
    wait_ready(page)
    page.focus("#other-link")
    tab_to(page, lambda f: f["cs"] == "reject", limit=6, key="Shift+Tab")
    page.keyboard.press("Enter")
    expect(cs(page, "status")).to_be_visible()
    assert focused(page)["cs"] == "close"  # type: ignore[index]
    page.keyboard.press("Enter")
    expect(cs(page, "status")).to_have_count(0)
    now = focused(page)
    assert now is not None and now["id"] == "other-link", f"the focus was not given back: {now}"


def test_preferences_open_at_once_while_the_api_hangs(
    service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    url = publisher.page("/hang", publisher_html(service.origin, tags=False))
    context = make_context(region=DE, viewport=VIEWPORT)
    page = open_page(context, url)
    wait_ready(page)
    cs(page, "accept").click()
    wait_state(page, "s => !s.pending")
    # A returning visitor, a day later: the refresh hangs, the purposes are known from the last visit.
    page.evaluate(DAY_OLD_JS)
    hang_api(context, service.origin)
    with page.expect_request(lambda r: "/experience" in r.url):
        page.reload()
    page.click("#privacy-link")
    expect(cs(page, "save")).to_be_visible(timeout=1000)
    # A first visit with nothing known yet: it waits a little (not the 8 s timeout), then opens anyway.
    fresh = make_context(region=DE, viewport=VIEWPORT)
    hang_api(fresh, service.origin)
    page = open_page(fresh, url)
    page.click("#privacy-link")
    expect(cs(page, "save")).to_be_visible(timeout=3000)


def test_an_opt_out_the_service_refused_stays_in_force(service: Service, make_context: ContextFactory) -> None:
    context = make_context(region=CA, viewport=VIEWPORT)
    page = open_page(context, f"{service.origin}/demo")
    wait_ready(page)
    context.route(
        f"{service.origin}/v1/opt-out",
        lambda route: route.fulfill(status=403, json={"error": "origin_not_allowed", "detail": "refused"}),
    )
    cs(page, "optout").click()
    # Refused, not offline: the plain confirmation of what applies on this device.
    expect(cs(page, "status")).to_have_text(
        "Your opt-out has been processed. We will not sell or share your personal information."
    )
    st = wait_state(page, "s => !s.pending")
    assert st["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"}
    # The next page fetches the experience again; the service, which never recorded the opt-out,
    # answers "allowed by default": the local opt-out still holds.
    page.evaluate(DAY_OLD_JS)
    with page.expect_response(lambda r: "/experience" in r.url):
        page.reload()
    st = wait_state(page, "s => Date.now() - s.fetched_at < 60000")
    assert st["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"}
    assert st["choices"]["advertising"] is False and st["opted_out_at"] > 0
    assert st["consent_mode"]["ad_storage"] == "denied" and st["usp"] == "1YYN"
    page.wait_for_function("() => window.demoAnalyticsLoaded === 1")
    assert page.evaluate("() => window.demoAdLoaded") is None
    assert not banner_visible(page)


FRAME_CALL_JS = """([command, parameter]) => new Promise((resolve) => {
  const callId = Math.random();
  addEventListener('message', (e) => {
    const r = e.data && e.data.__gppReturn;
    if (r && r.callId === callId) resolve(r.returnValue);
  });
  parent.postMessage({__gppCall: {command, parameter, callId, version: '1.1'}}, '*');
})"""


def test_a_frame_cannot_remove_the_pages_gpp_listener(
    service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    page = open_page(make_context(region=DE, viewport=VIEWPORT), publisher.page("/g", publisher_html(service.origin)))
    wait_ready(page)
    mine = page.evaluate(
        """() => new Promise((resolve) => __gpp('addEventListener', (e) => {
          (window.got = window.got || []).push(e.eventName);
          resolve(e.listenerId);
        }))"""
    )
    page.evaluate("() => { const f = document.createElement('iframe'); f.name = 'probe'; document.body.append(f); }")
    frame = page.frame(name="probe")
    assert frame is not None
    removed = frame.evaluate(FRAME_CALL_JS, ["removeEventListener", mine])
    assert removed["data"] is False, "a frame removed the page's listener"
    # The frame may remove a listener it added itself.
    added = frame.evaluate(FRAME_CALL_JS, ["addEventListener", None])
    assert frame.evaluate(FRAME_CALL_JS, ["removeEventListener", added["listenerId"]])["data"] is True
    page.evaluate("() => { window.got = []; }")
    cs(page, "reject").click()
    page.wait_for_function("() => window.got.includes('signalStatus')")


def test_gpp_signal_status_frames_every_change(
    service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    """GPP CMP API 1.1: a change (the preferences open, a choice) starts with signalStatus "not ready"
    and ends with "ready", after every other event."""
    page = open_page(make_context(region=CA, viewport=VIEWPORT), publisher.page("/o", publisher_html(service.origin)))
    wait_ready(page)
    page.wait_for_function("() => { let p; __gpp('ping', (d) => { p = d; }); return p.signalStatus === 'ready'; }")
    page.evaluate(
        """() => { window.order = [];
          __gpp('addEventListener', (e) => e.eventName !== 'listenerRegistered' && order.push(e.eventName + ':' + e.data)); }"""
    )
    cs(page, "customize").click()
    expect(cs(page, "save")).to_be_visible()
    assert page.evaluate("() => order") == ["signalStatus:not ready"]
    cs(page, "reject").click()
    page.wait_for_function("() => order.includes('signalStatus:ready')")
    order = page.evaluate("() => order")
    assert order[0] == "signalStatus:not ready" and order[-1] == "signalStatus:ready", order
    assert order.count("signalStatus:ready") == 1 and "sectionChange:usnat" in order, order


def test_a_choice_recorded_while_the_preferences_are_open(
    service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    """The visitor accepts in the banner, then opens the preferences while the choice is still on its
    way: its outcome must not throw into the page (it did: the status message looked for a banner the
    preferences had removed), nor bring the banner's buttons back once the preferences close."""
    page = open_page(make_context(region=DE, viewport=VIEWPORT), publisher.page("/r", publisher_html(service.origin)))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    wait_ready(page)
    held: list[Route] = []

    def hold(route: Route) -> None:  # (a Python function: Playwright does not take a bound builtin)
        held.append(route)  # answered when the test says so

    page.route(f"{service.origin}/v1/consent", hold)
    with page.expect_request(lambda r: r.url.endswith("/v1/consent")):
        cs(page, "accept").click()
    cs(page, "customize").click()
    expect(cs(page, "save")).to_be_visible()
    held[0].fallback()  # on to the context's own routing (it sets the region)
    wait_state(page, "s => !s.pending")
    page.evaluate("() => new Promise((resolve) => setTimeout(resolve, 0))")  # the choice's last step ran
    assert errors == []
    expect(cs(page, "status")).to_have_count(0)  # not behind the modal dialog
    page.keyboard.press("Escape")
    expect(cs(page, "save")).to_have_count(0)
    expect(cs(page, "accept")).to_have_count(0)  # the choice is made: no banner asking for it again
