"""A real ad-tech client reads our signals: Prebid.js 11 from npm (pinned by e2e/prebid/package-lock.json),
bundled with its consent modules (TCF, GPP, USP), the usnat activity control, TCF enforcement
(tcfControl) and the AppNexus/Xandr adapter (GVL id 32), on a publisher page of another origin than the
service's that embeds our banner. Auctions go to a stubbed AppNexus endpoint (Playwright routing): each
bid request's body is recorded, with Prebid's own view of it (`bidRequested`: the consent data it handed
the adapter and `ortb2.regs`); Prebid's log (debug on) must hold no CMP error. TC and GPP strings are
read back with IAB's libraries (tests/iab_node).

Without `__tcfapi`, Prebid's TCF module logs "TCF2 CMP not found. Canceling auction" for every visitor
(issue 16); without `registerDeletion`, its USP module logs "Error invoking CMP `registerDeletion`". Both
are errors in the console, which every case here refuses."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Route, expect

from consent_service.cli.redis_runner import EmbeddedRedis
from e2e.conftest import (
    CA,
    DE,
    PAGE_TIMEOUTS,
    ROOT,
    ContextFactory,
    Publisher,
    Service,
    demo_for_publisher,
    wait_for,
)
from e2e.helpers import VIEWPORT, cs, device_token, publisher_html, server_decision, wait_state

PREBID_DIR = ROOT / "e2e" / "prebid"
IAB_NODE_DIR = ROOT / "tests" / "iab_node"
PLACEMENT_ID = 13144370  # the test placement of AppNexus's own examples
APPNEXUS = 32  # Xandr/AppNexus's GVL id (its adapter declares it)
GOOGLE = 755
# DESIGN.md's vectors (checked there with IAB's own library).
GPP_CA_NOT_OPTED_OUT = "DBABLA~CVQqAAAAAACA.QA"
GPP_CA_GPC = "DBABLA~CVQVAAAAAACA.YA"
WAIT_S = 10.0  # the bound of each wait for the page (not a speed claim)

REGISTER_DELETION_ERROR = "Error invoking CMP `registerDeletion`"  # Prebid's, when a CMP has no USP deletion


# ---- the bundle ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrebidBuild:
    bundle: str  # the script
    chunks: Path  # Prebid's own chunks, served under the bundle's distUrlBase (/prebid/chunks/)


def _bundle_key() -> str:
    digest = hashlib.sha256()
    for name in ("package-lock.json", "entry.js", "build.mjs"):
        digest.update((PREBID_DIR / name).read_bytes())
    return digest.hexdigest()[:16]


@pytest.fixture(scope="session")
def prebid_build() -> PrebidBuild:
    """Prebid's bundle (e2e/prebid/build.mjs, esbuild), built once per change of the lockfile, the entry
    or the build script: the key is in the file's name, in e2e/prebid/build/ (not committed)."""
    node = shutil.which("node")
    assert node is not None, "node is needed (./dev test installs it)"
    installed = PREBID_DIR / "node_modules" / "prebid.js" / "package.json"
    assert installed.is_file(), "Prebid.js is not installed: run ./dev test (or `npm ci --prefix e2e/prebid`)"
    out = PREBID_DIR / "build" / f"prebid-{_bundle_key()}.js"
    if not out.is_file():
        out.parent.mkdir(exist_ok=True)
        for old in out.parent.glob("prebid-*.js"):
            old.unlink()
        partial = out.with_suffix(".partial")
        run = subprocess.run(
            [node, str(PREBID_DIR / "build.mjs"), "--out", str(partial)],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert run.returncode == 0, f"building Prebid failed:\n{run.stdout}\n{run.stderr}"
        partial.replace(out)
    return PrebidBuild(out.read_text("utf-8"), installed.parent / "dist" / "chunks")


# ---- the service ------------------------------------------------------------------------------------

CMP_ID = 300  # a stand-in for the id IAB Europe registers a deployment under (its library refuses 0 and 1)


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, e2e_redis: EmbeddedRedis, publisher_port: int
) -> Iterator[Service]:
    """The service as an EU-facing publisher runs it: the demo site (TCF on), with a CMP id, so that its
    TC strings are valid ones (without, they carry CMP id 0, which IAB's library and vendors refuse)."""
    tmp = tmp_path_factory.mktemp("prebid-service")
    env = {**PAGE_TIMEOUTS, "CONSENT_TCF_CMP_ID": str(CMP_ID), "CONSENT_TCF_CMP_VERSION": "1"}
    svc = Service(tmp, e2e_redis.url, config=demo_for_publisher(tmp, publisher_port), env=env)
    yield svc
    svc.stop()


