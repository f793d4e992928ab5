"""Nothing acknowledged is lost: an opt-out acknowledged while Redis is stalled or gone is carried
in the signed device token and written (with its audit entry) when Redis is back; an opt-out
acknowledged as stored survives a SIGKILL of Redis (AOF, appendfsync always)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import time
from pathlib import Path

import pytest
import redis
from starlette.testclient import TestClient

from consent_service.cli.redis_runner import EmbeddedRedis
from consent_service.config.settings import Settings
from consent_service.config.sites import load_sites
from consent_service.consent.service import ConsentService
from consent_service.core.clock import DAY_MS
from consent_service.core.identity import DeviceTokens, PendingOptOut
from consent_service.core.visitor import Visitor
from consent_service.core.vocab import Regime
from consent_service.store import Lifetimes, Store
from consent_service.web.app import create_app
from tests.conftest import CA, CHROME, TEST_KEYS

TOKENS = DeviceTokens(TEST_KEYS.signing, max_age_s=400 * 86_400)
ADS = {"site": "demo", "purpose": ["advertising", "analytics"]}


@pytest.fixture
def client(own_redis_client: TestClient) -> TestClient:
    return own_redis_client  # these tests stop, stall and kill their Redis: one of their own


def audit_entries(url: str) -> list[dict[str, str]]:
    with redis.Redis.from_url(url, decode_responses=True) as r:
        return [e for k in r.scan_iter(match="*:audit") for _, e in r.xrange(k)]


def wait_until(check: object, what: str, bound_s: float = 5) -> None:
    deadline = time.monotonic() + bound_s  # a bound on waiting, not a speed claim
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_an_opt_out_acknowledged_during_a_stall_is_carried_then_written(
    client: TestClient, own_redis: EmbeddedRedis
) -> None:
    assert own_redis.pid is not None
    os.kill(own_redis.pid, signal.SIGSTOP)
    try:
        r = client.post("/v1/opt-out", json={"site": "demo", "source": "banner"}, headers=CA)
        assert r.status_code == 200 and r.json()["stored"] is False  # never a plain acknowledgement
        token = r.json()["device"]
        assert r.cookies.get("cs_device_demo") == token  # the cookie carries it too
        verified = TOKENS.verify(token, "demo")
        assert verified is not None and verified.pending is not None and verified.pending.source == "banner"
        assert r.json()["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"}
        # While Redis is still stalled the decision fails closed, and the experience says opted out.
        client.cookies.clear()
        stalled = client.get("/v1/decision", params=ADS, headers={**CA, "X-Consent-Device": token}).json()
        assert stalled["decisions"]["advertising"]["allowed"] is False and stalled["usp"] == "1YYN"
    finally:
        os.kill(own_redis.pid, signal.SIGCONT)
    time.sleep(0.4)  # whatever was queued in Redis ran: its deadline had passed, so it wrote nothing
    assert audit_entries(own_redis.url) == []
    client.cookies.clear()

    def settled() -> bool:
        answer = client.get("/v1/decision", params=ADS, headers={**CA, "X-Consent-Device": token})
        fresh = TOKENS.verify(answer.json().get("device"), "demo")
        return fresh is not None and fresh.pending is None and "cs_device_demo" in answer.headers.get("set-cookie", "")

    wait_until(settled, "the carried opt-out was not written when Redis came back")
    (entry,) = audit_entries(own_redis.url)
    assert (entry["a"], entry["s"], entry["rq"]) == ("opt_out", "banner", "opt_out")
    assert int(entry["rcv"]) == verified.pending.at_ms  # received when it was acknowledged
    client.cookies.clear()
    later = client.get("/v1/decision", params=ADS, headers={**CA, "X-Consent-Device": token}).json()
    assert later["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"}
    assert len(audit_entries(own_redis.url)) == 1  # written once


def test_an_opt_out_acknowledged_while_redis_is_gone_survives_its_restart(
    client: TestClient, own_redis: EmbeddedRedis
) -> None:
    port = own_redis.port
    own_redis.stop()
    page = client.get("/privacy/demo/opt-out")  # the page renders from defaults while Redis is gone
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    r = client.post("/privacy/demo/opt-out", data={"csrf": csrf, "lang": "en"}, headers=CA)
    assert r.status_code == 200 and 'id="status"' in r.text  # the person is told it was processed
    token = client.cookies.get("cs_device_demo")
    verified = TOKENS.verify(token, "demo")
    assert verified is not None and verified.pending is not None and verified.pending.source == "no_js_form"
    restarted = EmbeddedRedis(own_redis.data_path.parent, port=port, persistent=True)
    restarted.start()
    try:
        wait_until(
            lambda: (
                client.get("/v1/decision", params=ADS, headers=CA).status_code == 200
                and bool(audit_entries(restarted.url))
            ),
            "not written after the restart",
        )
        (entry,) = audit_entries(restarted.url)
        assert (entry["a"], entry["s"]) == ("opt_out", "no_js_form")
    finally:
        restarted.stop()


def test_a_later_choice_supersedes_a_carried_opt_out(client: TestClient, own_redis: EmbeddedRedis) -> None:
    assert own_redis.pid is not None
    os.kill(own_redis.pid, signal.SIGSTOP)
    try:
        token = client.post("/v1/opt-out", json={"site": "demo"}, headers=CA).json()["device"]
    finally:
        os.kill(own_redis.pid, signal.SIGCONT)
    client.cookies.clear()
    # Back online, the visitor's next write comes first: the carried opt-out is written before it.
    wait_until(
        lambda: (
            client.post(
                "/v1/consent",
                json={"site": "demo", "action": "custom", "choices": {"advertising": True}},
                headers={**CA, "X-Consent-Device": token},
            ).status_code
            == 200
        ),
        "Redis did not come back",
    )
    actions = [(e["a"], e.get("rq")) for e in sorted(audit_entries(own_redis.url), key=lambda e: int(e["t"]))]
    assert actions == [("opt_out", "opt_out"), ("custom", None)]
    client.cookies.clear()
    answer = client.get("/v1/decision", params=ADS, headers={**CA, "X-Consent-Device": token}).json()
    assert answer["decisions"]["advertising"] == {"allowed": True, "reason": "consent"}


def test_consents_still_answer_503(client: TestClient, own_redis: EmbeddedRedis) -> None:
    own_redis.stop()
    r = client.post("/v1/consent", json={"site": "demo", "action": "accept_all"}, headers=CA)
    assert r.status_code == 503 and "set-cookie" not in r.headers


def test_no_acknowledged_opt_out_is_lost_to_a_sigkill(own_redis: EmbeddedRedis, tmp_path: Path) -> None:
    """Every acknowledged opt-out survives a SIGKILL of Redis: one acknowledged as stored is in the
    AOF; one that missed its write deadline (a loaded machine) was acknowledged with `"stored":
    false` and carried in its token, and is written when that token comes back. How many land in
    each group depends on the machine's speed; that none is lost does not."""
    with redis.Redis.from_url(own_redis.url, decode_responses=True) as r:
        assert r.config_get("appendfsync") == {"appendfsync": "always"}  # what this test and the docs rely on
    # A generous write budget: on any machine most writes are stored, and the rest are carried.
    settings = dataclasses.replace(
        Settings(), redis_url=own_redis.url, data_dir=tmp_path / "d", write_timeout_ms=5000, decision_timeout_ms=2000
    )
    with TestClient(create_app(settings, load_sites(None), TEST_KEYS), headers={"user-agent": CHROME}) as client:
        stored, carried = [], []
        for _ in range(200):
            client.cookies.clear()
            r = client.post("/v1/opt-out", json={"site": "demo"}, headers=CA)
            assert r.status_code == 200, r.text
            (carried if r.json().get("stored") is False else stored).append(r.json()["device"])
        assert stored, "not one write was stored within 5 s"
        assert own_redis.pid is not None
        os.kill(own_redis.pid, signal.SIGKILL)  # no shutdown, no final fsync: only what is in the AOF
        port = own_redis.port
        wait_until(lambda: not _alive(own_redis.url), "Redis did not die")
        restarted = EmbeddedRedis(own_redis.data_path.parent, port=port, persistent=True)
        restarted.start()
        try:
            for token in carried:  # the carried ones come back with their tokens, and are written

                def settled(token: str = token) -> bool:
                    client.cookies.clear()
                    back = client.get("/v1/decision", params=ADS, headers={**CA, "X-Consent-Device": token})
                    assert back.json()["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"}
                    fresh = TOKENS.verify(back.json().get("device"), "demo")
                    return fresh is not None and fresh.pending is None

                wait_until(settled, "a carried opt-out was not written", bound_s=30)
            with redis.Redis.from_url(restarted.url, decode_responses=True) as r:
                opted_out = [k for k in r.scan_iter(match="*:dev:*") if r.hget(k, "c:advertising").startswith("0:")]
                assert len(opted_out) == 200, f"{len(stored)} stored, {len(carried)} carried"  # lost: zero
                assert len(audit_entries(restarted.url)) == 200
        finally:
            restarted.stop()


