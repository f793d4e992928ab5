"""The notice and the your-data page with JavaScript switched off, in Swedish from start to finish:
read the notice, opt out from it, come back, download a copy, delete it, and keep the opt-out."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2 as httpx

from e2e.conftest import AXE, CA, ContextFactory, Service, new_page
from e2e.helpers import VIEWPORT, server_decision, snap


def test_notice_to_deletion_in_swedish_without_javascript(service: Service, make_context: ContextFactory) -> None:
    context = make_context(region=CA, java_script_enabled=False, viewport=VIEWPORT)
    page = new_page(context)
    page.goto(f"{service.origin}/privacy/demo/notice?lang=sv")
    assert page.locator("html").get_attribute("lang") == "sv"
    assert page.locator("h1").inner_text() == "Integritetsmeddelande: Demo Publisher, Inc."
    advertising = page.locator('tr[data-purpose="advertising"]')
    assert advertising.get_attribute("data-sold-shared") == "true"
    assert advertising.locator("td.yes").inner_text() == "Ja: säljs eller delas"
    assert page.locator('tr[data-purpose="analytics"]').get_attribute("data-sold-shared") == "false"
    assert "Sec-GPC: 1" in page.locator("#gpc").inner_text()
    snap(page, "notice-sv")

    with page.expect_navigation():
        page.locator("#opt-out-link").click()
    assert page.url.endswith("/privacy/demo/opt-out?lang=sv")
    with page.expect_navigation():
        page.locator("#opt-out").click()
    assert "Ditt avböjande har behandlats" in page.locator("#status").inner_text()

    with page.expect_navigation():  # back to the notice, then on to the data page, still in Swedish
        page.locator("#notice-link").click()
    with page.expect_navigation():
        page.locator("#data-link").click()
    assert page.locator("h1").inner_text() == "Dina uppgifter"
    with page.expect_download() as download:
        page.locator("#download").click()
    copy = json.loads(Path(download.value.path()).read_text("utf-8"))
    assert [h["action"] for h in copy["history"]] == ["opt_out"]

    with page.expect_navigation():
        page.locator("#delete").click()
    status = page.locator("#status").inner_text()
    assert "Dina uppgifter har raderats." in status and "avböjt försäljning eller delning" in status
    snap(page, "data-deleted-sv")

    token = next(c["value"] for c in context.cookies(service.origin) if c["name"] == "cs_device_demo")
    assert server_decision(service.origin, token, CA)["decisions"]["advertising"] == {
        "allowed": False,
        "reason": "opt_out",
    }
    me = httpx.get(f"{service.origin}/v1/me", params={"site": "demo"}, headers={"x-consent-device": token}, timeout=5)
    assert me.json()["history"] == []


AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return {violations: result.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target)})),
          passes: result.passes.length};
}"""


def test_notice_and_data_pages_have_no_axe_violations(service: Service, make_context: ContextFactory) -> None:
    # The pages carry no script; axe is injected by the test (bypassing the pages' CSP for that alone).
    page = new_page(make_context(region=CA, viewport=VIEWPORT, bypass_csp=True))
    page.goto(f"{service.origin}/privacy/demo/opt-out")
    with page.expect_navigation():
        page.locator("#opt-out").click()  # a device, so the data page shows its link and form
    for path in ("/privacy/demo/notice?lang=nl", "/privacy/demo/data?lang=sv", "/privacy/demo/opt-out"):
        page.goto(f"{service.origin}{path}")
        page.evaluate(AXE.read_text())
        result = page.evaluate(AXE_RUN)
        assert result["passes"] > 0 and result["violations"] == [], (path, result["violations"])