# ---- the publisher's page ----------------------------------------------------------------------------

# The test's eyes, not the publisher's: every `__tcfapi` event, from the page's start (when there is one).
TCF_RECORDER_JS = """
window.tcfEvents = [];
if (typeof window.__tcfapi === 'function') {
  window.__tcfapi('addEventListener', 2, function (data, ok) {
    window.tcfEvents.push(Object.assign(JSON.parse(JSON.stringify(data || null)) || {}, {ok: ok}));
  });
}
"""
# Prebid's setup as a publisher writes it: the queue, the consent modules' configuration, one ad unit for
# AppNexus, an auction at load; `runAuction()` runs another (as a refresh does). What Prebid hands each
# bidder (`bidRequested`), its TCF enforcement results and each auction's outcome go to `prebidSeen`.
SETUP_JS = """
window.pbjs = window.pbjs || {que: []};
window.prebidSeen = {bidRequested: [], auctions: [], tcf2Enforcement: [], deletions: []};
pbjs.que.push(function () {
  pbjs.setConfig(%(config)s);
  pbjs.onEvent('bidRequested', function (r) {
    prebidSeen.bidRequested.push(JSON.parse(JSON.stringify({
      bidderCode: r.bidderCode, gdprConsent: r.gdprConsent || null, uspConsent: r.uspConsent || null,
      gppConsent: r.gppConsent || null, regs: (r.ortb2 && r.ortb2.regs) || null,
    })));
  });
  pbjs.onEvent('tcf2Enforcement', function (e) { prebidSeen.tcf2Enforcement.push(JSON.parse(JSON.stringify(e))); });
  // A vendor module that asks to hear of USP deletions (Prebid calls onDataDeletionRequest of every bidder).
  pbjs.registerBidAdapter(undefined, 'deletionprobe', {
    code: 'deletionprobe', isBidRequestValid: function () { return false; },
    buildRequests: function () { return []; }, interpretResponse: function () { return []; },
    onDataDeletionRequest: function () { prebidSeen.deletions.push(Date.now()); },
  });
  pbjs.addAdUnits([{
    code: 'ad-top', mediaTypes: {banner: {sizes: [[300, 250]]}},
    bids: [{bidder: 'appnexus', params: {placementId: %(placement)d}}],
  }]);
  window.runAuction = function () {
    return new Promise(function (resolve) {
      pbjs.requestBids({bidsBackHandler: function (bids, timedOut, auctionId) {
        var got = [];
        Object.keys(bids || {}).forEach(function (code) {
          (bids[code].bids || []).forEach(function (b) { got.push({adUnitCode: code, bidder: b.bidderCode, cpm: b.cpm}); });
        });
        var outcome = {auctionId: auctionId || null, timedOut: !!timedOut, bids: got};
        prebidSeen.auctions.push(outcome);
        resolve(outcome);
      }});
    });
  };
  window.runAuction();
});
"""


