"""Partner webhooks (delivery.py): real Redis, real HTTP receivers on 127.0.0.1, events made through
the real API. Receivers are small threaded HTTP servers started here and closed after each test.

Waits are bounded by generous deadlines and polled (a loaded 2-core machine must not fail them);
timing assertions are lower bounds only (a retry never comes before its backoff)."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import itertools
import json
import logging
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from consent_service.cli import main as cli
from consent_service.config.settings import SettingsError, settings_from_env
from consent_service.config.sites import parse_sites
from consent_service.core.iab import decode_gpp
from consent_service.core.identity import DeviceTokens
from consent_service.core.site import SiteConfig
from consent_service.partners.delivery import Policy, Worker, backoff_ms, outcome_for
from consent_service.partners.webhook import EVENT_ID_HEADER, SIGNATURE_HEADER, sign, verify
from consent_service.store import Lifetimes, Store
from consent_service.store.outbox import Claimed, Delivery, Status
from consent_service.store.trail import KEY_VERSION
from tests.conftest import CA, DE, TEST_KEYS, AppFactory
from tests.serving import Served
from tests.test_accounts import ACCOUNT, AUTH, KEY

BOUND_S = 30.0  # the longest any wait here may take: a bound, never a speed claim
ADCO_SECRET = "adco-secret-" + "a" * 32
MEASURE_SECRET = "measure-secret-" + "m" * 32
LIFETIMES = Lifetimes(record_ttl_ms=400 * 86_400_000, retention_ms=750 * 86_400_000)
# Small values so a test takes seconds: a call times out after 1 s, a lease lasts 4 s (an HTTP call
# plus a store write of 2 s plus the margin), idle workers look every 0.1 s.
FAST = Policy(timeout_s=1.0, lease_s=4.0, poll_s=0.1, backoff_s=0.1, backoff_cap_s=0.4, max_age_s=120.0)
OPTED_OUT_GPP = "DBABLA~CVQVAAAAAACA.QA"  # usnat: the sale/sharing/targeting opt-outs 1, GPC 0
GPC_GPP = "DBABLA~CVQVAAAAAACA.YA"  # the same with GPC 1 (DESIGN.md's vector)


def shop_toml(
    adco_url: str,
    measure_url: str,
    *,
    partners: tuple[str, ...] = ("adco", "measure"),
    default_region: str | None = "US-CA",
) -> str:
    """A US shop: advertising is sold/shared, analytics is not. Two partners: `adco` (advertising,
    its secret from the environment) and `measure` (analytics and advertising, an inline secret)."""
    text = """
[[sites]]
id = "shop"
"""
    if default_region is not None:
        text += f'default_region = "{default_region}"\n'
    text += """

[[sites.purposes]]
id = "necessary"
kind = "necessary"
[sites.purposes.text.en]
label = "Needed"

[[sites.purposes]]
id = "analytics"
kind = "analytics"
[sites.purposes.text.en]
label = "Statistics"

[[sites.purposes]]
id = "advertising"
kind = "advertising"
sale_share = true
[sites.purposes.text.en]
label = "Ads"
"""
    if "adco" in partners:
        text += f"""
[[sites.partners]]
name = "adco"
url = "{adco_url}"
purposes = ["advertising"]
secret_env = "ADCO_SECRET"
"""
    if "measure" in partners:
        text += f"""
