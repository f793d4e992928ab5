"""The preferences are a part of their own (static/banner-prefs.js), which the banner loads by its
content-hashed URL when they are first opened, and prefetches into the HTTP cache (without running it)
once the page is loaded and idle: a returning visitor opens them from the cache while the service does
not answer at all; and where the part cannot be had, opening them says so, while the banner's own
buttons keep working."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Route, expect

from e2e.conftest import DE, ROOT, ContextFactory, Publisher, Service
from e2e.helpers import VIEWPORT, cs, focused, open_page, publisher_html, state, toggle, wait_ready, wait_state

UNAVAILABLE = "Privacy choices cannot be recorded on this page right now"
# When the part was requested, and when the page's load event ended (resource timing).
PREFS_TIMING = """() => {
  const e = performance.getEntriesByType('resource').find(e => e.name.includes('/v1/banner-prefs.'));
  return e ? {name: e.name, start: e.startTime, end: e.responseEnd,
              load: performance.getEntriesByType('navigation')[0].loadEventEnd} : null;
}"""


@pytest.fixture
def own_service(tmp_path: Path, e2e_redis: Any, publisher: Publisher) -> Any:
    """A service of this test's own, to stop in the middle of it (the session's serves the others). Its
    visitors are in Germany by the site's default region: a CDN's header, added by routing requests or
    as an extra header (which makes every call need a CORS preflight), would turn the HTTP cache off."""
    config = tmp_path / "sites.toml"
    demo = (ROOT / "consent_service" / "config" / "demo_site.toml").read_text()
    demo = demo.replace('origins = ["http://localhost:8000"', f'origins = ["{publisher.origin}"')
    config.write_text(demo.replace('id = "demo"\n', 'id = "demo"\ndefault_region = "DE"\n', 1))
    svc = Service(tmp_path, e2e_redis.url, config=config)
    yield svc
    svc.stop()


def test_customize_opens_from_the_cache_when_the_service_stops_answering(
    own_service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    api = own_service.origin
    context = make_context(viewport=VIEWPORT)
    url = publisher.page("/cached", publisher_html(api, tags=False))
    page = open_page(context, url)
    wait_ready(page)
    with page.expect_response(lambda r: r.url.endswith("/v1/consent")):
        cs(page, "reject").click()
    wait_state(page, "s => !s.pending")
    # The part was fetched after the page's load event (not on the critical path), and not run.
    page.wait_for_function(f"() => ({PREFS_TIMING})()?.end > 0")
    timing = page.evaluate(PREFS_TIMING)
    assert timing["start"] >= timing["load"] > 0, timing
    assert page.evaluate("() => document.querySelectorAll('script[src*=banner-prefs]').length") == 0
    assert page.locator("#consent-service [role=dialog]").count() == 0
    # The service goes away; the returning visitor's next page still opens the preferences.
    own_service.stop()
    page.goto(url)
    page.wait_for_function("() => window.consentService && window.consentService.state().regime")
    assert state(page)["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"}
    page.locator("#privacy-link").focus()
    page.keyboard.press("Enter")
    dialog = page.locator("#consent-service [role=dialog][aria-modal=true]")
    expect(dialog).to_be_visible()
    expect(toggle(page, "advertising")).not_to_be_checked()
    expect(toggle(page, "necessary")).to_be_disabled()
    # Styled by its own sheet, and the focus inside it (then back on the link after Escape).
    assert dialog.evaluate("el => getComputedStyle(el).maxWidth") == "600px"
    now = focused(page)
    assert now is not None and now["inBanner"] and now["purpose"] == "analytics", now
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    assert page.evaluate("() => document.activeElement.id") == "privacy-link"


def test_customize_says_unavailable_when_the_part_cannot_be_had(
    service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    context = make_context(region=DE, viewport=VIEWPORT)
    asked: list[str] = []

    def refuse(route: Route) -> None:
        asked.append(route.request.url)
        route.abort("connectionrefused")

    context.route("**/v1/banner-prefs*", refuse)
    page = open_page(context, publisher.page("/no-prefs", publisher_html(service.origin, tags=False)))
    wait_ready(page)
    cs(page, "customize").click()
    expect(cs(page, "status")).to_contain_text(UNAVAILABLE)
    assert page.locator("#consent-service [role=dialog]").count() == 0
    assert any("/v1/banner-prefs." in u for u in asked), asked
    # Its Close brings the banner back, whose own buttons still work.
    cs(page, "close").click()
    with page.expect_response(lambda r: r.url.endswith("/v1/consent")) as posted:
        cs(page, "reject").click()
    assert posted.value.ok and posted.value.request.post_data_json["action"] == "reject_all"
    expect(cs(page, "status")).to_contain_text("Your choices have been saved.")
    st = wait_state(page, "s => !s.pending")
    assert st["decisions"]["advertising"]["allowed"] is False
    # The page's privacy link says the same (each try asks again: the part may be back).
    cs(page, "close").click()
    before = len(asked)
    page.evaluate("() => window.consentService.open()")
    expect(cs(page, "status")).to_contain_text(UNAVAILABLE)
    assert len(asked) > before
    # Once the part can be had again, the preferences open.
    context.unroute("**/v1/banner-prefs*")
    cs(page, "close").click()
    page.evaluate("() => window.consentService.open()")
    expect(page.locator("#consent-service [role=dialog][aria-modal=true]")).to_be_visible()
    expect(toggle(page, "advertising")).not_to_be_checked()