def prebid_config(*, tcf: bool) -> dict[str, Any]:
    """What a careful EU-facing publisher sets: each consent module reads the page's CMP (`iab`); an
    auction waits at most 5 s for the CMP to load and, once its UI is up, half a second for the visitor
    (then Prebid goes on with what the CMP said so far); GDPR is assumed to apply when the CMP cannot say;
    tcfControl enforces storage (strictly), basic ads, personalised ads, measurement and precise geolocation,
    purpose and vendor. `tcf=False` leaves the TCF module unconfigured (off), as a US-only publisher would."""
    consent: dict[str, Any] = {
        "usp": {"cmpApi": "iab", "timeout": 5000},
        "gpp": {"cmpApi": "iab", "timeout": 5000},
    }
    if tcf:
        rule = {"enforcePurpose": True, "enforceVendor": True}
        consent["gdpr"] = {
            "cmpApi": "iab", "timeout": 5000, "actionTimeout": 500, "defaultGdprScope": True,
            "rules": [{"purpose": p, **rule} for p in
                      ("storage", "basicAds", "personalizedAds", "measurement", "transmitPreciseGeo")],
        }  # fmt: skip
        consent["strictStorageEnforcement"] = True
    return {"debug": True, "bidderTimeout": 3000, "consentManagement": consent}


def prebid_page(service: Service, publisher: Publisher, build: PrebidBuild, *, tcf: bool) -> str:
    """The publisher's page: our banner in <head> (the CMP first), then Prebid's setup and its bundle."""
    name = "tcf" if tcf else "no-tcf"
    setup = SETUP_JS % {"config": json.dumps(prebid_config(tcf=tcf)), "placement": PLACEMENT_ID}
    no_store = {"cache-control": "no-store"}
    publisher.page("/prebid/tcf-recorder.js", TCF_RECORDER_JS, no_store)
    publisher.page(f"/prebid/setup-{name}.js", setup, no_store)
    publisher.page("/prebid/prebid.js", build.bundle, no_store)
    # With `debug` on, Prebid loads its DevTools chunk from distUrlBase (see e2e/prebid/build.mjs).
    chunk = "devtoolsMcp-standalone.js"
    publisher.page(f"/prebid/chunks/{chunk}", (build.chunks / chunk).read_text("utf-8"), no_store)
    body = (
        '<div id="ad-top"></div>\n<script src="/prebid/tcf-recorder.js"></script>\n'
        f'<script src="/prebid/setup-{name}.js"></script>\n<script async src="/prebid/prebid.js"></script>'
    )
    return publisher.page(f"/prebid-{name}", publisher_html(service.origin, body=body, tags=False, title="Prebid"))


# ---- the stubbed bidder -------------------------------------------------------------------------------


# A transparent 1×1 GIF: the answer to user-sync pixels.
PIXEL = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


@dataclass
class Bidder:
    """AppNexus's endpoint, stubbed: each request's body is recorded and answered with one banner bid per
    tag (the /ut/v3 format its adapter reads). The user-sync pixels Prebid fires a while after an auction
    (where the visitor's choices allow it) get an empty image, and are noted but not checked (when they
    fire is a matter of time); any other request for the internet is refused and noted."""

    origin: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    pixels: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def attach(self, context: BrowserContext) -> Bidder:
        context.route(re.compile(r"^https://"), self._other)  # the routes added later win
        context.route("https://ib.adnxs.com/**", self._answer)
        context.route("https://ib.adnxs-simple.com/**", self._answer)  # without purpose 1 consent
        return self

    def _other(self, route: Route) -> None:
        if route.request.resource_type == "image":
            self.pixels.append(route.request.url)
            route.fulfill(status=200, content_type="image/gif", body=PIXEL)
            return
        self.refused.append(route.request.url)
        route.abort()

    def _answer(self, route: Route) -> None:
        request = route.request
        cors = {"access-control-allow-origin": self.origin, "access-control-allow-credentials": "true"}
        if request.method == "OPTIONS":
            route.fulfill(status=204, headers={**cors, "access-control-allow-headers": "content-type"})
            return
        body = json.loads(request.post_data or "{}")
        self.requests.append({"url": request.url, "body": body})
        route.fulfill(status=200, headers=cors, content_type="application/json", body=json.dumps(bid_response(body)))


