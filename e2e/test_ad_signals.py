"""The signals ad tech reads in the page: IAB `__gpp` and `__uspapi` (with calls queued by stubs, and
through the locator frames for ads in iframes), the `usprivacy` cookie, and Google Consent Mode in
`dataLayer`, before and after each choice, compared with what the service answers."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx
from playwright.sync_api import BrowserContext, Page, expect

from e2e.conftest import CA, DE, ContextFactory, Publisher, Service
from e2e.helpers import (
    VIEWPORT,
    cookie_value,
    cs,
    device_token,
    open_page,
    publisher_html,
    server_decision,
    toggle,
    wait_ready,
    wait_state,
)

# DESIGN.md's vectors (checked there with IAB's own library).
GPP_CA_NOT_OPTED_OUT = "DBABLA~CVQqAAAAAACA.QA"
CONSENT_KEYS = {
    "ad_storage", "ad_user_data", "ad_personalization", "analytics_storage", "functionality_storage",
    "personalization_storage", "security_storage",
}  # fmt: skip
# A stub as a site puts it before the CMP: it queues calls on the function (`queue` for GPP, `a` for USP).
STUB = """
window.queued = {};
window.__gpp = function () { window.__gpp.queue.push(arguments); };
window.__gpp.queue = [];
window.__uspapi = function () { window.__uspapi.a.push(arguments); };
window.__uspapi.a = [];
__gpp('ping', function (data, ok) { queued.ping = {data: data, ok: ok}; });
__gpp('hasSection', function (data, ok) { queued.hasSection = {data: data, ok: ok}; }, 'usnat');
__uspapi('getUSPData', 1, function (data, ok) { queued.usp = {data: data, ok: ok}; });
"""
# A gated tag that leaves a mark in dataLayer: the Consent Mode default must come before it.
MARK = '<script type="text/plain" data-consent="necessary" src="/tags/mark.js"></script>'
CALL_JS = """([command, parameter]) => new Promise((resolve) => {
  window.__gpp(command, (data, ok) => resolve({data, ok}), parameter);
})"""
USP_JS = "() => new Promise((resolve) => __uspapi('getUSPData', 1, (data, ok) => resolve({data, ok})))"
CONSENT_ENTRIES = """() => window.dataLayer.map((e, i) => [i, Array.from(e.length !== undefined && typeof e !== 'string' ? e : [e])])
  .filter(([i, e]) => e[0] === 'consent' || (e[0] && e[0].event === 'mark'))
  .map(([i, e]) => e[0] === 'consent' ? {i, kind: e[1], values: e[2], type: Object.prototype.toString.call(window.dataLayer[i])} : {i, kind: 'mark'})"""
LISTEN = """() => { window.gppEvents = []; return new Promise((resolve) => __gpp('addEventListener', (e, ok) => {
  window.gppEvents.push(e); if (e.eventName === 'listenerRegistered') resolve({id: e.listenerId, ok}); })); }"""


def gpp(page: Page, command: str, parameter: Any = None) -> dict[str, Any]:
    return page.evaluate(CALL_JS, [command, parameter])  # type: ignore[no-any-return]


def usp(page: Page) -> dict[str, Any]:
    return page.evaluate(USP_JS)  # type: ignore[no-any-return]


def wait_signal_ready(page: Page) -> dict[str, Any]:
    page.wait_for_function(
        "() => { let p; __gpp('ping', (d) => { p = d; }); return p && p.signalStatus === 'ready' && p.cmpStatus === 'loaded'; }"
    )
    return gpp(page, "ping")["data"]  # type: ignore[no-any-return]


def consent_entries(page: Page) -> list[dict[str, Any]]:
    return page.evaluate(CONSENT_ENTRIES)  # type: ignore[no-any-return]


def check_consent_mode(page: Page, want: dict[str, str], *, default_denied: bool) -> None:
    """One default, before any tag and before every update; the updates follow DESIGN's mapping (a
    kind the site does not declare stays denied), the last one equal to the service's answer."""
    page.wait_for_function(
        "want => { const u = window.dataLayer.filter(e => e[0] === 'consent' && e[1] === 'update');"
        " return u.length && JSON.stringify(Object.entries(u[u.length - 1][2]).sort()) === JSON.stringify(Object.entries(want).sort()); }",
        arg=want,
    )
    entries = consent_entries(page)
    kinds = [e["kind"] for e in entries]
    assert kinds[0] == "default" and kinds.count("default") == 1, kinds
    if "mark" in kinds:
        assert kinds.index("mark") > 0, "a tag ran before the Consent Mode default"
    assert entries[0]["type"] == "[object Arguments]", "the default was pushed otherwise than gtag() does"
    default = entries[0]["values"]
    assert set(default) == CONSENT_KEYS | {"wait_for_update"}, default
    assert default["wait_for_update"] > 0 and default["security_storage"] == "granted"
    if default_denied:
        assert {k for k, v in default.items() if v == "denied"} == CONSENT_KEYS - {"security_storage"}, default
    for entry in entries[1:]:
        if entry["kind"] == "mark":
            continue
        assert entry["kind"] == "update" and set(entry["values"]) == CONSENT_KEYS, entry
        assert entry["type"] == "[object Arguments]", "pushed otherwise than gtag() does"
        assert entry["values"]["security_storage"] == "granted", entry
        # The demo site has no purpose of kind "functional": functionality_storage is never granted.
        assert entry["values"]["functionality_storage"] == "denied", f"update {entry} grants an undeclared kind"
    assert [e for e in entries if e["kind"] == "update"][-1]["values"] == want


