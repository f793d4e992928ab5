"""The opt-out page works with JavaScript switched off (a cookie banner alone is not an opt-out method)."""

from __future__ import annotations

from e2e.conftest import CA, ContextFactory, Service, new_page
from e2e.helpers import VIEWPORT, server_decision, snap


def test_opt_out_page_with_javascript_disabled(service: Service, make_context: ContextFactory) -> None:
    context = make_context(region=CA, java_script_enabled=False, viewport=VIEWPORT)
    page = new_page(context)
    page.goto(f"{service.origin}/privacy/demo/opt-out")
    button = page.locator("#opt-out")
    assert button.inner_text() == "Do Not Sell or Share My Personal Information"
    assert page.locator("#status").count() == 0
    with page.expect_navigation():
        button.click()  # one step
    assert "Your opt-out has been processed" in page.locator("#status").inner_text()
    # Done is done: no offer to opt out again, and no button doing what is already done.
    assert page.locator("#opt-out").count() == 0
    assert "You can opt out at any time" not in page.locator("main").inner_text()
    snap(page, "no-js-opt-out-done")
    token = next(c["value"] for c in context.cookies(service.origin) if c["name"] == "cs_device_demo")
    body = server_decision(service.origin, token, CA)
    assert body["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"} and body["usp"] == "1YYN"
    page.goto(f"{service.origin}/privacy/demo/opt-out")  # a later visit still shows it processed
    assert page.locator("#status").count() == 1 and page.locator("#opt-out").count() == 0


def test_demo_do_not_sell_link_works_without_javascript(service: Service, make_context: ContextFactory) -> None:
    page = new_page(make_context(region=CA, java_script_enabled=False, viewport=VIEWPORT))
    page.goto(f"{service.origin}/demo")
    with page.expect_navigation():
        page.get_by_role("link", name="Do Not Sell or Share My Personal Information").click()
    assert page.url.endswith("/privacy/demo/opt-out")
    page.locator("#opt-out").click()
    page.wait_for_selector("#status")