[[sites.partners]]
name = "measure"
url = "{measure_url}"
purposes = ["analytics", "advertising"]
secret = "{MEASURE_SECRET}"
"""
    return text


SECRETS = {"/adco": ADCO_SECRET.encode(), "/measure": MEASURE_SECRET.encode()}


# ---- receivers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float  # time.monotonic() on arrival
    wall_ms: int  # time.time() on arrival, in ms: comparable with the outbox's scores
    valid: bool  # the signature verified with the path's partner secret

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]

    @property
    def event_id(self) -> str:
        return str(self.json["id"])


Answer = Callable[[Received, int], int]  # (the request, how many came before it) -> status


class Receiver:
    """A partner's endpoint on 127.0.0.1: records every request, answers with `answer`'s status; can
    hold requests (a hung partner), or be bound but not listening (a partner that is down)."""

    def __init__(self, answer: Answer | None = None, *, listening: bool = True, location: str = "") -> None:
        self.answer = answer or (lambda received, n: 200 if received.valid else 401)
        self.location = location
        self.received: list[Received] = []
        self.overlaps: list[tuple[str, str]] = []  # (path, event id) seen in flight twice at once
        self.holding = threading.Event()  # set: hold each request until released
        self.held = threading.Event()  # set once a request is being held
        self._lock = threading.Lock()
        self._inflight: Counter[tuple[str, str]] = Counter()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler(), bind_and_activate=False)
        self._server.daemon_threads = True
        self._server.server_bind()
        self._thread: threading.Thread | None = None
        self.port = int(self._server.server_address[1])
        if listening:
            self.listen()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def listen(self) -> None:
        self._server.server_activate()
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.start()

    def release(self) -> None:
        self.holding.clear()

    def close(self) -> None:
        self.release()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(BOUND_S)
        self._server.server_close()

    def by_path(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def _handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
        secret = SECRETS.get(path, b"")
        valid = verify(secret, headers.get(SIGNATURE_HEADER.lower(), ""), body, time.time())
        received = Received(path, headers, body, time.monotonic(), time.time_ns() // 1_000_000, valid)
        key = (path, headers.get(EVENT_ID_HEADER.lower(), ""))
        with self._lock:
            n = len(self.received)
            self.received.append(received)
            self._inflight[key] += 1
            if self._inflight[key] > 1:
                self.overlaps.append(key)
        try:
            while self.holding.is_set():
                self.held.set()
                time.sleep(0.02)
            status = self.answer(received, n)
        finally:
            with self._lock:
                self._inflight[key] -= 1
        return status, ({"location": self.location} if self.location else {})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                try:
                    body = self.rfile.read(int(self.headers.get("content-length") or 0))
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    status, extra = receiver._handle(self.path, headers, body)
                    self.send_response(status)
                    for name, value in extra.items():
                        self.send_header(name, value)
                    self.send_header("content-length", "0")
                    self.end_headers()
                except OSError:  # the worker went away (killed, timed out): nothing to answer
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def factory(answer: Answer | None = None, **kwargs: Any) -> Receiver:
        made.append(Receiver(answer, **kwargs))
        return made[-1]

    yield factory
    for receiver in made:
        receiver.close()


# ---- workers in threads, and the store from the test's thread -----------------------------------


class WorkerThread:
    """A Worker on its own event loop in a thread, with its own Redis connections and HTTP client: what
    another process or replica would have."""

    def __init__(self, redis_url: str, sites: SiteConfig, policy: Policy) -> None:
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._worker: Worker | None = None
        self._thread = threading.Thread(
            target=self._loop.run_until_complete, args=(self._main(redis_url, sites, policy),)
        )
        self._thread.start()
        assert self._started.wait(BOUND_S)

    async def _main(self, redis_url: str, sites: SiteConfig, policy: Policy) -> None:
        store = Store.from_url(redis_url, LIFETIMES, timeout_s=policy.store_timeout_s)
        self._worker = Worker(store.outbox, sites.sites, policy)
        self._started.set()
        try:
            await self._worker.run()
        finally:
            await store.close()

    def stop(self) -> None:
        if self._thread.is_alive():
            assert self._worker is not None
            self._loop.call_soon_threadsafe(self._worker.stop)
            self._thread.join(BOUND_S)
            assert not self._thread.is_alive(), "the worker did not stop"
        if not self._loop.is_closed():
            self._loop.close()


@pytest.fixture
def start_worker(redis_url: str) -> Iterator[Callable[..., WorkerThread]]:
    started: list[WorkerThread] = []

    def factory(sites: SiteConfig, policy: Policy = FAST) -> WorkerThread:
        started.append(WorkerThread(redis_url, sites, policy))
        return started[-1]

    yield factory
    for worker in started:
        worker.stop()


def in_store(redis_url: str, use: Callable[[Store], Coroutine[Any, Any, Any]]) -> Any:
    async def run() -> Any:
        store = Store.from_url(redis_url, LIFETIMES, timeout_s=5.0)
        try:
            return await use(store)
        finally:
            await store.close()

    return asyncio.run(run())


def listing(redis_url: str, status: Status, partner: str | None = None) -> list[Delivery]:
    found = in_store(
        redis_url, lambda store: store.outbox.listing("shop", status, partner=partner, limit=1000, timeout_s=5.0)
    )
    return list(found)


def wait_for(what: str, check: Callable[[], Any], bound_s: float = BOUND_S) -> Any:
    deadline = time.monotonic() + bound_s
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"waited {bound_s:g} s for {what}")
        time.sleep(0.05)


@pytest.fixture
def shop(monkeypatch: pytest.MonkeyPatch, make_client: AppFactory) -> Callable[..., tuple[TestClient, SiteConfig]]:
    """The service (TestClient, real Redis) and the parsed config for partners at the given URLs."""
    monkeypatch.setenv("ADCO_SECRET", ADCO_SECRET)

    def factory(adco_url: str, measure_url: str, **kwargs: Any) -> tuple[TestClient, SiteConfig]:
        toml = shop_toml(adco_url, measure_url, **kwargs)
        return make_client(toml, admin_keys=((KEY, frozenset({"shop"})),)), parse_sites(toml, source="<test>")

    return factory


ROOT = Path(__file__).resolve().parent.parent


def documented_verifiers() -> list[Callable[[bytes, str, bytes], bool]]:
    """The Python verification examples partners are given: docs/partners.md's and the README's."""
    found = []
    for doc, section, name in [
        ("docs/partners.md", "## Verifying the signature", "verify_consent_signature"),
        ("README.md", "## Partners (webhooks)", "verify"),
    ]:
        text = (ROOT / doc).read_text().split(section, 1)[1]
        code = text.split("```python\n", 1)[1].split("```", 1)[0]
        namespace: dict[str, Any] = {}
        exec(code, namespace)
        found.append(namespace[name])
    return found


def opt_out(client: TestClient) -> str:
    """A new visitor in California clicks "Do Not Sell or Share": returns its device token."""
    client.cookies.clear()
    answer = client.post("/v1/opt-out", json={"site": "shop"}, headers=CA)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["device"])


# ---- signing (no Redis) -------------------------------------------------------------------------


def test_signature_is_hmac_sha256_of_timestamp_and_body() -> None:
    body = b'{"id":"e1"}'
    header = sign(b"s" * 32, 1_700_000_000, body)
    expected = hmac.new(b"s" * 32, b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert verify(b"s" * 32, header, body, now=1_700_000_000)
    assert verify(b"s" * 32, f"{header},v1=00", body, now=1_700_000_100)  # several v1 (a rotation): any


SIGNED = sign(b"s" * 32, 1_700_000_000, b'{"id":"e1"}')


@pytest.mark.parametrize(
    ("secret", "header", "body", "now"),
    [
        (b"s" * 32, SIGNED, b'{"id":"e2"}', 1_700_000_000),  # another body
        (b"t" * 32, SIGNED, b'{"id":"e1"}', 1_700_000_000),  # another secret
        (b"s" * 32, SIGNED, b'{"id":"e1"}', 1_700_000_301),  # too old: a captured request replayed
        (b"s" * 32, SIGNED, b'{"id":"e1"}', 1_699_999_699),  # from the future
        (b"s" * 32, SIGNED.replace("t=1700000000", "t=1700000001"), b'{"id":"e1"}', 1_700_000_000),
        (b"s" * 32, "t=1700000000,v1=", b'{"id":"e1"}', 1_700_000_000),  # no MAC
        (b"s" * 32, SIGNED.partition(",")[2], b'{"id":"e1"}', 1_700_000_000),  # no timestamp
        (b"s" * 32, "garbage", b'{"id":"e1"}', 1_700_000_000),
    ],
)
def test_verify_refuses(secret: bytes, header: str, body: bytes, now: int) -> None:
    assert verify(b"s" * 32, SIGNED, b'{"id":"e1"}', 1_700_000_000)  # the unchanged original passes
    assert not verify(secret, header, body, now)


def test_t_is_ascii_digits_only_and_any_v1_may_be_the_right_one() -> None:
    """verify() and the docs' examples alike: `t` is 1 to 12 ASCII digits (anything else is refused,
    never an exception: `"²".isdigit()` is True and int("²") raises); several `v1` (a secret being
    rotated) pass when any one of them is right, wherever it stands."""
    secret, body, now = b"s" * 32, b'{"id":"e1"}', int(time.time())
    mac = sign(secret, now, body).partition(",v1=")[2]
    wide = str(now).translate(str.maketrans("0123456789", "０１２３４５６７８９"))  # int(wide) == now
    checks = [lambda s, h, b: verify(s, h, b, time.time()), *documented_verifiers()]
    for check in checks:
        assert check(secret, f"t={now},v1={'0' * 64},v1={mac},v1={'f' * 64}", body)
        assert not check(secret, f"t={now},v1={'0' * 64},v1={'f' * 64}", body)
        for t in ("²", "²" * 10, wide, "1" * 13, "-1", " 1", ""):
            assert not check(secret, f"t={t},v1={mac}", body), t


def claimed(attempts: int, *, created_ms: int = 1_000_000, replayed_ms: int | None = None) -> Claimed:
    fields = {"ev": "e.opt_out", "ty": "opt_out", "pt": "adco", "sub": "x", "sk": "device", "t": str(created_ms)}
    state: dict[str, Any] = {"n": attempts, **({"rp": replayed_ms} if replayed_ms else {})}
    return Claimed("shop", 1, "1-0", fields, state, "token")


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    policy = Policy(backoff_s=30, backoff_cap_s=3600)
    rng = random.Random(7)
    for attempts, full in [(1, 30), (2, 60), (3, 120), (7, 1920), (8, 3600), (500, 3600)]:
        for _ in range(50):
            assert full * 500 <= backoff_ms(attempts, policy, rng) <= full * 1000


def test_retries_for_the_whole_window_then_dead() -> None:
    policy = Policy(max_age_s=72 * 3600)
    rng = random.Random(1)
    created = 1_000_000
    assert outcome_for(claimed(0), "200", created + 5, policy, rng) == ("delivered", 0)
    outcome, next_ms = outcome_for(claimed(3), "503", created + 1000, policy, rng)  # the 4th attempt failed
    assert outcome == "retry" and created + 1000 + 120_000 <= next_ms <= created + 1000 + 240_000
    last_hour = created + 71 * 3_600_000
    assert outcome_for(claimed(40), "timeout", last_hour, policy, rng)[0] == "retry"
    assert outcome_for(claimed(41), "timeout", created + 72 * 3_600_000 + 1, policy, rng) == ("dead", 0)
    # A replay opens a new window from when it was made.
    replayed = claimed(41, replayed_ms=created + 80 * 3_600_000)
    assert outcome_for(replayed, "connect error", created + 81 * 3_600_000, policy, rng)[0] == "retry"
    for result in ("redirect 302", "404", "500", "connect error", "error RemoteProtocolError"):
        assert outcome_for(claimed(0), result, created, policy, rng)[0] == "retry"


def test_a_lease_shorter_than_a_call_and_its_write_is_refused() -> None:
    with pytest.raises(SettingsError, match="CONSENT_DELIVERY_LEASE_S"):
        settings_from_env({"CONSENT_DELIVERY_TIMEOUT_S": "30", "CONSENT_DELIVERY_LEASE_S": "31"})
    with pytest.raises(ValueError, match="lease"):
        Policy(timeout_s=10, lease_s=12, store_timeout_s=2)
    assert settings_from_env({"CONSENT_DELIVERY_LEASE_S": "13"}).delivery_lease_s == 13
    with pytest.raises(SettingsError, match="CONSENT_DELIVERY_BACKOFF_CAP_S"):
        settings_from_env({"CONSENT_DELIVERY_BACKOFF_S": "60", "CONSENT_DELIVERY_BACKOFF_CAP_S": "30"})
    with pytest.raises(SettingsError, match="CONSENT_DELIVERY_POLL_S"):
        settings_from_env({"CONSENT_DELIVERY_POLL_S": "soon"})


def test_deliver_needs_the_services_redis(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("CONSENT_LOG_LEVEL", "warning")
    assert cli.main(["deliver"]) == 2
    assert "REDIS_URL" in capsys.readouterr().err
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:9/0")  # never reached: the demo site has no partners
    assert cli.main(["deliver"]) == 2
    assert "no site has [[sites.partners]]" in capsys.readouterr().err


# ---- deliveries, against real Redis -------------------------------------------------------------


def test_each_partner_gets_a_signed_body_with_its_own_pseudonym(
    redis_url: str, receivers: Callable[..., Receiver], shop: Any, start_worker: Callable[..., WorkerThread]
) -> None:
    receiver = receivers()
    client, sites = shop(receiver.url("/adco"), receiver.url("/measure"))
    token = opt_out(client)
    start_worker(sites)
    adco = wait_for("adco's delivery", lambda: receiver.by_path("/adco"))
    measure = wait_for("measure's delivery", lambda: receiver.by_path("/measure"))
    assert adco[0].valid and measure[0].valid
    a, m = adco[0].json, measure[0].json
    assert list(a) == ["id", "type", "site", "time", "subject", "gpp", "gpp_sid", "usp", "gpc", "purposes", "attempt"]
    assert a["id"] == m["id"] and a["type"] == "opt_out" and a["site"] == "shop" and a["attempt"] == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", a["time"])
    assert a["subject"]["type"] == "device" and re.fullmatch(r"[0-9a-f]{32}", a["subject"]["id"])
    assert a["subject"]["id"] != m["subject"]["id"]  # partners cannot join their data on it
    assert (a["gpp"], a["gpp_sid"], a["usp"], a["gpc"]) == (OPTED_OUT_GPP, [7], "1YYN", False)
    assert a["purposes"] == {"advertising": False}
    assert m["purposes"] == {"advertising": False}  # analytics was never chosen: not reported
    # Nothing that leads back to the browser: not the token, not the device id inside it.
    verified = DeviceTokens(TEST_KEYS.signing, max_age_s=86_400).verify(token, "shop")
    assert verified is not None
    for got in (adco[0], measure[0]):
        sent = got.body + json.dumps(got.headers).encode()
        assert token.encode() not in sent and verified[0].encode() not in sent
        assert got.headers[EVENT_ID_HEADER.lower()] == a["id"]
        assert got.headers["content-type"] == "application/json"
        assert got.headers["user-agent"].startswith("consent-service/")
    # A tampered body, another partner's secret, or the same request much later: refused.
    header = adco[0].headers[SIGNATURE_HEADER.lower()]
    assert not verify(ADCO_SECRET.encode(), header, adco[0].body.replace(b"false", b"true "), time.time())
    assert not verify(MEASURE_SECRET.encode(), header, adco[0].body, time.time())
    assert not verify(ADCO_SECRET.encode(), header, adco[0].body, time.time() + 301)
    # What the docs tell partners to run accepts the delivery and refuses it once changed.
    for check in documented_verifiers():
        assert check(ADCO_SECRET.encode(), header, adco[0].body)
        assert not check(ADCO_SECRET.encode(), header, adco[0].body.replace(b"false", b"true "))
        assert not check(MEASURE_SECRET.encode(), header, adco[0].body)
    done = wait_for(
        "both settled", lambda: len(listing(redis_url, "delivered")) == 2 and listing(redis_url, "delivered")
    )
    assert {(d.partner, d.attempts, d.last_result) for d in done} == {("adco", 1, "200"), ("measure", 1, "200")}


def test_every_kind_of_change_reaches_the_partners_concerned(
    redis_url: str, receivers: Callable[..., Receiver], shop: Any, start_worker: Callable[..., WorkerThread]
) -> None:
    receiver = receivers()
    client, sites = shop(receiver.url("/adco"), receiver.url("/measure"))
    client.cookies.clear()  # the banner's "Reject all"
    assert client.post("/v1/consent", json={"site": "shop", "action": "reject_all"}, headers=CA).status_code == 200
    client.cookies.clear()  # the page that works without JavaScript
    page = client.get("/privacy/shop/opt-out", headers=CA)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    assert client.post("/privacy/shop/opt-out", data={"csrf": csrf[1], "lang": "en"}, headers=CA).status_code == 200
    client.cookies.clear()  # analytics granted, then withdrawn: only `measure` takes part in analytics
    custom = {"site": "shop", "action": "custom"}
    assert client.post("/v1/consent", json={**custom, "choices": {"analytics": True}}, headers=CA).status_code == 200
    assert client.post("/v1/consent", json={**custom, "choices": {"analytics": False}}, headers=CA).status_code == 200
    client.cookies.clear()  # a browser sending GPC, then deleting its data
    gpc = client.get("/v1/decision?site=shop&purpose=advertising", headers={**CA, "Sec-GPC": "1"})
    device = gpc.json()["device"]
    assert client.delete("/v1/me?site=shop", headers={"X-Consent-Device": device}).status_code == 200
    start_worker(sites)

    def types(path: str) -> list[str]:
        return sorted(r.json["type"] for r in receiver.by_path(path))

    expected = ["deletion", "gpc", "opt_out", "opt_out"]
    wait_for(
        "every event",
        lambda: types("/adco") == expected and types("/measure") == sorted([*expected, "consent_withdrawn"]),
    )
    assert all(r.valid for r in receiver.received)
    for path in ("/adco", "/measure"):
        by_type = {r.json["type"]: r.json for r in receiver.by_path(path)}
        assert (by_type["gpc"]["gpp"], by_type["gpc"]["usp"], by_type["gpc"]["gpc"]) == (GPC_GPP, "1YYN", True)
        # The deletion names the same pseudonym as the GPC signal before it: the partner can find it.
        assert by_type["deletion"]["subject"] == by_type["gpc"]["subject"]
    withdrawn = next(r.json for r in receiver.by_path("/measure") if r.json["type"] == "consent_withdrawn")
    assert withdrawn["purposes"] == {"analytics": False}
    assert (withdrawn["usp"], withdrawn["gpc"]) == ("1YNN", False)  # not an opt-out of sale


def granted(client: TestClient) -> tuple[str, dict[str, str]]:
    """A new visitor in California allows analytics (and chooses nothing about advertising): its
    device token and each partner's id of it."""
    client.cookies.clear()
    body = {"site": "shop", "action": "custom", "choices": {"analytics": True}}
    answer = client.post("/v1/consent", json=body, headers=CA)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["device"]), dict(answer.json()["partner_ids"])