def iab_page(service: Service, publisher: Publisher) -> str:
    publisher.page("/tags/stub.js", STUB, {"cache-control": "no-store"})
    publisher.page("/tags/mark.js", "window.dataLayer.push({event: 'mark'});", {"cache-control": "no-store"})
    head = '<script src="/tags/stub.js"></script>'
    return publisher.page("/iab", publisher_html(service.origin, head=head, body=MARK))


def test_gpp_usp_and_consent_mode_in_california(
    service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    context = make_context(region=CA, viewport=VIEWPORT)
    page = open_page(context, iab_page(service, publisher))
    wait_ready(page)
    ping = wait_signal_ready(page)
    assert ping["gppVersion"] == "1.1"
    assert ping["applicableSections"] == [7] and ping["sectionList"] == [7] and "7:usnat" in ping["supportedAPIs"]
    assert ping["gppString"] == GPP_CA_NOT_OPTED_OUT
    assert gpp(page, "hasSection", "usnat") == {"data": True, "ok": True}
    assert gpp(page, "hasSection", "usca")["data"] is False
    assert usp(page) == {"data": {"version": 1, "uspString": "1YNN"}, "ok": True}
    assert cookie_value(context, page.url, "usprivacy") == "1YNN"
    # Calls a stub queued before the script loaded are answered.
    queued = page.evaluate("() => window.queued")
    assert queued["ping"]["data"]["gppVersion"] == "1.1" and queued["ping"]["ok"] is True
    assert "hasSection" in queued
    assert queued["usp"] == {"data": {"version": 1, "uspString": "1YNN"}, "ok": True}
    experience = httpx.get(f"{service.origin}/v1/sites/demo/experience", headers=CA, timeout=5).json()
    check_consent_mode(page, experience["consent_mode"], default_denied=False)
    # A listener hears about the opt-out, with the service's new string.
    listener = page.evaluate(LISTEN)
    assert listener["ok"] is True and isinstance(listener["id"], int)
    cs(page, "optout").click()
    wait_state(page, "s => !s.pending")
    body = server_decision(service.origin, device_token(page, context, service.origin), CA)
    assert body["usp"] == "1YYN" and body["gpp"] != GPP_CA_NOT_OPTED_OUT
    ping = wait_signal_ready(page)
    assert ping["gppString"] == body["gpp"]
    page.wait_for_function("gpp => window.gppEvents.some(e => e.pingData.gppString === gpp)", arg=body["gpp"])
    events = page.evaluate("() => window.gppEvents")
    names = [e["eventName"] for e in events]
    assert "sectionChange" in names, names
    assert events[-1]["pingData"]["signalStatus"] == "ready" and events[-1]["pingData"]["gppString"] == body["gpp"]
    assert usp(page)["data"] == {"version": 1, "uspString": "1YYN"}
    assert cookie_value(context, page.url, "usprivacy") == "1YYN"
    check_consent_mode(page, body["consent_mode"], default_denied=False)
    assert body["consent_mode"]["ad_storage"] == "denied"
    # removeEventListener: no more events for it.
    assert gpp(page, "removeEventListener", listener["id"])["data"]["data"] is True
    heard = len(page.evaluate("() => window.gppEvents"))
    page.evaluate("() => window.consentService.open()")
    expect(cs(page, "save")).to_be_visible()
    assert gpp(page, "ping")["data"]["cmpDisplayStatus"] == "visible"
    assert len(page.evaluate("() => window.gppEvents")) == heard
    # The next page: the stub's queued calls get the stored answers at once.
    page.reload()
    page.wait_for_function("() => window.queued.usp !== undefined")
    queued = page.evaluate("() => window.queued")
    assert queued["hasSection"] == {"data": True, "ok": True}
    assert queued["ping"]["data"]["gppString"] == body["gpp"]
    assert queued["usp"]["data"] == {"version": 1, "uspString": "1YYN"}


def test_consent_mode_and_signals_in_an_opt_in_region(
    service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    context = make_context(region=DE, viewport=VIEWPORT)
    page = open_page(context, iab_page(service, publisher))
    wait_ready(page)
    ping = wait_signal_ready(page)
    # The demo has IAB TCF on: in GDPR territory GPP carries section 2 (tcfeuv2), the TC string.
    assert ping["applicableSections"] == [2] and ping["sectionList"] == [2]
    assert ping["gppString"].startswith("DBABMA~")
    assert gpp(page, "hasSection", "usnat")["data"] is False
    assert usp(page)["data"] == {"version": 1, "uspString": "1---"}
    page.wait_for_function("() => window.dataLayer.some(e => e.event === 'mark')")
    experience = httpx.get(f"{service.origin}/v1/sites/demo/experience", headers=DE, timeout=5).json()
    check_consent_mode(page, experience["consent_mode"], default_denied=True)
    # Analytics only.
    cs(page, "customize").click()
    toggle(page, "analytics").check()
    cs(page, "save").click()
    wait_state(page, "s => !s.pending")
    body = server_decision(service.origin, device_token(page, context, service.origin), DE)
    assert body["consent_mode"]["analytics_storage"] == "granted" and body["consent_mode"]["ad_storage"] == "denied"
    check_consent_mode(page, body["consent_mode"], default_denied=True)
    # Then everything.
    page.evaluate("() => window.consentService.open()")
    cs(page, "accept").click()
    wait_state(page, "s => !s.pending && s.decisions.advertising.allowed")
    body = server_decision(service.origin, device_token(page, context, service.origin), DE)
    assert body["consent_mode"]["ad_user_data"] == "granted"
    check_consent_mode(page, body["consent_mode"], default_denied=True)


# ---- ads in iframes ----------------------------------------------------------------------------------


# An ad frame on another origin than the page: it finds the locator frames in its ancestors and asks by
# postMessage (GPP as an object, USP as a JSON string, both allowed by the specs).
AD_FRAME_JS = """(function () {
  var out = document.getElementById('out');
  function find(name) {
    for (var w = window; w; w = w === window.top ? null : w.parent) {
      try { if (w.frames[name]) { return w; } } catch (e) { /* keep climbing */ }
    }
    return null;
  }
  window.addEventListener('message', function (e) {
    var d = e.data;
    if (typeof d === 'string') { try { d = JSON.parse(d); } catch (x) { return; } }
    if (d && d.__gppReturn && d.__gppReturn.callId === 'g1') { out.setAttribute('data-gpp', d.__gppReturn.returnValue.gppString); }
    if (d && d.__uspapiReturn && d.__uspapiReturn.callId === 'u1') { out.setAttribute('data-usp', d.__uspapiReturn.returnValue.uspString); }
  });
  // The locator frames are added once the page's body is parsed: a frame that loads first looks again,
  // as ad tags do, a bounded number of times.
  var tries = 0;
  (function ask() {
    var g = find('__gppLocator'), u = find('__uspapiLocator');
    if (!(g && u) && ++tries < 200) { setTimeout(ask, 25); return; }
    out.setAttribute('data-found', (g ? 'gpp' : '-') + ',' + (u ? 'usp' : '-'));
    if (g) { g.postMessage({__gppCall: {command: 'ping', parameter: null, version: '1.1', callId: 'g1'}}, '*'); }
    if (u) { u.postMessage(JSON.stringify({__uspapiCall: {command: 'getUSPData', version: 1, callId: 'u1'}}), '*'); }
  })();
})();"""


def test_ad_iframe_on_the_demo_asks_gpp_through_the_locator(service: Service, make_context: ContextFactory) -> None:
    context = make_context(region=CA, viewport=VIEWPORT)
    page = open_page(context, f"{service.origin}/demo")
    wait_ready(page)
    frame = page.frame_locator("iframe[title=Advertisement]")
    expect(frame.locator("#frame-gpp")).to_have_attribute("data-gpp", GPP_CA_NOT_OPTED_OUT)
    expect(frame.locator("#frame-gpp")).to_contain_text("signalStatus=ready")


def test_cross_origin_ad_iframe_asks_gpp_and_usp_through_the_locators(
    service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    ad_origin = f"http://127.0.0.1:{publisher.port}"  # another origin than the page's (localhost)
    publisher.page("/ad/frame.js", AD_FRAME_JS)
    publisher.page(
        "/ad/frame.html", '<!doctype html><title>ad</title><p id="out">ad</p><script src="/ad/frame.js"></script>'
    )
    body = f'<iframe data-consent="advertising" data-src="{ad_origin}/ad/frame.html" title="Advertisement"></iframe>'
    url = publisher.page("/with-ad", publisher_html(service.origin, body=body))
    context: BrowserContext = make_context(region=CA, viewport=VIEWPORT)
    page = open_page(context, url)
    wait_ready(page)
    out = page.frame_locator("iframe[title=Advertisement]").locator("#out")
    expect(out).to_have_attribute("data-found", "gpp,usp")
    expect(out).to_have_attribute("data-gpp", GPP_CA_NOT_OPTED_OUT)
    expect(out).to_have_attribute("data-usp", "1YNN")
