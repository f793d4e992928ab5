"""Partner webhooks as their author will try them (issue 7, docs/partners.md): the real
`consent-service serve` with two partners, each with a receiver of its own on 127.0.0.1. In Chromium,
one visitor opts out through the banner, a second on the page without JavaScript and a third sends
GPC; then the first deletes their data. The receivers must get the documented events, signed with
their partner's secret, never naming the device, and one partner whose receiver is down at first
gets its events once it is back up."""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, Response, expect

from consent_service.cli.redis_runner import EmbeddedRedis
from consent_service.core.identity import DeviceTokens
from consent_service.core.partner import SubjectKind, subject_id
from consent_service.partners.webhook import verify
from e2e.conftest import CA, PSEUDONYM_KEY, ROOT, SIGNING_KEY, ContextFactory, Service, new_page, wait_for
from e2e.helpers import GPC_HONORED, VIEWPORT, cs, wait_ready, wait_state

WAIT_S = 30.0  # the longest any one wait may take: a bound for a loaded box, not a speed claim
PAGE_WAIT_MS = 15_000
ADMIN_KEY = "e2e-admin-key-" + "z" * 32
SECRETS = {"adnet": "adnet-webhook-secret-" + "a" * 32, "metrics": "metrics-webhook-secret-" + "m" * 32}
SECRET_ENV = {"adnet": "E2E_ADNET_WEBHOOK_SECRET", "metrics": "E2E_METRICS_WEBHOOK_SECRET"}
# What docs/partners.md "Events: which and when" promises for this test's story (see the test's docstring).
EXPECTED = {
    "adnet": Counter({"opt_out": 2, "gpc": 1, "deletion": 1}),
    "metrics": Counter({"opt_out": 2, "deletion": 1}),
}
OPTED_OUT = "Your opt-out has been processed"


# ---- a partner's receiver --------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes  # raw, as received

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