def bid_response(request: dict[str, Any]) -> dict[str, Any]:
    ad = {
        "content_source": "rtb", "ad_type": "banner", "buyer_member_id": 958, "creative_id": 29681110,
        "media_type_id": 1, "media_subtype_id": 1, "cpm": 1.25, "cpm_publisher_currency": 1.25,
        "publisher_currency_code": "$", "client_initiated_ad_counting": True, "viewability": {"config": ""},
        "rtb": {"banner": {"content": "<div>ad</div>", "width": 300, "height": 250},
                "trackers": [{"impression_urls": [], "video_events": {}}]},
    }  # fmt: skip
    tags = request.get("tags", [])
    return {
        "version": "3.0.0",
        "tags": [{"uuid": t["uuid"], "tag_id": PLACEMENT_ID, "nobid": False, "ads": [ad]} for t in tags],
    }


# ---- IAB's libraries (tests/iab_node) --------------------------------------------------------------


def _iab_node(script: str, strings: list[str]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    assert node is not None, "node is needed (./dev test installs it)"
    run = subprocess.run(
        [node, str(IAB_NODE_DIR / script)], input=json.dumps(strings), capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 0, f"{script} failed: {run.stderr}"
    return list(json.loads(run.stdout))


def decode_tc(tc: str) -> dict[str, Any]:
    """The TC string as @iabtechlabtcf/core reads it (ids as sorted lists)."""
    decoded = _iab_node("decode_tcf.mjs", [tc])[0]
    assert "error" not in decoded, f"@iabtechlabtcf/core cannot read {tc!r}: {decoded['error']}"
    return decoded


def decode_gpp(gpp: str) -> dict[str, Any]:
    """The GPP string as @iabgpp/cmpapi reads it (header, usnat with its GPC subsection)."""
    decoded = _iab_node("decode.mjs", [gpp])[0]
    assert "error" not in decoded, f"@iabgpp/cmpapi cannot read {gpp!r}: {decoded['error']}"
    return decoded


# ---- a visit: the page, the bidder, Prebid's log ----------------------------------------------------

PREBID_LINE = re.compile(r"\b(MESSAGE|INFO|WARNING|ERROR): (.*)", re.DOTALL)
# A message about reading consent from the CMP (Prebid's consent modules and their enforcement).
CONSENT_WORDS = re.compile(r"CMP|consentManagement|TCF|GPP|USP|usnat|MSPA|gdpr|consent", re.IGNORECASE)


def _plain(text: str) -> str:
    """A console line without Prebid's styling arguments."""
    found = PREBID_LINE.search(text) if "Prebid" in text else None
    return f"Prebid {found.group(1)}: {found.group(2)}" if found else text


@dataclass
class Visit:
    page: Page
    bidder: Bidder
    console: list[tuple[str, str]] = field(default_factory=list)

    def _add(self, message: ConsoleMessage) -> None:
        self.console.append((message.type, message.text))

    def seen(self) -> dict[str, Any]:
        return self.page.evaluate("() => window.prebidSeen")  # type: ignore[no-any-return]

    def tcf_events(self) -> list[dict[str, Any]]:
        return self.page.evaluate("() => window.tcfEvents")  # type: ignore[no-any-return]

    def prebid_log(self, level: str, since: int = 0) -> list[str]:
        """Prebid's own lines of one level (its log is styled: `%cPrebid … LEVEL: message`), from the
        console's line `since` on (`len(v.console)` taken earlier)."""
        found = (PREBID_LINE.search(text) for _, text in self.console[since:] if "Prebid" in text)
        return [m.group(2) for m in found if m and m.group(1) == level]

    def describe(self) -> str:
        """What the bidder requests held, what Prebid saw, and the end of its log: for failure messages."""
        bodies = [{"url": r["url"], **r["body"]} for r in self.bidder.requests]
        for body in bodies:
            body.pop("device", None)
            body.pop("referrer_detection", None)
        try:
            seen: Any = self.seen()
            tcf: Any = self.tcf_events()
        except Exception as error:  # the page may be gone: say so
            seen = tcf = f"(unreadable: {error})"
        log = "\n".join(f"  [{kind}] {_plain(text)[:300]}" for kind, text in self.console)
        return (
            f"\n-- bid requests to AppNexus: {json.dumps(bodies, indent=1)}"
            f"\n-- what Prebid saw: {json.dumps(seen, indent=1)[:6000]}"
            f"\n-- __tcfapi events: {json.dumps(tcf)[:3000]}"
            f"\n-- requests refused (internet): {self.bidder.refused}; pixels: {self.bidder.pixels}"
            f"\n-- the page's console:\n{log[-8000:]}"
        )

    def wait_auctions(self, count: int) -> list[dict[str, Any]]:
        wait_for(f"{count} auction(s) to end", lambda: len(self.seen()["auctions"]) >= count, within=WAIT_S,
                 describe=self.describe)  # fmt: skip
        return self.seen()["auctions"]  # type: ignore[no-any-return]

    def run_auction(self) -> dict[str, Any]:
        return self.page.evaluate("() => window.runAuction()")  # type: ignore[no-any-return]

    def wait_tcf_event(self, status: str) -> dict[str, Any]:
        wait_for(f"a __tcfapi event {status!r}", lambda: self._last_event(status), within=WAIT_S,
                 describe=self.describe)  # fmt: skip
        return self._last_event(status)  # type: ignore[return-value]

    def choose(self, button: str) -> dict[str, Any]:
        """Clicks a banner button (`accept`, `reject`) and returns the `useractioncomplete` event, once
        Prebid has taken its TC data in too (its TCF consent data's `generatedAt` changed)."""
        generated = "() => (pbjs.getConsentMetadata().gdpr || {}).generatedAt"
        before = self.page.evaluate(generated)
        cs(self.page, button).click()
        event = self.wait_tcf_event("useractioncomplete")
        wait_for("Prebid to take in the new TC data", lambda: self.page.evaluate(generated) != before,
                 within=WAIT_S, describe=self.describe)  # fmt: skip
        return event

    def _last_event(self, status: str) -> dict[str, Any] | None:
        return next((e for e in reversed(self.tcf_events()) if e.get("eventStatus") == status), None)

    def one_request(self) -> dict[str, Any]:
        """The one bid request AppNexus got (its body), to the endpoint of a device with purpose 1 consent."""
        assert len(self.bidder.requests) == 1, f"AppNexus got {len(self.bidder.requests)} requests. {self.describe()}"
        request = self.bidder.requests[0]
        assert request["url"] == "https://ib.adnxs.com/ut/v3/prebid", self.describe()
        return request["body"]  # type: ignore[no-any-return]

    def check_log(self, *, expected_warnings: tuple[str, ...] = ()) -> None:
        """No error in the page's console (Prebid's errors, failed loads, script errors), and no warning
        of Prebid about reading consent but those the case expects (each a substring); its activity
        controls' decisions (`Activity control: … denied …`) are what our signals are for, and each case
        asserts those it expects. Nothing went for the internet."""
        errors = [text for kind, text in self.console if kind == "error"]
        warnings = [
            w for w in self.prebid_log("WARNING")
            if CONSENT_WORDS.search(w) and not w.startswith("Activity control:")
            and not any(x in w for x in expected_warnings)
        ]  # fmt: skip
        assert not errors, f"errors in the page's console: {errors}. {self.describe()}"
        assert not warnings, f"Prebid warned about consent: {warnings}. {self.describe()}"
        assert not self.bidder.refused, self.describe()


def visit(make_context: ContextFactory, service: Service, publisher: Publisher, build: PrebidBuild, *, tcf: bool,
          **options: Any) -> Visit:  # fmt: skip
    context = make_context(viewport=VIEWPORT, **options)
    bidder = Bidder(publisher.origin).attach(context)
    page = context.new_page()
    page.set_default_timeout(WAIT_S * 1000)
    v = Visit(page, bidder)
    page.on("console", v._add)
    page.on("pageerror", lambda error: v.console.append(("error", f"page error: {error}")))
    page.goto(prebid_page(service, publisher, build, tcf=tcf))
    return v


# When the TCF module is not configured, Prebid says so, and tcfControl falls back to its default rules.
TCF_OFF_WARNINGS = ("consentManagement.gdpr config not defined", "TCF2: enforcing P1, P2, P4, P7 and SP1 by default")
TCF_SWITCH = [pytest.param(False, id="tcf_module_off"), pytest.param(True, id="tcf_module_on")]


def check_us_auction(v: Visit, *, tcf: bool, usp: str, gpp: str, gpc: bool = False) -> dict[str, Any]:
    """An auction that ran: AppNexus got one request and bid; the request carries our US signals, and
    Prebid's `ortb2.regs` too (with `ext.gpc`, which Prebid reads from the browser itself); with the TCF
    module on, GDPR does not apply (and there is no TC string)."""
    auction = v.wait_auctions(1)[0]
    assert [b["bidder"] for b in auction["bids"]] == ["appnexus"], v.describe()
    body = v.one_request()
    assert body.get("us_privacy") == usp, v.describe()
    assert body.get("privacy") == {"gpp": gpp, "gpp_sid": [7]}, v.describe()
    [seen] = v.seen()["bidRequested"]
    regs_ext: dict[str, Any] = {"us_privacy": usp, **({"gpc": "1"} if gpc else {})}
    if tcf:
        assert body["gdpr_consent"]["consent_required"] is False, v.describe()
        assert not body["gdpr_consent"].get("consent_string"), v.describe()
        assert seen["gdprConsent"]["gdprApplies"] is False, v.describe()
        regs_ext["gdpr"] = 0
        assert [e["eventStatus"] for e in v.tcf_events()][:1] == ["tcloaded"], v.describe()
        assert v.tcf_events()[0]["gdprApplies"] is False, v.describe()
    else:
        assert "gdpr_consent" not in body and seen["gdprConsent"] is None, v.describe()
    assert seen["regs"] == {"gpp": gpp, "gpp_sid": [7], "ext": regs_ext}, v.describe()
    assert seen["uspConsent"] == usp and seen["gppConsent"]["applicableSections"] == [7], v.describe()
    return decode_gpp(gpp)


# ---- the cases: US ------------------------------------------------------------------------------------


@pytest.mark.parametrize("tcf", TCF_SWITCH)
def test_california_without_gpc(
    service: Service, publisher: Publisher, make_context: ContextFactory, prebid_build: PrebidBuild, tcf: bool
) -> None:
    v = visit(make_context, service, publisher, prebid_build, tcf=tcf, region=CA)
    decoded = check_us_auction(v, tcf=tcf, usp="1YNN", gpp=GPP_CA_NOT_OPTED_OUT)
    usnat = decoded["usnat"]
    assert decoded["header"]["SectionIds"] == [7] and decoded["gpcSegmentIncluded"] is True, decoded
    assert (usnat["SaleOptOut"], usnat["SharingOptOut"], usnat["TargetedAdvertisingOptOut"]) == (2, 2, 2), usnat
    assert usnat["Gpc"] is False, usnat
    # Prebid's usnat control (gppControl_usnat) lets everything through.
    assert not [w for w in v.prebid_log("WARNING") if "MSPA" in w], v.describe()
    v.check_log(expected_warnings=() if tcf else TCF_OFF_WARNINGS)


@pytest.mark.parametrize("tcf", TCF_SWITCH)
def test_california_with_gpc(
    service: Service, publisher: Publisher, make_context: ContextFactory, prebid_build: PrebidBuild, tcf: bool
) -> None:
    v = visit(make_context, service, publisher, prebid_build, tcf=tcf, region=CA, gpc=True)
    decoded = check_us_auction(v, tcf=tcf, usp="1YYN", gpp=GPP_CA_GPC, gpc=True)
    usnat = decoded["usnat"]
    assert (usnat["SaleOptOut"], usnat["SharingOptOut"], usnat["TargetedAdvertisingOptOut"]) == (1, 1, 1), usnat
    assert usnat["Gpc"] is True and decoded["gpcSegmentIncluded"] is True, usnat
    # The auction still runs (a sale opt-out does not stop contextual ads), but Prebid's usnat control
    # reads the opt-out and keeps AppNexus from syncing the user.
    mspa = "Activity control: MSPA (GPP 'usnat' for section 7) denied 'syncUser' for 'bidder.appnexus'"
    assert mspa in v.prebid_log("WARNING"), v.describe()
    v.check_log(expected_warnings=() if tcf else TCF_OFF_WARNINGS)


def test_usp_deletion_reaches_prebids_vendors(
    service: Service, publisher: Publisher, make_context: ContextFactory, prebid_build: PrebidBuild
) -> None:
    """Prebid registers for USP deletions at every consent lookup; the publisher's `performDeletion`
    then reaches every vendor module that asked (here a probe bidder's onDataDeletionRequest)."""
    v = visit(make_context, service, publisher, prebid_build, tcf=False, region=CA)
    v.wait_auctions(1)
    assert REGISTER_DELETION_ERROR not in "\n".join(v.prebid_log("ERROR")), v.describe()
    assert v.seen()["deletions"] == [], v.describe()
    v.page.evaluate("() => { __uspapi('performDeletion', 1, null); }")  # as the issue writes the call
    wait_for("Prebid's vendors to hear of the deletion", lambda: v.seen()["deletions"], within=WAIT_S,
             describe=v.describe)  # fmt: skip
    v.check_log(expected_warnings=TCF_OFF_WARNINGS)


def test_a_deletion_on_the_service_reaches_prebids_vendors_on_the_next_page(
    service: Service, publisher: Publisher, make_context: ContextFactory, prebid_build: PrebidBuild
) -> None:
    """The visitor deletes the device's data through the service (`DELETE /v1/me`, as its data page
    does); the next page view tells the vendors Prebid registered, once, and no later one again."""
    v = visit(make_context, service, publisher, prebid_build, tcf=False, region=CA)
    v.wait_auctions(1)
    cs(v.page, "optout").click()  # something to delete (the device then has a record)
    wait_state(v.page, "s => !s.pending")
    token = device_token(v.page, v.page.context, service.origin)
    deleted = httpx.delete(
        f"{service.origin}/v1/me", params={"site": "demo"}, headers={"x-consent-device": token, **CA}, timeout=5
    )
    assert deleted.status_code == 200, deleted.text
    v.page.reload()
    v.wait_auctions(1)
    wait_for("Prebid's vendors to hear of the deletion", lambda: v.seen()["deletions"], within=WAIT_S,
             describe=v.describe)  # fmt: skip
    v.page.reload()  # announced once: the page after does not announce it again
    v.wait_auctions(1)
    assert v.seen()["deletions"] == [], v.describe()
    v.check_log(expected_warnings=TCF_OFF_WARNINGS)


# ---- the cases: EU ------------------------------------------------------------------------------------

EU_BEFORE_CHOICE = ("TCF timeout waiting for user action on CMP",)  # the first auction's actionTimeout
FETCH_DENIED = "Activity control: TCF2 denied 'fetchBids' for 'bidder.appnexus'"


def check_no_consent(v: Visit, tc: str, what: str) -> dict[str, Any]:
    decoded = decode_tc(tc)
    granted = {k: decoded[k] for k in ("purpose_consents", "purpose_legitimate_interests", "vendor_consents",
               "vendor_legitimate_interests", "special_feature_opt_ins") if decoded[k]}  # fmt: skip
    assert not granted, f"{what}: the TC string grants {granted}. {v.describe()}"
    assert {APPNEXUS, GOOGLE} <= set(decoded["vendors_disclosed"]), f"{what}: {decoded}"
    assert decoded["cmp_id"] == CMP_ID, f"{what}: {decoded}"
    return decoded


def check_blocked(v: Visit, auction: dict[str, Any]) -> None:
    """tcfControl kept the auction from AppNexus: no request, no bid, Prebid says why."""
    assert v.bidder.requests == [] and auction["bids"] == [], v.describe()
    assert v.seen()["bidRequested"] == [], v.describe()
    assert "appnexus" in v.seen()["tcf2Enforcement"][-1]["biddersBlocked"], v.describe()
    assert FETCH_DENIED in v.prebid_log("WARNING"), v.describe()


def eu_visit_before_choice(
    make_context: ContextFactory, service: Service, publisher: Publisher, build: PrebidBuild
) -> Visit:
    """A German visitor's first page: the banner asks, `__tcfapi` says `cmpuishown` with a no-consent TC
    string; Prebid waits its actionTimeout, goes on with that string, and tcfControl blocks AppNexus
    (no consent for basic ads, purpose 2, nor for vendor 32)."""
    v = visit(make_context, service, publisher, build, tcf=True, region=DE)
    expect(cs(v.page, "accept")).to_be_visible()
    auction = v.wait_auctions(1)[0]
    events = v.tcf_events()
    assert events and events[0]["eventStatus"] == "cmpuishown", v.describe()
    assert all(e["eventStatus"] == "cmpuishown" for e in events), "no choice was made yet" + v.describe()
    assert events[0]["gdprApplies"] is True and events[0]["cmpStatus"] == "loaded", v.describe()
    check_no_consent(v, events[0]["tcString"], "before a choice")
    check_blocked(v, auction)
    assert EU_BEFORE_CHOICE[0] in "\n".join(v.prebid_log("WARNING")), v.describe()
    return v


def test_eu_before_a_choice(
    service: Service, publisher: Publisher, make_context: ContextFactory, prebid_build: PrebidBuild
) -> None:
    v = eu_visit_before_choice(make_context, service, publisher, prebid_build)
    # Another auction while the banner still waits: the same.
    check_blocked(v, v.run_auction())
    v.check_log(expected_warnings=EU_BEFORE_CHOICE)


def test_eu_after_accept_all(
    service: Service, publisher: Publisher, make_context: ContextFactory, prebid_build: PrebidBuild
) -> None:
    v = eu_visit_before_choice(make_context, service, publisher, prebid_build)
    event = v.choose("accept")
    tc = event["tcString"]
    decoded = decode_tc(tc)
    assert 1 in decoded["purpose_consents"] and 2 in decoded["purpose_consents"], decoded
    assert APPNEXUS in decoded["vendor_consents"] and decoded["cmp_id"] == CMP_ID, decoded
    mark = len(v.console)
    auction = v.run_auction()
    assert [b["bidder"] for b in auction["bids"]] == ["appnexus"], v.describe()
    denied = [w for w in v.prebid_log("WARNING", since=mark) if w.startswith("Activity control: TCF2 denied")]
    assert not denied, f"after Accept all, tcfControl still denies {denied}. {v.describe()}"
    body = v.one_request()
    # Exactly the TC string that addEventListener delivered, with GDPR applying.
    assert body.get("gdpr_consent") == {"consent_string": tc, "consent_required": True}, v.describe()
    [seen] = v.seen()["bidRequested"]
    assert seen["gdprConsent"]["consentString"] == tc and seen["gdprConsent"]["gdprApplies"] is True, v.describe()
    assert seen["regs"]["ext"]["gdpr"] == 1, v.describe()
    # GPP in GDPR territory: section 2 (tcfeuv2) only; USP does not apply.
    gpp = seen["regs"].get("gpp")
    assert seen["regs"].get("gpp_sid") == [2] and body.get("privacy") == {"gpp": gpp, "gpp_sid": [2]}, v.describe()
    assert decode_gpp(gpp)["header"]["SectionIds"] == [2], v.describe()
    assert body.get("us_privacy") == "1---", v.describe()
    # The service's own answer for the device carries the same string.
    token = device_token(v.page, v.page.context, service.origin)
    assert server_decision(service.origin, token, DE).get("tcf") == tc
    assert v.seen()["tcf2Enforcement"][-1]["biddersBlocked"] == [], v.describe()
    v.check_log(expected_warnings=EU_BEFORE_CHOICE)


def test_eu_after_reject_all(
    service: Service, publisher: Publisher, make_context: ContextFactory, prebid_build: PrebidBuild
) -> None:
    v = eu_visit_before_choice(make_context, service, publisher, prebid_build)
    event = v.choose("reject")
    # Reject all refuses every consent and objects to every legitimate interest.
    check_no_consent(v, event["tcString"], "after Reject all")
    check_blocked(v, v.run_auction())
    v.check_log(expected_warnings=EU_BEFORE_CHOICE)