def link(client: TestClient, device: str) -> None:
    body = {"site": "shop", "account_id": ACCOUNT, "device": device}
    answer = client.post("/v1/admin/accounts/link", json=body, headers=AUTH)
    assert answer.status_code == 200, answer.text


def wait_for_types(receiver: Receiver, expected: dict[str, list[str]]) -> dict[str, list[dict[str, Any]]]:
    """Wait until each path has received exactly the event types listed; their bodies, by path."""

    def types(path: str) -> list[str]:
        return sorted(r.json["type"] for r in receiver.by_path(path))

    wait_for(f"the events {expected}", lambda: all(types(path) == sorted(want) for path, want in expected.items()))
    assert all(r.valid for r in receiver.received)
    return {path: [r.json for r in receiver.by_path(path)] for path in expected}


def test_an_account_opt_out_tells_us_opt_outs_for_the_account_and_its_devices(
    receivers: Callable[..., Receiver], shop: Any, start_worker: Callable[..., WorkerThread]
) -> None:
    """An agent opts an account out: the account's event (US strings: it has no region), one for the
    device linked then, one for a device linked later, and a deletion of the first device afterwards
    all say opted out (`ao`), although neither device refused anything itself."""
    receiver = receivers()
    client, sites = shop(receiver.url("/adco"), receiver.url("/measure"))
    phone, phone_ids = granted(client)
    link(client, phone)
    agent = {"site": "shop", "account_id": ACCOUNT, "type": "opt_out", "agent": "Permission Slip", "reference": "r-1"}
    assert client.post("/v1/admin/agent-requests", json=agent, headers=AUTH).status_code == 200
    tablet, tablet_ids = granted(client)
    link(client, tablet)  # linked to an account that had opted out: named to the partners now
    client.cookies.clear()
    assert client.delete("/v1/me?site=shop", headers={"X-Consent-Device": phone}).status_code == 200
    start_worker(sites)
    expected = ["deletion", "opt_out", "opt_out", "opt_out"]
    bodies = wait_for_types(receiver, {"/adco": expected, "/measure": expected})
    for path, name in (("/adco", "adco"), ("/measure", "measure")):
        got = bodies[path]
        (account,) = [b for b in got if b["subject"]["type"] == "account"]
        assert account["type"] == "opt_out" and re.fullmatch(r"[0-9a-f]{32}", account["subject"]["id"])
        assert (account["usp"], account["gpp_sid"], account["gpc"]) == ("1YYN", [7], False)
        usnat = decode_gpp(account["gpp"])["usnat"]
        assert isinstance(usnat, dict)
        assert (usnat["SaleOptOut"], usnat["SharingOptOut"], usnat["TargetedAdvertisingOptOut"]) == (1, 1, 1)
        assert account["purposes"] == {"advertising": False}
        devices = [b for b in got if b["subject"]["type"] == "device"]
        # The phone's opt-out (the account's fan-out), the tablet's (at its link), the phone's deletion:
        # each by this partner's id of the device, each with the opted-out strings.
        assert sorted((b["type"], b["subject"]["id"]) for b in devices) == sorted(
            [("opt_out", phone_ids[name]), ("opt_out", tablet_ids[name]), ("deletion", phone_ids[name])]
        )
        assert {(b["gpp"], b["usp"]) for b in devices} == {(OPTED_OUT_GPP, "1YYN")}
        (deletion,) = [b for b in devices if b["type"] == "deletion"]
        assert deletion["purposes"] == {}  # the phone itself refused nothing: only `ao` opts it out
    # `measure` also takes analytics: the tablet's own grant is reported next to the account's refusal.
    (tablet_event,) = [b for b in bodies["/measure"] if b["subject"]["id"] == tablet_ids["measure"]]
    assert tablet_event["purposes"] == {"analytics": True, "advertising": False}


