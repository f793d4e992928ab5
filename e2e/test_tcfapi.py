"""The IAB TCF v2.3 CMP API the banner installs, `__tcfapi`, in Chromium against the real service and the
demo site (TCF on): gdprApplies false at once outside GDPR territory; in Germany `cmpuishown` with the
service's no-consent string before a choice, then `useractioncomplete` with the string Accept all (or
Reject all) made, `tcloaded` on the next page; an ad in a cross-origin iframe asking through the
`__tcfapiLocator` frame; and calls an IAB-style stub queued before the banner loaded, answered once."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import BrowserContext, Page, expect

from consent_service.core.tcf import TCModel, decode
from e2e.conftest import CA, DE, ContextFactory, Publisher, Service
from e2e.helpers import (
    VIEWPORT,
    cs,
    device_token,
    open_page,
    publisher_html,
    server_decision,
    wait_ready,
    wait_state,
)

DEMO_VENDORS = {10, 32, 52, 69, 76, 91, 755}  # consent_service/config/demo_site.toml, [sites.tcf]
# A stub as IAB's (iabtcf-es modules/stub) behaves: its queue kept to itself and handed over when called
# without arguments, ping answered by itself, the locator frame added, and its own postMessage listener
# that forwards a frame's calls to whatever `__tcfapi` is by then.
STUB = """
window.tcfEvents = [];
(function () {
  var queue = [];
  window.__tcfapi = function () {
    var args = Array.prototype.slice.call(arguments);
    if (!args.length) return queue;
    if (args[0] === 'ping') { args[2]({gdprApplies: undefined, cmpLoaded: false, cmpStatus: 'stub'}, true); return; }
    queue.push(args);
  };
  var f = document.createElement('iframe');
  f.name = '__tcfapiLocator';
  f.style.display = 'none';
  document.documentElement.appendChild(f);
  window.addEventListener('message', function (e) {
    var d = e.data, text = typeof d === 'string';
    if (text) { try { d = JSON.parse(d); } catch (x) { return; } }
    var call = d && d.__tcfapiCall;
    if (!call) return;
    window.__tcfapi(call.command, call.version, function (value, ok) {
      var msg = {__tcfapiReturn: {returnValue: value, success: ok, callId: call.callId}};
      e.source.postMessage(text ? JSON.stringify(msg) : msg, '*');
    }, call.parameter);
  });
})();
__tcfapi('addEventListener', 2, function (data, ok) {
  tcfEvents.push({ok: ok, status: data && data.eventStatus, tc: data && data.tcString, id: data && data.listenerId});
});
"""
LISTEN = (
    """() => { window.heard = []; __tcfapi('addEventListener', 2, (data, ok) => window.heard.push({ok, data})); }"""
)
CALL = """([command, parameter]) => new Promise((resolve) =>
  __tcfapi(command, 2, (value, ok) => resolve({value, ok}), parameter))"""


def tcf(page: Page, command: str, parameter: Any = None) -> dict[str, Any]:
    return page.evaluate(CALL, [command, parameter])  # type: ignore[no-any-return]


def heard(page: Page) -> list[dict[str, Any]]:
    return page.evaluate("() => window.heard")  # type: ignore[no-any-return]


def wait_heard(page: Page, status: str) -> dict[str, Any]:
    """Waits until the page's listener heard `status`; returns that TCData."""
    page.wait_for_function("s => window.heard.some(e => e.ok && e.data.eventStatus === s)", arg=status)
    return next(e["data"] for e in heard(page) if e["ok"] and e["data"]["eventStatus"] == status)


def banner_page(service: Service, publisher: Publisher, path: str = "/tcf", head: str = "") -> str:
    return publisher.page(path, publisher_html(service.origin, head=head))


