"""The visitor's side of issue 14, in a real Chromium at a phone's 390x844 and a desktop's 1280x800: a
first layer that fits (at most 30% of the phone's screen in the US, 35% in the EU, GPC on or off), no
horizontal overflow from 320 to 430 px and no ragged button rows, GPC's inline status (not a dialog,
no focus taken, nothing covered), the preferences under GPC, a misconfigured page that says so in the
console and stays safe, the demo's ad iframe following GPP, and axe on every layer.

Waits are bounded (Playwright's, 5 s by default; nothing here asserts speed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from consent_service.cli.redis_runner import EmbeddedRedis
from e2e.conftest import CA, DE, ROOT, ContextFactory, Publisher, Service, new_page
from e2e.helpers import (
    GPC_HONORED,
    OPTIONAL,
    RequestLog,
    axe_violations,
    cs,
    decided,
    open_page,
    publisher_html,
    snap,
    state,
    toggle,
    wait_ready,
    wait_state,
)

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}
REGIONS = {"US": CA, "EU": DE}
# The first layer's share of a 390x844 screen at most (issue 14).
MAX_SHARE = {"US": 0.30, "EU": 0.35}
GPC_OFF = "Off because of your browser's Global Privacy Control signal"
UNAVAILABLE = "Privacy choices cannot be recorded on this page right now"
OFFER = "You can opt out at any time"
GPP_NOT_OPTED_OUT = "DBABLA~CVQqAAAAAACA.QA"
GPP_OPTED_OUT = "DBABLA~CVQVAAAAAACA.QA"

# The open layer (banner or preferences): its box, the page's and its own horizontal overflow, and
# each row of buttons as the screen shows it (buttons grouped by their top edge).
LAYER_JS = """() => {
  const root = document.getElementById('consent-service').shadowRoot;
  const el = root.querySelector('[role=dialog]') || root.querySelector('[role=region]');
  const b = el.getBoundingClientRect();
  const rows = [...el.querySelectorAll('.r')].map(r => {
    const box = r.getBoundingClientRect();
    const lines = {};
    for (const button of r.querySelectorAll('button')) {
      const x = button.getBoundingClientRect();
      (lines[Math.round(x.top)] ||= []).push({left: x.left, right: x.right, width: x.width, cs: button.dataset.cs});
    }
    return {left: box.left, right: box.right, lines: Object.values(lines)};
  });
  return {left: b.left, right: b.right, top: b.top, bottom: b.bottom, width: b.width, height: b.height,
          ownOverflow: el.scrollWidth - el.clientWidth, page: document.documentElement.scrollWidth,
          vw: innerWidth, vh: innerHeight, rows};
}"""


def layer(page: Page) -> dict[str, Any]:
    return page.evaluate(LAYER_JS)  # type: ignore[no-any-return]


def assert_fits(box: dict[str, Any], where: str) -> None:
    """Within the screen's width, nothing scrolls sideways, and every line of buttons is filled from
    edge to edge (no ragged line), with Accept and Reject of one width (a button may be wider only
    where its label needs it: Do Not Sell, or Customize in a tight line)."""
    assert box["left"] >= 0 and box["right"] <= box["vw"] + 0.5, (where, box)
    assert box["page"] <= box["vw"], (where, "the page scrolls sideways", box)
    assert box["ownOverflow"] <= 0, (where, "the layer scrolls sideways", box)
    for row in box["rows"]:
        for line in row["lines"]:
            assert abs(line[0]["left"] - row["left"]) <= 1 and abs(line[-1]["right"] - row["right"]) <= 1, (
                where,
                "a ragged row of buttons",
                row,
            )
            widths = {b["cs"]: b["width"] for b in line}
            if {"accept", "reject"} <= set(widths):
                assert abs(widths["accept"] - widths["reject"]) <= 1, (where, "Accept and Reject differ", line)


def gpc_context(make_context: ContextFactory, region: dict[str, str], viewport: dict[str, int]) -> BrowserContext:
    return make_context(region=region, gpc=True, viewport=viewport)


# ---- a banner that fits -------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["phone", "desktop"])
@pytest.mark.parametrize("gpc", [False, True], ids=["no-gpc", "gpc"])
@pytest.mark.parametrize("where", ["US", "EU"])
def test_the_first_layer_fits_the_screen(
    where: str, gpc: bool, size: str, service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    context = make_context(region=REGIONS[where], gpc=gpc, viewport=VIEWPORTS[size])
    page = open_page(context, publisher.page("/article", publisher_html(service.origin)))
    wait_ready(page)
    if where == "US" and gpc:
        # Frictionless: no first layer at all, only the inline status.
        expect(page.locator("#consent-service [data-cs=honored]")).to_be_visible()
        expect(page.locator("#consent-service [role=region]")).to_have_count(0)
        snap(page, f"first-layer-{where}-gpc-{size}")
        return
    expect(cs(page, "customize")).to_be_visible()
    box = layer(page)
    share = box["height"] / box["vh"]
    assert share <= MAX_SHARE[where], f"the first layer takes {share:.1%} of the screen: {box}"
    assert_fits(box, f"{where} first layer")
    snap(page, f"first-layer-{where}-{'gpc' if gpc else 'no-gpc'}-{size}")


@pytest.mark.parametrize("where", ["US", "EU"])
def test_no_overflow_from_320_to_430_px(
    where: str, service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    """The first layer and the preferences (GPC on: the longest texts) at every common phone width."""
    context = gpc_context(make_context, REGIONS[where], PHONE) if where == "US" else make_context(region=DE)
    page = open_page(context, publisher.page("/article", publisher_html(service.origin)))
    wait_ready(page)
    if where == "EU":
        expect(cs(page, "accept")).to_be_visible()
        for width in (320, 360, 375, 390, 414, 430):
            page.set_viewport_size({"width": width, "height": 844})
            assert_fits(layer(page), f"{where} first layer at {width} px")
    page.evaluate("() => window.consentService.open()")
    expect(cs(page, "save")).to_be_visible()
    for width in (320, 360, 375, 390, 414, 430):
        page.set_viewport_size({"width": width, "height": 844})
        box = layer(page)
        assert_fits(box, f"{where} preferences at {width} px")
        assert box["bottom"] <= box["vh"], box  # the dialog scrolls within the screen
    # The preferences' buttons stay in view while the purposes scroll.
    expect(cs(page, "save")).to_be_in_viewport()


# ---- GPC explains itself ------------------------------------------------------------------------

LINE_JS = """() => {
  const line = document.getElementById('consent-service').shadowRoot.querySelector('[data-cs=honored]');
  const b = line.getBoundingClientRect();
  const under = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);
  return {left: b.left, bottom: b.bottom, width: b.width, height: b.height, vw: innerWidth, vh: innerHeight,
          role: line.getAttribute('role'), modal: line.getAttribute('aria-modal'), tabIndex: line.tabIndex,
          focusables: line.querySelectorAll('a, button, input, [tabindex]').length,
          clickGoesTo: under && under.id, lang: line.lang,
          focus: document.activeElement === document.body,
          dialogs: document.getElementById('consent-service').shadowRoot.querySelectorAll(
            '[role=dialog], [role=alertdialog], [aria-modal], [role=region]').length};
}"""


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_gpc_shows_an_inline_status_not_a_dialog(
    size: str, service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    context = gpc_context(make_context, CA, VIEWPORTS[size])
    page = open_page(context, publisher.page("/article", publisher_html(service.origin)))
    st = wait_ready(page)
    assert st["decisions"]["advertising"] == {"allowed": False, "reason": "gpc"}
    line = page.locator("#consent-service [data-cs=honored]")
    expect(line).to_have_text(GPC_HONORED)
    found = page.evaluate(LINE_JS)
    assert found["dialogs"] == 0, "GPC alone put up a banner or a dialog"
    assert (found["role"], found["modal"], found["tabIndex"], found["focusables"]) == (None, None, -1, 0), found
    assert found["focus"], "the status took the focus"
    # A small line in the bottom left corner that clicks pass through.
    assert found["left"] <= 16 and found["vh"] - found["bottom"] <= 16, found
    assert found["height"] <= 32 and found["width"] <= found["vw"] / 2, found
    assert found["clickGoesTo"] != "consent-service", "the status line catches clicks meant for the page"
    assert found["lang"] == "en"
    snap(page, f"gpc-status-line-{size}")
    # The preferences carry the GPC message while open; the line comes back when they close.
    page.get_by_role("link", name="Do Not Sell or Share My Personal Information").click()
    expect(cs(page, "gpc")).to_contain_text(GPC_HONORED)
    expect(line).to_have_count(0)
    page.keyboard.press("Escape")
    expect(line).to_have_text(GPC_HONORED)
    assert axe_violations(page) == []


def test_gpc_status_goes_where_the_site_marks_it(
    service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    body = '<p>Privacy: <span id="privacy-status" data-consent-status></span></p>'
    url = publisher.page("/marked", publisher_html(service.origin, body=body))
    page = open_page(gpc_context(make_context, CA, PHONE), url)
    wait_ready(page)
    expect(page.locator("#privacy-status")).to_have_text(GPC_HONORED)
    expect(page.locator("#consent-service [data-cs=honored]")).to_have_count(0)  # not twice
    # Without GPC, the marked element stays empty and nothing shows.
    other = open_page(make_context(region=CA, viewport=PHONE), url)
    wait_ready(other)
    expect(cs(other, "optout")).to_be_visible()
    expect(other.locator("#privacy-status")).to_have_text("")
    expect(other.locator("#consent-service [data-cs=honored]")).to_have_count(0)


def test_preferences_under_gpc_offer_no_opt_out_in_force_and_say_why(
    service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    page = open_page(gpc_context(make_context, CA, PHONE), publisher.page("/article", publisher_html(service.origin)))
    wait_ready(page)
    page.evaluate("() => window.consentService.open()")
    dialog = page.locator("#consent-service [role=dialog]")
    expect(dialog).to_contain_text(GPC_HONORED)
    expect(cs(page, "optout")).to_have_count(0)  # the opt-out is in force: not offered again
    expect(dialog).not_to_contain_text(OFFER)
    ads = toggle(page, "advertising")
    expect(ads).to_be_disabled()
    expect(ads).not_to_be_checked()
    label = page.locator("#consent-service label", has=page.locator("[data-cs-purpose=advertising]"))
    expect(label).to_contain_text(GPC_OFF)
    # Visibly disabled: a dashed edge of at least 3:1 against white (#4d4d4d: 8.5:1), on a white track.
    style = ads.evaluate(
        "el => { const s = getComputedStyle(el); return [s.outlineStyle, s.outlineColor, s.outlineWidth]; }"
    )
    assert style == ["dashed", "rgb(77, 77, 77)", "2px"], style
    snap(page, "gpc-preferences-phone")
    # "Accept all" does not switch on what GPC keeps off, and the confirmation says so.
    cs(page, "accept").click()
    expect(cs(page, "status")).to_contain_text("Your choices have been saved.")
    expect(cs(page, "status")).to_contain_text(f"{GPC_OFF}: Advertising.")
    st = wait_state(page, "s => !s.pending")
    assert decided(st)["advertising"] == (False, "gpc")
    assert decided(st)["analytics"] == (True, "consent")


def test_after_do_not_sell_the_preferences_confirm_it(
    service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    page = open_page(
        make_context(region=CA, viewport=PHONE), publisher.page("/article", publisher_html(service.origin))
    )
    wait_ready(page)
    cs(page, "optout").click()
    expect(cs(page, "status")).to_contain_text("Your opt-out has been processed")
    wait_state(page, "s => !s.pending")
    page.evaluate("() => window.consentService.open()")
    dialog = page.locator("#consent-service [role=dialog]")
    expect(dialog).to_contain_text("Your opt-out has been processed")
    expect(dialog).not_to_contain_text(OFFER)
    expect(cs(page, "optout")).to_have_count(0)
    expect(toggle(page, "advertising")).to_be_enabled()  # a later explicit opt-in stays possible
    expect(toggle(page, "advertising")).not_to_be_checked()


def test_where_an_opt_in_may_lift_gpc_the_toggle_stays_usable(
    tmp_path: Path, e2e_redis: EmbeddedRedis, publisher: Publisher, make_context: ContextFactory
) -> None:
    demo = (ROOT / "consent_service" / "config" / "demo_site.toml").read_text()
    config = tmp_path / "sites.toml"
    config.write_text(
        demo.replace('origins = ["http://localhost:8000"', f'origins = ["{publisher.origin}"').replace(
            "gpc_lift_by_opt_in = false", "gpc_lift_by_opt_in = true"
        )
    )
    lifting = Service(tmp_path, e2e_redis.url, config=config, env={"CONSENT_DECISION_TIMEOUT_MS": "1000"})
    try:
        page = open_page(gpc_context(make_context, CA, PHONE), publisher.page("/lift", publisher_html(lifting.origin)))
        wait_ready(page)
        page.evaluate("() => window.consentService.open()")
        expect(cs(page, "gpc")).to_contain_text(GPC_HONORED)
        expect(toggle(page, "advertising")).to_be_enabled()
        expect(page.locator("#consent-service [role=dialog]")).not_to_contain_text(GPC_OFF)
    finally:
        lifting.stop()


# ---- misconfiguration speaks up -------------------------------------------------------------------


def console_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    return errors


@pytest.mark.parametrize("mistake", ["origin", "site"])
def test_a_misconfigured_page_says_how_to_fix_it_and_stays_safe(
    mistake: str, service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    html = publisher_html(service.origin)
    if mistake == "origin":  # the same page from an origin the site does not list
        publisher.page("/unlisted", html)
        url = f"http://127.0.0.1:{publisher.port}/unlisted"
        origin = url.rsplit("/", 1)[0]
        expected = f'consent-service: this page\'s origin {origin} is not in the origins of site "demo": add it there'
    else:
        url = publisher.page("/unknown-site", html.replace('data-site="demo"', 'data-site="nosuch"'))
        expected = (
            f'consent-service: no site "nosuch" is configured on {service.origin}: fix data-site, or add the site'
        )
    context = make_context(region=DE, viewport=PHONE)
    log = RequestLog().attach(context)
    page = new_page(context)
    errors = console_errors(page)
    with page.expect_console_message(lambda m: m.text.startswith("consent-service")) as logged:
        page.goto(url)
    assert logged.value.type == "error" and logged.value.text == expected
    # The page opens the preferences (its Do Not Sell link): it reads that nothing can be recorded,
    # never the "sent later" of an outage; no banner asked before.
    page.evaluate("() => window.consentService.open()")
    expect(cs(page, "status")).to_contain_text(UNAVAILABLE)
    for control in ("accept", "reject", "customize", "optout", "save"):
        expect(cs(page, control)).to_have_count(0)
    expect(page.locator("#consent-service")).not_to_contain_text("Saved on this device")
    # Safe: nothing but necessary, nothing kept to send, nothing sent, no tag ran.
    st = state(page)
    assert [p for p, d in st["decisions"].items() if d["allowed"]] == ["necessary"]
    assert st["pending"] is None and st["regime"] is None
    assert page.evaluate("() => window.consentService.decide('analytics')") is False
    assert [p.split("?")[0] for p in log.api_calls(service.origin)] == [
        "/v1/sites/demo/experience" if mistake == "origin" else "/v1/sites/nosuch/experience"
    ]
    assert page.evaluate("() => [window.demoAdLoaded, window.demoAnalyticsLoaded]") == [None, None]
    assert [e for e in errors if "consent-service" in e] == [expected]  # once
    snap(page, f"misconfigured-{mistake}")


# ---- the demo -------------------------------------------------------------------------------------


def test_demo_iframe_follows_gpp_and_the_panel_stays_in_view(service: Service, make_context: ContextFactory) -> None:
    page = open_page(make_context(region=CA, viewport=PHONE), f"{service.origin}/demo")
    wait_ready(page)
    frame = page.frame_locator("iframe[title=Advertisement]").locator("#frame-gpp")
    expect(frame).to_have_attribute("data-gpp", GPP_NOT_OPTED_OUT)
    expect(frame).to_have_attribute("data-signal", "ready")
    # The status panel can be scrolled clear of the banner, and its decisions do not break mid-word.
    expect(cs(page, "optout")).to_be_visible()
    page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
    panel_bottom = page.locator("dl.status").evaluate("el => el.getBoundingClientRect().bottom")
    banner_top = page.evaluate(
        "() => document.getElementById('consent-service').shadowRoot"
        ".querySelector('[role=region]').getBoundingClientRect().top"
    )
    assert panel_bottom <= banner_top, (panel_bottom, banner_top)
    lines = page.locator("#st-decisions span").evaluate_all(
        "els => els.map(e => [e.textContent, e.getClientRects().length, e.getBoundingClientRect().height,"
        " parseFloat(getComputedStyle(e).lineHeight)])"
    )
    assert len(lines) == 1 + len(OPTIONAL), lines
    for text, _, height, line_height in lines:
        assert height < 1.5 * line_height, f"{text!r} wraps on a phone"
    snap(page, "demo-panel-phone")
    # Right after "Do Not Sell" the page's state has the new USP and the new GPP together.
    usp, gpp = page.evaluate(
        """() => {
      document.getElementById('consent-service').shadowRoot.querySelector('[data-cs=optout]').click();
      const s = window.consentService.state();
      return [s.usp, s.gpp];
    }"""
    )
    assert (usp, gpp) == ("1YYN", GPP_OPTED_OUT)
    # The ad in the iframe hears of it through its GPP listener (no new ask).
    expect(frame).to_have_attribute("data-gpp", GPP_OPTED_OUT)
    expect(frame).to_have_attribute("data-signal", "ready")
    assert int(frame.get_attribute("data-events") or 0) > 1
    assert wait_state(page, "s => !s.pending")["gpp"] == GPP_OPTED_OUT  # the service's own string


# ---- accessibility ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["phone", "desktop"])
@pytest.mark.parametrize(
    ("where", "gpc", "open_prefs"),
    [("US", False, False), ("US", True, True), ("EU", False, False), ("EU", True, False), ("EU", True, True)],
    ids=["US-banner", "US-gpc-preferences", "EU-banner", "EU-gpc-banner", "EU-gpc-preferences"],
)
def test_axe_and_visible_focus_on_every_layer(
    where: str,
    gpc: bool,
    open_prefs: bool,
    size: str,
    service: Service,
    publisher: Publisher,
    make_context: ContextFactory,
) -> None:
    context = make_context(region=REGIONS[where], gpc=gpc, viewport=VIEWPORTS[size])
    page = open_page(context, publisher.page("/article", publisher_html(service.origin)))
    wait_ready(page)
    if open_prefs:
        page.evaluate("() => window.consentService.open()")
        expect(cs(page, "save")).to_be_visible()
    else:
        expect(cs(page, "customize")).to_be_visible()
    assert axe_violations(page) == []
    # Every control shows where the focus is: a 3 px outline, #1a1a1a (17:1 on white).
    for control in page.locator("#consent-service button, #consent-service input:not([disabled])").all():
        control.focus()
        outline = control.evaluate(
            "el => { const s = getComputedStyle(el); return [el.matches(':focus-visible'), s.outlineStyle,"
            " s.outlineWidth, s.outlineColor]; }"
        )
        assert outline == [True, "solid", "3px", "rgb(26, 26, 26)"], outline