class Receiver:
    """A partner's webhook endpoint on 127.0.0.1 that stores every request and answers 200. It is
    bound from the start, so its port stays ours, but listens only after `up()`: until then every
    connection is refused, as to a receiver that is down."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._got: list[Received] = []
        self._thread: threading.Thread | None = None
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler(), bind_and_activate=False)
        try:
            self.server.server_bind()
        except OSError:
            self.server.server_close()
            raise
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/{name}"

    def up(self) -> None:
        self.server.server_activate()
        self._thread = threading.Thread(target=self.server.serve_forever, name=f"receiver-{self.name}", daemon=True)
        self._thread.start()

    def received(self) -> list[Received]:
        with self._lock:
            return list(self._got)

    def events(self) -> dict[str, dict[str, Any]]:
        """Each event once, by id (delivery is at-least-once: a partner drops repeats)."""
        found: dict[str, dict[str, Any]] = {}
        for got in self.received():
            found.setdefault(got.event["id"], got.event)
        return found

    def types(self) -> Counter[str]:
        return Counter(event["type"] for event in self.events().values())

    def stop(self) -> None:
        if self._thread is not None:  # shutdown() waits for serve_forever: only once it runs
            self.server.shutdown()
            self._thread.join(WAIT_S)
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self, status: int) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {name.lower(): value for name, value in self.headers.items()}
                with receiver._lock:
                    receiver._got.append(Received(self.command, self.path, headers, body))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def do_POST(self) -> None:
                self._record(200)

            def do_GET(self) -> None:  # anything but a POST is recorded too, and refused
                self._record(405)

            do_PUT = do_GET

            def log_message(self, *args: Any) -> None:
                return

        return Handler


# ---- the service: `consent-service serve`, with its delivery worker ---------------------------------


class Serve(Service):
    """`consent-service serve` (conftest's `Service`) with the test's site configuration and an admin
    key. It starts the partner delivery worker as a process of its own; `stop()` checks that it ends
    with serve."""

    def __init__(self, tmp: Path, redis_url: str, config: Path, extra_env: dict[str, str]) -> None:
        self.worker_pid: int | None = None  # set before the start, whose failure stops serve
        env = {
            "CONSENT_ADMIN_KEYS": f"{ADMIN_KEY}:demo",
            "CONSENT_LOG_FORMAT": "text",
            "CONSENT_LOG_LEVEL": "info",  # the worker's retries, for the log shown on a failure
            **extra_env,
        }
        super().__init__(tmp, redis_url, command="serve", config=config, env=env, within=WAIT_S)
        try:
            line = wait_for(
                "serve to announce its delivery worker", self._worker_line, within=WAIT_S, describe=self.tail
            )
            self.worker_pid = int(line.split("(pid ", 1)[1].split(";", 1)[0])
        except BaseException:
            self.stop()
            raise

    def _worker_line(self) -> str | None:
        return next((line for line in self.log_lines() if line.startswith("Partner webhooks: worker running")), None)

    def admin(self, path: str, **params: str) -> dict[str, Any]:
        answer = httpx.get(
            f"{self.origin}{path}", params=params, headers={"authorization": f"Bearer {ADMIN_KEY}"}, timeout=15
        )
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def deliveries(self, **params: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.admin("/v1/admin/deliveries", site="demo", limit="1000", **params)[
            "deliveries"
        ]
        return found

    def stop(self) -> int | None:
        """SIGTERM to serve (Service.stop); then the worker must be gone too."""
        returncode = super().stop()
        pid = self.worker_pid
        if pid is not None:
            deadline = time.monotonic() + WAIT_S  # the worker also leaves by itself once serve is gone
            while _worker_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _worker_alive(pid):
                os.kill(pid, 9)  # our own worker (its command line was checked): never left behind
                pytest.fail(f"the delivery worker (pid {pid}) outlived serve by {WAIT_S:g} s")
            self.worker_pid = None
        return returncode


def _worker_alive(pid: int) -> bool:
    """Whether `pid` is still a running `consent_service.cli.main deliver` (not a zombie, not a reused pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return b"consent_service.cli.main" in cmdline and b"deliver" in cmdline and state != "Z"


# ---- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def receivers() -> Iterator[dict[str, Receiver]]:
    made: dict[str, Receiver] = {}
    try:
        for name in ("adnet", "metrics"):
            made[name] = Receiver(name)
        yield made
    finally:
        for receiver in made.values():
            receiver.stop()


def site_config(tmp: Path, receivers: dict[str, Receiver]) -> Path:
    """The bundled demo site with two partners: an ad network taking every event, and a measurement
    partner that takes part in analytics and advertising but wants no GPC events."""
    demo = (ROOT / "consent_service" / "config" / "demo_site.toml").read_text()
    partners = f"""
[[sites.partners]]
name = "adnet"
url = "{receivers["adnet"].url}"
purposes = ["advertising"]
secret_env = "{SECRET_ENV["adnet"]}"

[[sites.partners]]
name = "metrics"
url = "{receivers["metrics"].url}"
purposes = ["analytics", "advertising"]
events = ["opt_out", "deletion", "consent_withdrawn"]
secret_env = "{SECRET_ENV["metrics"]}"
"""
    path = tmp / "sites.toml"
    path.write_text(demo + partners)
    return path


@pytest.fixture
def serve(tmp_path: Path, e2e_redis: EmbeddedRedis, receivers: dict[str, Receiver]) -> Iterator[Serve]:
    env = {
        **{SECRET_ENV[name]: secret for name, secret in SECRETS.items()},
        # Quick retries, so a receiver that comes back is served within about a second.
        "CONSENT_DELIVERY_BACKOFF_S": "0.2",
        "CONSENT_DELIVERY_BACKOFF_CAP_S": "1",
        "CONSENT_DELIVERY_POLL_S": "0.1",
        # A first GPC sighting is written within the decision budget (default 100 ms); on a loaded
        # box that is sometimes missed, and then the banner asks again only a day later.
        "CONSENT_DECISION_TIMEOUT_MS": "2000",
    }
    service = Serve(tmp_path, e2e_redis.url, site_config(tmp_path, receivers), env)
    try:
        yield service
    finally:
        service.stop()


# ---- the browser side -------------------------------------------------------------------------------


def api_response(path: str, method: str = "GET") -> Callable[[Response], bool]:
    return lambda r: r.url.split("?")[0].endswith(path) and r.request.method == method


def page_for(context: Any) -> Page:
    page = new_page(context)
    page.set_default_timeout(PAGE_WAIT_MS)  # a loaded box: a bound, not a speed claim
    return page


def cookie(context: Any, origin: str, name: str = "cs_device_demo") -> str:
    value = next((c["value"] for c in context.cookies(origin) if c["name"] == name), None)
    assert value, f"the browser holds no {name} cookie for {origin}"
    return str(value)


# ---- the test ----------------------------------------------------------------------------------------


def test_partners_get_signed_opt_outs_gpc_and_deletions(
    serve: Serve, receivers: dict[str, Receiver], make_context: ContextFactory
) -> None:
    """docs/partners.md: an opt-out (sale/share refused in an opt_out region) goes to partners with that
    purpose; a first GPC signal to partners with a sale/share purpose; a deletion to every partner; a
    partner's `events` limits what it gets. Here: adnet (advertising, every event) gets both opt-outs,
    the GPC signal and the deletion; metrics (analytics and advertising, no `gpc` in its events) gets
    both opt-outs and the deletion. GPC alone records no choice, so it makes no opt_out event, and
    nothing granted is withdrawn, so there is no consent_withdrawn."""
    adnet, metrics = receivers["adnet"], receivers["metrics"]
    adnet.up()  # metrics stays down until its events have failed a few times
    origin = serve.origin

    # 1. The banner's Do Not Sell button, on the demo page in California. `?region=` sets the region
    # only with the bundled configuration (demo.py); with this file the CDN headers (CA) set it.
    banner = make_context(region=CA, viewport=VIEWPORT)
    page = page_for(banner)
    with page.expect_response(api_response("/v1/sites/demo/experience"), timeout=PAGE_WAIT_MS) as seen:
        page.goto(f"{origin}/demo?region=US-CA")
    experience = seen.value.json()
    st = wait_ready(page)
    assert (st["regime"], st["region"]) == ("opt_out", "US-CA"), st
    with page.expect_response(api_response("/v1/opt-out", "POST"), timeout=PAGE_WAIT_MS) as posted:
        cs(page, "optout").click()
    assert posted.value.ok, posted.value.text()
    opted = posted.value.json()
    expect(cs(page, "status")).to_contain_text(OPTED_OUT, timeout=PAGE_WAIT_MS)
    wait_state(page, "s => !s.pending")
    # The page learns each partner's id of the device from any answer carrying its token: here the
    # opt-out's (a first visit without GPC stores nothing, so its experience answer names no device).
    partner_ids = opted["partner_ids"]
    if "device" in experience:
        assert experience["partner_ids"] == partner_ids, "the device's partner ids changed between two answers"
    again = page.evaluate("() => fetch('/v1/sites/demo/experience').then((r) => r.json())")
    assert again["device"] == opted["device"] and again["partner_ids"] == partner_ids, again
    assert set(partner_ids) == {"adnet", "metrics"} and partner_ids["adnet"] != partner_ids["metrics"]
    token1 = cookie(banner, origin)

    # 2. The opt-out page with JavaScript off.
    no_js = make_context(region=CA, java_script_enabled=False, viewport=VIEWPORT)
    page2 = page_for(no_js)
    page2.goto(f"{origin}/privacy/demo/opt-out")
    with page2.expect_navigation():
        page2.locator("#opt-out").click()
    expect(page2.locator("#status")).to_contain_text(OPTED_OUT, timeout=PAGE_WAIT_MS)
    token2 = cookie(no_js, origin)

    # 3. A browser sending GPC (the header and navigator.globalPrivacyControl) loads the demo page.
    gpc = make_context(region=CA, gpc=True, viewport=VIEWPORT)
    page3 = page_for(gpc)
    with page3.expect_response(api_response("/v1/sites/demo/experience"), timeout=PAGE_WAIT_MS) as seen3:
        page3.goto(f"{origin}/demo?region=US-CA")
    answer3 = seen3.value.json()
    assert answer3["gpc"] is True
    assert "device" in answer3, "the first GPC sighting was not recorded (no device issued): no gpc event can follow"
    st3 = wait_ready(page3)
    assert st3["gpc"] is True and st3["decisions"]["advertising"] == {"allowed": False, "reason": "gpc"}, st3
    page3.evaluate("() => window.consentService.open()")
    expect(cs(page3, "gpc")).to_contain_text(GPC_HONORED, timeout=PAGE_WAIT_MS)
    token3 = cookie(gpc, origin)

    # 4. The first visitor deletes their data on the "your data" page.
    page.goto(f"{origin}/privacy/demo/data")
    with page.expect_navigation():
        page.locator("#delete").click()
    expect(page.locator("#status")).to_be_visible(timeout=PAGE_WAIT_MS)
    expect(page.locator("#tombstone")).to_be_visible(timeout=PAGE_WAIT_MS)

    # adnet's receiver is up: its four events arrive.
    wait_for(
        f"adnet to receive {dict(EXPECTED['adnet'])}",
        lambda: adnet.types() == EXPECTED["adnet"],
        within=WAIT_S,
        describe=lambda: f"adnet got {dict(adnet.types())}. {serve.tail()}",
    )

    # metrics is down: its three events are retried (refused connections), none is lost or dead.
    def retried_while_down() -> list[dict[str, Any]] | None:
        pending = serve.deliveries(partner="metrics", status="pending")
        ok = len(pending) == 3 and all(d["attempts"] >= 2 and d["last_result"] == "connect error" for d in pending)
        return pending if ok else None

    down = wait_for(
        "metrics's 3 events to fail at least twice each while its receiver is down",
        retried_while_down,
        within=WAIT_S,
        describe=lambda: f"pending for metrics: {serve.deliveries(partner='metrics', status='pending')}",
    )
    assert Counter(d["type"] for d in down) == EXPECTED["metrics"]
    assert metrics.received() == [] and serve.deliveries(status="dead") == []

    # Back up: they arrive, and every delivery is listed as delivered.
    metrics.up()
    wait_for(
        f"metrics to receive {dict(EXPECTED['metrics'])} once its receiver is back up",
        lambda: metrics.types() == EXPECTED["metrics"],
        within=WAIT_S,
        describe=lambda: f"metrics got {dict(metrics.types())}. {serve.tail()}",
    )

    def all_delivered() -> list[dict[str, Any]] | None:
        found = serve.deliveries(status="delivered")
        return found if len(found) >= 7 else None

    delivered = wait_for(
        "the admin API to list all 7 deliveries as delivered",
        all_delivered,
        within=WAIT_S,
        describe=lambda: f"listed: {serve.deliveries()}",
    )
    assert serve.deliveries(status="pending") == [] and serve.deliveries(status="dead") == []

    # ---- what arrived -------------------------------------------------------------------------------
    assert adnet.types() == EXPECTED["adnet"] and metrics.types() == EXPECTED["metrics"]
    for name, receiver in receivers.items():
        listed = {(d["event_id"], d["type"]) for d in delivered if d["partner"] == name}
        assert listed == {(e["id"], e["type"]) for e in receiver.events().values()}, name
    assert all(d["status"] == "delivered" and d["last_result"] == "200" for d in delivered), delivered
    assert all(d["attempts"] >= 3 for d in delivered if d["partner"] == "metrics"), delivered

    # Every request: a signed POST to the configured URL, its event id in the header too.
    now = time.time()
    for name, receiver in receivers.items():
        other = SECRETS["metrics" if name == "adnet" else "adnet"].encode()
        for got in receiver.received():
            event = got.event
            assert (got.method, got.path) == ("POST", f"/hooks/{name}")
            assert got.headers["content-type"] == "application/json"
            assert got.headers["consent-event-id"] == event["id"]
            assert got.headers["user-agent"].startswith("consent-service/")
            signature = got.headers["consent-signature"]
            assert verify(SECRETS[name].encode(), signature, got.body, now), (name, signature)
            assert not verify(other, signature, got.body, now), "another partner's secret verified"
            middle = len(got.body) // 2
            tampered = got.body[:middle] + bytes([got.body[middle] ^ 0x01]) + got.body[middle + 1 :]
            assert not verify(SECRETS[name].encode(), signature, tampered, now), "a changed body verified"
            assert list(event) == ["id", "type", "site", "time", "subject", "gpp", "gpp_sid", "usp", "gpc",
                                   "purposes", "attempt"]  # fmt: skip
            assert event["site"] == "demo" and set(event["purposes"]) <= {"analytics", "advertising"}

    # The subjects: each partner's own pseudonym of the device, never the device itself.
    tokens = DeviceTokens((SIGNING_KEY,), max_age_s=86_400)
    devices = []
    for token in (token1, token2, token3):
        verified = tokens.verify(token, "demo")
        assert verified is not None, "the browser's cs_device_demo cookie is not a device token"
        devices.append(verified.device_id)
    device1, device2, device3 = devices
    user_agent = page.evaluate("() => navigator.userAgent")
    now_held = [
        c["value"] for ctx in (banner, no_js, gpc) for c in ctx.cookies(origin) if c["name"] == "cs_device_demo"
    ]
    private = [token1, token2, token3, opted["device"], again["device"], *now_held, *devices, user_agent, "127.0.0.1"]
    for receiver in receivers.values():
        for got in receiver.received():
            for leak in private:
                assert leak.encode() not in got.body, (
                    f"{receiver.name} received a device token or id, an address or a UA"
                )

    def pseudonym(partner: str, device: str) -> str:
        return subject_id(PSEUDONYM_KEY.encode(), "demo", partner, SubjectKind.DEVICE, device)

    assert partner_ids == {"adnet": pseudonym("adnet", device1), "metrics": pseudonym("metrics", device1)}

    def by_time(receiver: Receiver, kind: str) -> list[dict[str, Any]]:
        return sorted((e for e in receiver.events().values() if e["type"] == kind), key=lambda e: e["time"])

    for name, receiver in receivers.items():
        first, second = by_time(receiver, "opt_out")
        assert first["subject"] == {"type": "device", "id": partner_ids[name]}, "not the id the page was given"
        assert second["subject"] == {"type": "device", "id": pseudonym(name, device2)}
        for event in (first, second):
            assert event["usp"] == "1YYN" and event["gpc"] is False and event["purposes"] == {"advertising": False}
            assert event["gpp"] and event["gpp_sid"], event
        [deletion] = by_time(receiver, "deletion")
        assert deletion["subject"] == first["subject"], "a deletion must name the subject its opt-out named"
    [gpc_event] = by_time(adnet, "gpc")
    assert gpc_event["subject"] == {"type": "device", "id": pseudonym("adnet", device3)}
    assert gpc_event["gpc"] is True and gpc_event["usp"] == "1YYN"
    # Each event has one id, the same for every partner it went to.
    for kind in ("opt_out", "deletion"):
        assert {e["id"] for e in by_time(adnet, kind)} == {e["id"] for e in by_time(metrics, kind)}, kind

    # serve stops cleanly on SIGTERM, and takes its delivery worker with it.
    assert serve.stop() == 0, serve.tail()