def test_outside_gdpr_territory_gdpr_applies_false_at_once(
    service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    page = open_page(make_context(region=CA, viewport=VIEWPORT), banner_page(service, publisher))
    wait_ready(page)
    page.evaluate(LISTEN)
    [event] = heard(page)
    assert event["ok"] is True
    assert event["data"] == {
        "gdprApplies": False,
        "eventStatus": "tcloaded",
        "cmpStatus": "loaded",
        "listenerId": event["data"]["listenerId"],
    }
    ping = tcf(page, "ping")
    assert ping["ok"] is True
    assert ping["value"]["gdprApplies"] is False and ping["value"]["cmpStatus"] == "loaded"
    assert ping["value"]["cmpLoaded"] is True
    # The US banner (opt_out) is on screen, yet nothing waits for it.
    expect(cs(page, "optout")).to_be_visible()


def choose_in_germany(
    service: Service, publisher: Publisher, context: BrowserContext, button: str
) -> tuple[Page, TCModel, TCModel]:
    """A first visit in Germany: the listener hears cmpuishown with the no-consent string before any
    click; after `button`, useractioncomplete with the string the service wrote. Returns the page and
    the two strings, decoded."""
    page = open_page(context, banner_page(service, publisher))
    page.wait_for_function("() => typeof __tcfapi === 'function'")
    page.evaluate(LISTEN)
    shown = wait_heard(page, "cmpuishown")
    assert shown["gdprApplies"] is True and shown["cmpStatus"] == "loaded"
    assert shown["purpose"]["consents"] and not any(shown["purpose"]["consents"].values())
    before = decode(shown["tcString"])
    assert before.purpose_consents == before.vendor_consents == frozenset()
    assert before.vendors_disclosed == DEMO_VENDORS  # the Disclosed Vendors segment
    expect(cs(page, "accept")).to_be_visible()
    cs(page, button).click()
    done = wait_heard(page, "useractioncomplete")
    wait_state(page, "s => !s.pending")
    body = server_decision(service.origin, device_token(page, context, service.origin), DE)
    assert done["tcString"] == body["tcf"]  # the service's string, confirmed by its write answer
    # Each listener call is one change: cmpuishown, then useractioncomplete; never tcloaded in between.
    assert [e["data"]["eventStatus"] for e in heard(page)] == ["cmpuishown", "useractioncomplete"]
    return page, before, decode(done["tcString"])


def test_in_germany_accept_all_then_the_next_page(
    service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    page, _, after = choose_in_germany(service, publisher, make_context(region=DE, viewport=VIEWPORT), "accept")
    assert after.purpose_consents == frozenset(range(1, 12))
    assert {32, 755} <= after.vendor_consents
    ping = tcf(page, "ping")["value"]
    assert (ping["gdprApplies"], ping["cmpStatus"], ping["tcfPolicyVersion"]) == (True, "loaded", after.policy_version)
    # The deprecated getTCData (for old callers) names only the vendors asked about.
    data = tcf(page, "getTCData", [32, 755, 1])["value"]
    assert data["vendor"]["consents"] == {"32": True, "755": True, "1": False}
    assert data.get("listenerId") is None
    # The next page: tcloaded with the stored string, at once.
    page.reload()
    page.wait_for_function("() => typeof __tcfapi === 'function'")
    page.evaluate(LISTEN)
    [event] = heard(page)
    assert event["data"]["eventStatus"] == "tcloaded" and decode(event["data"]["tcString"]) == after


def test_in_germany_reject_all_grants_nothing(
    service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    page, _, after = choose_in_germany(service, publisher, make_context(region=DE, viewport=VIEWPORT), "reject")
    assert after.purpose_consents == after.purpose_legitimate_interests == frozenset()
    assert after.vendor_consents == after.vendor_legitimate_interests == frozenset()
    assert after.vendors_disclosed == DEMO_VENDORS
    # removeEventListener: the page's listener is gone.
    listener_id = heard(page)[0]["data"]["listenerId"]
    assert tcf(page, "removeEventListener", listener_id) == {"value": True, "ok": True}
    assert tcf(page, "removeEventListener", listener_id)["value"] is False


# An ad frame on another origin than the page: it finds `__tcfapiLocator` in its ancestors and asks by
# postMessage, addEventListener as a JSON string and ping as an object (both allowed by the CMP API).
AD_FRAME_JS = """(function () {
  var out = document.getElementById('out'), events = [];
  function find(name) {
    for (var w = window; w; w = w === window.top ? null : w.parent) {
      try { if (w.frames[name]) { return w; } } catch (e) { /* keep climbing */ }
    }
    return null;
  }
  window.addEventListener('message', function (e) {
    var d = e.data, text = typeof d === 'string';
    if (text) { try { d = JSON.parse(d); } catch (x) { return; } }
    var r = d && d.__tcfapiReturn;
    if (!r) return;
    if (r.callId === 'p1') { out.setAttribute('data-ping', r.returnValue.cmpStatus + ',' + r.returnValue.gdprApplies); }
    if (r.callId === 'l1') {
      // Once the CMP has answered with data, ping says it is loaded (before that it may say loading).
      if (!events.length) { e.source.postMessage({__tcfapiCall: {command: 'ping', version: 2, callId: 'p1'}}, '*'); }
      events.push((text ? 'text:' : 'object:') + r.returnValue.eventStatus);
      out.setAttribute('data-events', events.join(' '));
      out.setAttribute('data-tc', r.returnValue.tcString);
    }
  });
  // The locator frame is added once the page's body is parsed (as IAB's stub does): a frame that loads
  // first looks again, as ad tags do, a bounded number of times.
  var tries = 0;
  (function ask() {
    var cmp = find('__tcfapiLocator');
    if (!cmp && ++tries < 200) { setTimeout(ask, 25); return; }
    out.setAttribute('data-found', cmp ? 'yes' : 'no');
    if (!cmp) return;
    cmp.postMessage(JSON.stringify({__tcfapiCall: {command: 'addEventListener', version: 2, callId: 'l1'}}), '*');
  })();
})();"""


def test_cross_origin_ad_iframe_asks_through_the_locator(
    service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    ad_origin = f"http://127.0.0.1:{publisher.port}"  # another origin than the page's (localhost)
    publisher.page("/tcf-ad/frame.js", AD_FRAME_JS)
    publisher.page(
        "/tcf-ad/frame.html",
        '<!doctype html><title>ad</title><p id="out">ad</p><script src="/tcf-ad/frame.js"></script>',
    )
    # Not gated: in the EU an ad frame loads before any choice and asks the CMP itself.
    body = f'<iframe src="{ad_origin}/tcf-ad/frame.html" title="Advertisement"></iframe>'
    context = make_context(region=DE, viewport=VIEWPORT)
    page = open_page(context, publisher.page("/tcf-with-ad", publisher_html(service.origin, body=body)))
    out = page.frame_locator("iframe[title=Advertisement]").locator("#out")
    expect(out).to_have_attribute("data-found", "yes")
    expect(out).to_have_attribute("data-ping", "loaded,true")
    expect(out).to_have_attribute("data-events", "text:cmpuishown")
    cs(page, "accept").click()
    expect(out).to_have_attribute("data-events", "text:cmpuishown text:useractioncomplete")
    wait_state(page, "s => !s.pending")
    tc = server_decision(service.origin, device_token(page, context, service.origin), DE)["tcf"]
    expect(out).to_have_attribute("data-tc", tc)


def test_calls_an_iab_stub_queued_are_answered_once(
    service: Service, publisher: Publisher, make_context: ContextFactory
) -> None:
    publisher.page("/tags/tcf-stub.js", STUB, {"cache-control": "no-store"})
    url = banner_page(service, publisher, "/tcf-stub", head='<script src="/tags/tcf-stub.js"></script>')
    page = open_page(make_context(region=DE, viewport=VIEWPORT), url)
    page.wait_for_function("() => window.tcfEvents.length > 0")
    [event] = page.evaluate("() => window.tcfEvents")
    assert event["ok"] is True and event["status"] == "cmpuishown" and isinstance(event["id"], int)
    assert decode(event["tc"]).vendors_disclosed == DEMO_VENDORS
    # The stub's own message listener stays in the page: a postMessage call is still answered once.
    count = page.evaluate(
        """() => new Promise((resolve) => {
          let n = 0;
          window.addEventListener('message', (e) => { if (e.data && e.data.__tcfapiReturn && e.data.__tcfapiReturn.callId === 'y') n++; });
          window.postMessage({__tcfapiCall: {command: 'ping', version: 2, callId: 'y'}}, '*');
          setTimeout(() => resolve(n), 300);
        })"""
    )
    assert count == 1