def test_outside_the_us_events_carry_no_us_strings(
    receivers: Callable[..., Receiver], shop: Any, start_worker: Callable[..., WorkerThread]
) -> None:
    """The decision's region rule: a device in Germany (opt_in) withdrawing its consent, and a device
    with no region on a site without `default_region`, are not in the US: no GPP, USP `1---`."""
    receiver = receivers()
    client, sites = shop(receiver.url("/adco"), receiver.url("/measure"), default_region=None)
    client.cookies.clear()
    accepted = client.post("/v1/consent", json={"site": "shop", "action": "accept_all"}, headers=DE)
    assert accepted.status_code == 200, accepted.text
    again = {"site": "shop", "action": "reject_all"}
    rejected = client.post("/v1/consent", json=again, headers={**DE, "X-Consent-Device": accepted.json()["device"]})
    assert rejected.status_code == 200, rejected.text
    client.cookies.clear()  # no geo headers, and the site names no default region
    assert client.post("/v1/opt-out", json={"site": "shop"}).status_code == 200
    start_worker(sites)
    expected = ["consent_withdrawn", "opt_out"]
    bodies = wait_for_types(receiver, {"/adco": expected, "/measure": expected})
    for got in bodies.values():
        assert {(b["gpp"], tuple(b["gpp_sid"]), b["usp"], b["gpc"]) for b in got} == {(None, (), "1---", False)}
    by_type = {b["type"]: b for b in bodies["/measure"]}
    assert by_type["consent_withdrawn"]["purposes"] == {"analytics": False, "advertising": False}
    assert by_type["opt_out"]["purposes"] == {"advertising": False}


