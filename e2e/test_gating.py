"""Tag gating in the browser: document order, once each, a later opt-out stops new activations; and the
first-party cookies a purpose lists are deleted when it becomes denied."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from e2e.conftest import DE, ContextFactory, Publisher, Service
from e2e.helpers import (
    VIEWPORT,
    RequestLog,
    cookie_names,
    cs,
    open_page,
    publisher_html,
    toggle,
    wait_ready,
    wait_state,
)

# Each external tag records its name; no-store, so every load is a real request.
NO_STORE = {"cache-control": "no-store"}
TAGS = ("necessary", "ad1", "ad2", "perso", "ad3", "analytics-late")
GATED = """
<script type="text/plain" data-consent="necessary" src="/tags/necessary.js"></script>
<script type="text/plain" data-consent="advertising" src="/tags/ad1.js"></script>
<script type="text/plain" data-consent="analytics">window.order.push("analytics-inline")</script>
<script type="text/plain" data-consent="advertising" src="/tags/ad2.js"></script>
<iframe data-consent="advertising" data-src="/tags/frame.html" title="An ad"></iframe>
<script type="text/plain" data-consent="personalization advertising" src="/tags/perso.js"></script>
"""
ADD_LATE_TAGS = """() => {
  for (const [purpose, name] of [['advertising', 'ad3'], ['analytics', 'analytics-late']]) {
    const s = document.createElement('script');
    s.type = 'text/plain';
    s.setAttribute('data-consent', purpose);
    s.setAttribute('src', '/tags/' + name + '.js');
    document.body.append(s);
  }
}"""


def order(page: Page) -> list[str]:
    return page.evaluate("() => window.order")  # type: ignore[no-any-return]


def wait_order(page: Page, want: list[str]) -> None:
    page.wait_for_function("want => JSON.stringify(window.order) === JSON.stringify(want)", arg=want)


def reopen(page: Page) -> None:
    page.evaluate("() => window.consentService.open()")
    expect(cs(page, "save")).to_be_visible()


def test_gating_order_once_and_later_opt_out(
    service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    for name in TAGS:
        publisher.page(f"/tags/{name}.js", f'window.order.push("{name}");', NO_STORE)
    publisher.page("/tags/init.js", "window.order = [];", NO_STORE)
    publisher.page("/tags/frame.html", "<!doctype html><title>ad</title><p>ad</p>", NO_STORE)
    head = '<script src="/tags/init.js"></script>'
    url = publisher.page("/gated", publisher_html(service.origin, head=head, body=GATED, tags=False))
    context = make_context(region=DE, viewport=VIEWPORT)
    log = RequestLog()
    page = open_page(context, url, log)
    wait_ready(page)
    expect(cs(page, "accept")).to_be_visible()
    # Before a choice: necessary only.
    wait_order(page, ["necessary"])
    assert log.count("/tags/ad1.js") == 0 and log.count("/tags/frame.html") == 0
    assert page.locator("iframe[title='An ad']").get_attribute("src") is None
    # Accept all: the rest in document order, the inline tag between the two external ones.
    cs(page, "accept").click()
    wait_order(page, ["necessary", "ad1", "analytics-inline", "ad2", "perso"])
    expect(page.locator("iframe[title='An ad']")).to_have_attribute("src", "/tags/frame.html")
    # Once: the same decisions again activate nothing twice.
    wait_state(page, "s => !s.pending")
    reopen(page)
    cs(page, "accept").click()
    wait_state(page, "s => !s.pending")
    # A later opt-out: tags added afterwards for advertising never run; analytics ones still do once
    # analytics is allowed again.
    reopen(page)
    cs(page, "reject").click()
    wait_state(page, "s => !s.pending && !s.decisions.analytics.allowed")
    page.evaluate(ADD_LATE_TAGS)
    reopen(page)
    toggle(page, "analytics").check()
    cs(page, "save").click()
    wait_order(page, ["necessary", "ad1", "analytics-inline", "ad2", "perso", "analytics-late"])
    st = wait_state(page, "s => !s.pending")
    assert st["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"}
    page.wait_for_load_state("networkidle")
    assert order(page) == ["necessary", "ad1", "analytics-inline", "ad2", "perso", "analytics-late"]
    assert log.count("/tags/ad3.js") == 0, "an advertising tag was loaded after the opt-out"
    for name in ("necessary", "ad1", "ad2", "perso", "frame.html"):
        suffix = name if name.endswith(".html") else f"{name}.js"
        assert log.count(f"/tags/{suffix}") == 1, f"{suffix} was requested {log.count('/tags/' + suffix)} times"


ADS = ("_fbp", "_gcl_au")
ANALYTICS = ("_ga", "_ga_ABC123")


def test_cookies_deleted_on_withdrawal(service: Service, publisher: Publisher, make_context: ContextFactory) -> None:
    url = publisher.page("/article", publisher_html(service.origin))
    context = make_context(region=DE, viewport=VIEWPORT)
    page = open_page(context, url)
    wait_ready(page)
    cs(page, "accept").click()
    page.wait_for_function("() => window.demoAdLoaded === 1 && window.demoAnalyticsLoaded === 1")
    # A cookie of a listed pattern (_ga_*) and one the config does not list.
    page.evaluate("() => { document.cookie = '_ga_ABC123=GS1.1; path=/'; document.cookie = 'site_pref=dark; path=/'; }")
    assert {*ADS, *ANALYTICS, "site_pref"} <= cookie_names(context, url)
    # Withdraw analytics only: its cookies go, advertising's stay.
    reopen(page)
    toggle(page, "analytics").uncheck()
    cs(page, "save").click()
    wait_state(page, "s => !s.pending && !s.decisions.analytics.allowed")
    names = cookie_names(context, url)
    assert not set(ANALYTICS) & names, f"analytics cookies kept: {names}"
    assert {*ADS, "site_pref"} <= names
    # Reject all: the advertising cookies go too; the unlisted cookie stays (only what was named).
    reopen(page)
    cs(page, "reject").click()
    wait_state(page, "s => !s.pending && !s.decisions.advertising.allowed")
    names = cookie_names(context, url)
    assert not set(ADS) & names, f"advertising cookies kept: {names}"
    assert "site_pref" in names
    # And they are not set again on the next page: the tags stay off.
    page.reload()
    wait_ready(page)
    page.wait_for_load_state("networkidle")
    assert not {*ADS, *ANALYTICS} & cookie_names(context, url)
    assert page.evaluate("() => [window.demoAdLoaded, window.demoAnalyticsLoaded]") == [None, None]