def _alive(url: str) -> bool:
    try:
        with redis.Redis.from_url(url, socket_timeout=0.2, socket_connect_timeout=0.2) as r:
            return bool(r.ping())
    except (redis.ConnectionError, redis.TimeoutError):
        return False


def test_writes_can_wait_for_a_replica(own_redis: EmbeddedRedis, tmp_path: Path) -> None:
    """CONSENT_REDIS_WAIT_REPLICAS=1: a change counts as written only once a replica has it (WAIT;
    Redis 6.2 has no WAITAOF). Without a replica, an opt-out is carried in the token and a consent
    answers 503; with one, both are stored, on the replica too."""
    settings = dataclasses.replace(
        # 1.5 s: a replica's acknowledgement must fit in the write's budget even on a loaded CI box.
        Settings(),
        redis_url=own_redis.url,
        data_dir=tmp_path / "d",
        write_timeout_ms=1500,
        redis_wait_replicas=1,
    )
    app = create_app(settings, load_sites(None), TEST_KEYS)
    with TestClient(app, base_url="http://consent.test", headers={"user-agent": CHROME}) as client:
        alone = client.post("/v1/opt-out", json={"site": "demo"}, headers=CA)
        assert alone.status_code == 200 and alone.json()["stored"] is False
        client.cookies.clear()
        assert client.post("/v1/consent", json={"site": "demo", "action": "accept_all"}, headers=CA).status_code == 503
        replica = EmbeddedRedis(tmp_path / "replica", persistent=False)
        replica.start()
        try:
            with redis.Redis.from_url(replica.url) as r:
                r.execute_command("REPLICAOF", "127.0.0.1", str(own_redis.port))
            with redis.Redis.from_url(own_redis.url) as primary:  # the primary must count it as online
                online = lambda: (primary.info("replication").get("slave0") or {}).get("state") == "online"  # noqa: E731
                wait_until(online, "the replica did not sync", bound_s=30)  # a full sync forks: slow on a busy box
            client.cookies.clear()
            stored = client.post("/v1/opt-out", json={"site": "demo"}, headers=CA)
            assert stored.status_code == 200 and "stored" not in stored.json()
            device = TOKENS.verify(stored.json()["device"], "demo")
            assert device is not None
            with redis.Redis.from_url(replica.url, decode_responses=True) as r:
                assert any(device.device_id in key for key in r.scan_iter(match="*:dev:*"))  # already on the replica
        finally:
            replica.stop()