def test_a_failing_partner_gets_retries_with_growing_backoff(
    redis_url: str, receivers: Callable[..., Receiver], shop: Any, start_worker: Callable[..., WorkerThread]
) -> None:
    failures = 3
    receiver = receivers(lambda received, n: 503 if n < failures else 200)
    client, sites = shop(receiver.url("/adco"), "", partners=("adco",))
    opt_out(client)
    policy = Policy(timeout_s=1.0, lease_s=4.0, poll_s=0.02, backoff_s=0.2, backoff_cap_s=10.0, max_age_s=120.0)
    start_worker(sites, policy)
    done = wait_for("the delivery", lambda: listing(redis_url, "delivered"))
    got = receiver.by_path("/adco")
    assert len(got) == failures + 1 and len({r.event_id for r in got}) == 1
    assert [r.json["attempt"] for r in got] == [1, 2, 3, 4]
    assert (done[0].attempts, done[0].last_result) == (failures + 1, "200")
    # Each wait is at least half the doubled delay (jitter takes up to half off): 0.1, 0.2, 0.4 s.
    for k, (before, after) in enumerate(itertools.pairwise(got), start=1):
        assert after.at - before.at >= 0.5 * 0.2 * 2 ** (k - 1) - 0.005


def test_a_hung_partner_times_out_and_is_retried(
    redis_url: str, receivers: Callable[..., Receiver], shop: Any, start_worker: Callable[..., WorkerThread]
) -> None:
    """A partner that accepts the request and never answers: the call ends at the HTTP timeout (1 s)
    with `timeout`, and the event is tried again."""
    hung = receivers()
    hung.holding.set()  # reads each request, never answers
    client, sites = shop(hung.url("/adco"), "", partners=("adco",))
    opt_out(client)
    # The lease (120 s) outlasts every wait here: only the HTTP timeout can end a call in time.
    policy = Policy(timeout_s=1.0, lease_s=120.0, poll_s=0.05, backoff_s=0.1, backoff_cap_s=0.2, max_age_s=120.0)
    start_worker(sites, policy)
    first = wait_for("the first attempt's result", lambda: [d for d in listing(redis_url, "pending") if d.attempts])
    assert (first[0].partner, first[0].last_result) == ("adco", "timeout")  # pending: to be retried
    retried = wait_for("a second attempt", lambda: [d for d in listing(redis_url, "pending") if d.attempts >= 2])
    assert retried[0].last_result == "timeout" and retried[0].event_id == first[0].event_id
    got = wait_for("the retry's request", lambda: len(hung.by_path("/adco")) >= 2 and hung.by_path("/adco"))
    assert [r.json["attempt"] for r in got[:2]] == [1, 2] and {r.event_id for r in got} == {first[0].event_id}
    assert listing(redis_url, "delivered") == [] and listing(redis_url, "dead") == []


def test_a_partner_down_for_the_whole_window_is_dead_until_replayed(
    redis_url: str, receivers: Callable[..., Receiver], shop: Any, start_worker: Callable[..., WorkerThread]
) -> None:
    down = receivers(listening=False)  # its port is bound but refuses connections
    client, sites = shop(down.url("/adco"), "", partners=("adco",))
    opt_out(client)
    policy = Policy(timeout_s=1.0, lease_s=4.0, poll_s=0.05, backoff_s=0.1, backoff_cap_s=0.2, max_age_s=1.0)
    start_worker(sites, policy)
    dead = wait_for("the dead letter", lambda: listing(redis_url, "dead"))
    assert dead[0].partner == "adco" and dead[0].last_result == "connect error" and dead[0].attempts >= 2
    assert listing(redis_url, "delivered") == [] and down.received == []
    down.listen()  # the partner is back; an operator replays its dead events
    assert in_store(redis_url, lambda store: store.outbox.replay("shop", "adco", int(time.time() * 1000), 5.0)) == 1
    done = wait_for("the replayed delivery", lambda: listing(redis_url, "delivered"))
    assert done[0].event_id == dead[0].event_id and listing(redis_url, "dead") == []
    assert [r.event_id for r in down.received] == [dead[0].event_id] and down.received[0].valid


def test_two_workers_share_the_queue_each_event_once_never_twice_at_a_time(
    redis_url: str, receivers: Callable[..., Receiver], shop: Any, start_worker: Callable[..., WorkerThread]
) -> None:
    """Both workers deliver, every (event, partner) exactly once when nothing fails, never two
    attempts of one at the same time. A worker has at most `per_worker` requests in flight (its tasks
    and its HTTP client's connections are bounded by it), so more than that at the receiver at once
    proves both were sending."""
    per_worker = 2
    lock = threading.Lock()
    inflight = peak = 0
    gate = threading.Event()  # open once more requests are in flight than one worker may have

    def gated(received: Received, n: int) -> int:
        nonlocal inflight, peak
        with lock:
            inflight += 1
            peak = max(peak, inflight)
            if inflight > per_worker:
                gate.set()
        try:
            # Held until the other worker has requests in flight too: a bound well inside the HTTP
            # timeout, so no call is abandoned (and sent again) while it waits. Should the bound pass,
            # the rest go through at once and the assertion on `peak` below says what went wrong.
            if not gate.wait(BOUND_S / 2):
                gate.set()
            return 200 if received.valid else 401
        finally:
            with lock:
                inflight -= 1

    receiver = receivers(gated)
    client, sites = shop(receiver.url("/adco"), receiver.url("/measure"))
    events = 40
    for _ in range(events):
        opt_out(client)
    policy = Policy(
        timeout_s=BOUND_S, lease_s=BOUND_S + 3, poll_s=0.05, backoff_s=0.1, backoff_cap_s=0.4, concurrency=per_worker
    )
    workers = [start_worker(sites, policy), start_worker(sites, policy)]
    wait_for("every delivery", lambda: len(listing(redis_url, "delivered")) == 2 * events, bound_s=60)
    for worker in workers:
        worker.stop()  # nothing more can come: the counts below are final
    assert peak > per_worker, f"at most {peak} requests at once: one worker did all the work"
    assert receiver.overlaps == []
    assert len(receiver.received) == 2 * events  # nothing failed: no attempt was made twice
    for path in ("/adco", "/measure"):
        assert Counter(Counter(r.event_id for r in receiver.by_path(path)).values()) == {1: events}
    assert all(r.valid for r in receiver.received)