def test_a_carried_opt_out_in_the_cookie_is_kept_when_the_banner_sends_an_older_token(
    client: TestClient, own_redis: EmbeddedRedis
) -> None:
    """The banner's saved token (header) predates an opt-out made on the no-JS page while Redis was
    down (the cookie carries it): the service takes the opt-out from either."""
    banner = client.post("/v1/consent", json={"site": "demo", "action": "accept_all"}, headers=CA).json()["device"]
    assert own_redis.pid is not None
    os.kill(own_redis.pid, signal.SIGSTOP)
    try:
        csrf = client.get("/privacy/demo/opt-out").text.split('name="csrf" value="')[1].split('"')[0]
        r = client.post("/privacy/demo/opt-out", data={"csrf": csrf, "lang": "en"}, headers=CA)
        assert r.status_code == 200 and 'id="status"' in r.text
    finally:
        os.kill(own_redis.pid, signal.SIGCONT)
    carried = TOKENS.verify(client.cookies.get("cs_device_demo"), "demo")
    assert carried is not None and carried.pending is not None
    time.sleep(0.3)
    wait_until(
        lambda: (
            client.get("/v1/decision", params=ADS, headers={**CA, "X-Consent-Device": banner}).json()["decisions"][
                "advertising"
            ]["reason"]
            == "opt_out"
        ),
        "the carried opt-out was not taken from the cookie",
    )
    client.post("/v1/consent", json={"site": "demo", "action": "custom", "choices": {"analytics": False}}, headers=CA)
    actions = [e["a"] for e in sorted(audit_entries(own_redis.url), key=lambda e: int(e["t"]))]
    assert actions == ["accept_all", "opt_out", "custom"]


def test_a_carried_opt_out_is_written_once_whatever_the_concurrency(standalone_redis_url: str) -> None:
    """The banner and the ad tags ask at once with the same carrying token: one write, one entry."""
    site = load_sites(None).sites["demo"]

    async def main() -> int:
        store = Store.from_url(standalone_redis_url, Lifetimes(400 * DAY_MS, 750 * DAY_MS), timeout_s=1.0)
        service = ConsentService(store, TOKENS, read_timeout_s=1.0, write_timeout_s=1.0)
        token = TOKENS.sign("demo", "D" * 22, PendingOptOut(1_790_000_000_000, "banner"))
        device = TOKENS.verify(token, "demo")
        try:
            visitor = Visitor(site, "US-CA", Regime.OPT_OUT, False, device, token, CHROME, 1_790_000_000_500)
            await asyncio.gather(*(service.decision(visitor, ["advertising"]) for _ in range(8)))
            await service.decision(visitor, ["advertising"])  # and a replay later
        finally:
            await store.close()
        return len(audit_entries(standalone_redis_url))

    assert asyncio.run(main()) == 1