def test_a_redirect_is_not_followed(
    redis_url: str, receivers: Callable[..., Receiver], shop: Any, start_worker: Callable[..., WorkerThread]
) -> None:
    elsewhere = receivers()
    redirecting = receivers(lambda received, n: 302, location=elsewhere.url("/adco", host="localhost"))
    client, sites = shop(redirecting.url("/adco"), "", partners=("adco",))
    opt_out(client)
    start_worker(sites)
    pending = wait_for("the attempt's result", lambda: [d for d in listing(redis_url, "pending") if d.attempts])
    assert pending[0].last_result == "redirect 302"
    assert redirecting.received and elsewhere.received == []  # settled without a request to the other host


def test_a_partner_unknown_to_a_worker_is_retried_then_dead_never_lost(
    redis_url: str, receivers: Callable[..., Receiver], shop: Any, start_worker: Callable[..., WorkerThread]
) -> None:
    """A worker whose configuration lacks a partner (a rolling deploy that adds one) leaves its events
    to workers that have it: retried like a failure, dead only after the retry window."""
    receiver = receivers()
    client, _ = shop(receiver.url("/adco"), receiver.url("/measure"))
    opt_out(client)
    short = dataclasses.replace(FAST, max_age_s=2.0)
    start_worker(parse_sites(shop_toml(receiver.url("/adco"), "", partners=("adco",)), source="<test>"), short)
    wait_for("adco's delivery", lambda: listing(redis_url, "delivered", "adco"))
    pending = wait_for("a retry of measure's", lambda: [d for d in listing(redis_url, "pending") if d.attempts])
    assert (pending[0].partner, pending[0].last_result) == ("measure", "partner not configured")
    dead = wait_for("the dead letter", lambda: listing(redis_url, "dead"))
    assert (dead[0].partner, dead[0].last_result) == ("measure", "partner not configured") and dead[0].attempts > 1


@pytest.mark.standalone_only  # pauses the one server
def test_the_worker_rides_out_a_redis_outage(
    redis_url: str,
    redis_client: Any,
    receivers: Callable[..., Receiver],
    shop: Any,
    start_worker: Callable[..., WorkerThread],
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver = receivers()
    client, sites = shop(receiver.url("/adco"), "", partners=("adco",))
    opt_out(client)
    caplog.set_level(logging.INFO, logger="consent_service.partners.delivery")

    def logged(message: str) -> bool:
        return message in [r.getMessage() for r in caplog.records]

    policy = Policy(timeout_s=1.0, lease_s=2.5, poll_s=0.05, backoff_s=0.1, backoff_cap_s=0.4, store_timeout_s=0.5)
    # Claims are scripts, which a WRITE pause holds (reads still answer). Unlike an ALL pause it can
    # be lifted (CLIENT UNPAUSE), so the outage lasts until the worker has met it, however late the
    # worker starts; BOUND_S caps it should the test fail.
    redis_client.execute_command("CLIENT", "PAUSE", str(int(BOUND_S * 1000)), "WRITE")
    try:
        start_worker(sites, policy)
        wait_for(
            "the worker to meet the outage",
            lambda: logged("claiming partner deliveries: Redis does not answer; retrying"),
        )
        assert receiver.received == [] and not logged("partner deliveries: Redis answers again")
    finally:
        redis_client.execute_command("CLIENT", "UNPAUSE")
    wait_for("the delivery after the outage", lambda: listing(redis_url, "delivered"))
    wait_for("the worker to see Redis back", lambda: logged("partner deliveries: Redis answers again"))
    assert [r.json["attempt"] for r in receiver.received] == [1]


# ---- the worker as a process: killed mid-delivery; inside `serve` --------------------------------


@pytest.mark.standalone_only  # about the process, not the Redis topology
def test_a_worker_killed_mid_delivery_is_resumed_by_the_next(
    redis_url: str, redis_client: Any, receivers: Callable[..., Receiver], shop: Any, tmp_path: Path
) -> None:
    lease_s = 8  # the HTTP timeout (5 s), the store's write timeout (2 s) and the margin
    receiver = receivers()
    receiver.holding.set()
    client, _ = shop(receiver.url("/adco"), "", partners=("adco",))
    config = tmp_path / "sites.toml"
    config.write_text(shop_toml(receiver.url("/adco"), "", partners=("adco",)))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CONSENT_")},
        "REDIS_URL": redis_url,
        "CONSENT_CONFIG": str(config),
        "ADCO_SECRET": ADCO_SECRET,
        "CONSENT_LOG_LEVEL": "warning",
        "CONSENT_DELIVERY_TIMEOUT_S": "5",
        "CONSENT_DELIVERY_LEASE_S": str(lease_s),
        "CONSENT_DELIVERY_POLL_S": "0.1",
    }
    opt_out(client)
    command = [sys.executable, "-m", "consent_service.cli.main", "deliver"]
    log = (tmp_path / "worker.log").open("wb")
    first = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        assert receiver.held.wait(BOUND_S), "the first worker never called"
        first.send_signal(signal.SIGKILL)
        assert first.wait(BOUND_S) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    # The entry's score in its bucket's `due` set: when the dead worker's lease ends (its claim moved
    # it there, and nobody settles it now).
    (lease_end,) = [
        int(score)
        for key in redis_client.scan_iter(match=f"{KEY_VERSION}:*:due")
        for _, score in redis_client.zrange(key, 0, -1, withscores=True)
    ]
    receiver.release()
    second = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        done = wait_for("the delivery after the lease", lambda: listing(redis_url, "delivered"), bound_s=60)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(BOUND_S) == 0, (tmp_path / "worker.log").read_text()
        log.close()
    got = receiver.by_path("/adco")
    assert len(got) == 2 and got[0].event_id == got[1].event_id == done[0].event_id
    assert done[0].attempts == 1  # the killed attempt was never recorded: the lease ran out instead
    # Sent again only once the dead worker's lease had run out (same clock: the claim compares its
    # now with the score, and the request arrives after the claim).
    assert got[1].wall_ms >= lease_end
    assert receiver.overlaps == []


def gone(pid: int) -> bool:
    """Ended: no such process, or a zombie nobody reaped yet (a container's init may not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rpartition(")")[2].split()[0] == "Z"


@pytest.mark.standalone_only  # about the process, not the Redis topology
def test_the_worker_serve_starts_ends_when_serve_is_killed(
    redis_url: str, receivers: Callable[..., Receiver], tmp_path: Path
) -> None:
    receiver = receivers()
    config = tmp_path / "sites.toml"
    config.write_text(shop_toml(receiver.url("/adco"), "", partners=("adco",)))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CONSENT_")},
        "REDIS_URL": redis_url,
        "CONSENT_CONFIG": str(config),
        "ADCO_SECRET": ADCO_SECRET,
        "CONSENT_LOG_LEVEL": "info",
        "CONSENT_LOG_FORMAT": "text",
    }
    # A stand-in for `serve`: starts the worker as serve does, then gets SIGKILLed (no cleanup runs).
    parent_code = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-m', 'consent_service.cli.main', 'deliver', '--exit-with-parent'])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", parent_code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert parent.stdout is not None and parent.stderr is not None
    child = int(parent.stdout.readline())
    try:
        # The worker has noted its parent once it says it started.
        assert any(b"partner delivery worker started" in line for line in parent.stderr)
        parent.kill()
        parent.wait(BOUND_S)
        wait_for("the orphaned worker to exit", lambda: gone(child))
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if not gone(child):  # the test failed: leave nothing running
            os.kill(child, signal.SIGKILL)
        parent.stdout.close()
        parent.stderr.close()


def delivery_workers(parent: int) -> list[int]:
    """The pids of `consent-service deliver` processes whose parent is `parent`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rpartition(")")[2].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):  # ended meanwhile
            continue
        if ppid == parent and b"deliver" in command:
            found.append(int(stat.parent.name))
    return found


def test_serve_runs_the_worker_apart_and_keeps_it_running(receivers: Callable[..., Receiver], tmp_path: Path) -> None:
    """`serve` with partners runs the worker in a process of its own: while it waits on a partner that
    never answers, decisions and opt-outs are answered as usual. A worker killed by hand is started
    again; stopping serve stops it."""
    hung = receivers()
    hung.holding.set()
    config = tmp_path / "sites.toml"
    config.write_text(shop_toml(hung.url("/adco"), "", partners=("adco",)))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CONSENT_") and k != "REDIS_URL"},
        "ADCO_SECRET": ADCO_SECRET,
        "CONSENT_LOG_LEVEL": "warning",
        "CONSENT_LOG_FORMAT": "text",
        "CONSENT_DELIVERY_POLL_S": "0.1",
        "CONSENT_DELIVERY_TIMEOUT_S": "60",
        "CONSENT_DELIVERY_LEASE_S": "63",
    }
    served = Served(tmp_path, env, "--config", str(config))
    try:
        first = httpx2.post(f"{served.base}/v1/opt-out", json={"site": "shop"}, headers=CA, timeout=BOUND_S)
        assert first.status_code == 200
        assert hung.held.wait(BOUND_S), "the worker never called the partner"
        for _ in range(5):  # while the worker is stuck on the partner: bounded waits, not a speed claim
            decision = httpx2.get(f"{served.base}/v1/decision?site=shop&purpose=advertising", headers=CA, timeout=5)
            assert decision.status_code == 200
            again = httpx2.post(f"{served.base}/v1/opt-out", json={"site": "shop"}, headers=CA, timeout=5)
            assert again.status_code == 200
        (worker,) = delivery_workers(served.proc.pid)
        os.kill(worker, signal.SIGKILL)
        (restarted,) = wait_for("a new worker", lambda: [p for p in delivery_workers(served.proc.pid) if p != worker])
        hung.release()
        before = len(hung.received)  # the held events stay leased to the dead worker for a while
        assert httpx2.post(f"{served.base}/v1/opt-out", json={"site": "shop"}, headers=CA, timeout=5).status_code == 200
        wait_for("the new worker's delivery", lambda: len(hung.received) > before)
        assert hung.received[-1].valid and hung.received[-1].json["type"] == "opt_out"
    finally:
        output = served.stop()
    assert served.proc.returncode == 0, output
    assert f"started again (pid {restarted})" in output
    assert gone(restarted)  # stopped with serve
