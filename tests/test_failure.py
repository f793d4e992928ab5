"""Redis stalled (SIGSTOP) or gone: decisions fail closed within their timeout, writes say 503."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

import pytest
import redis
from starlette.testclient import TestClient

from consent_service.cli.redis_runner import EmbeddedRedis
from consent_service.store.stats import is_stats_key
from tests.conftest import CA

PURPOSES = {"site": "demo", "purpose": ["necessary", "analytics", "advertising"]}
BOUND_S = 2.0  # a bound on waiting, not a speed claim: the configured timeout is 100 ms


KeyCounter = Callable[[], dict[str, int]]


@pytest.fixture
def redis_keys(own_redis: EmbeddedRedis) -> KeyCounter:
    """A snapshot of every key and its size (hash fields / stream entries)."""

    def snapshot() -> dict[str, int]:
        with redis.Redis.from_url(own_redis.url, decode_responses=True) as r:
            sizes = {}
            for key in r.scan_iter():
                if key.startswith("cs1rl") or is_stats_key(key):
                    continue  # rate-limit counters count attempts, statistics count answers: no choice
                sizes[key] = r.hlen(key) if r.type(key) == "hash" else r.xlen(key)
                if r.type(key) == "hash":
                    sizes[key + "#c"] = hash(tuple(sorted(r.hgetall(key).items())))
            return sizes

    return snapshot


@pytest.fixture
def client(own_redis_client: TestClient) -> TestClient:
    return own_redis_client  # these tests stop, stall and kill their Redis: one of their own


def timed_decision(client: TestClient, headers: dict[str, str]) -> tuple[dict, float]:
    start = time.monotonic()
    r = client.get("/v1/decision", params=PURPOSES, headers=headers)
    elapsed = time.monotonic() - start
    assert r.status_code == 200, r.text
    return r.json(), elapsed


def test_stalled_redis_fails_closed_then_recovers(client: TestClient, own_redis: EmbeddedRedis) -> None:
    token = client.post("/v1/consent", json={"site": "demo", "action": "accept_all"}, headers=CA).json()["device"]
    headers = {**CA, "X-Consent-Device": token}
    assert timed_decision(client, headers)[0]["decisions"]["advertising"] == {"allowed": True, "reason": "consent"}
    assert own_redis.pid is not None
    os.kill(own_redis.pid, signal.SIGSTOP)
    try:
        answer, elapsed = timed_decision(client, headers)
        assert elapsed < BOUND_S
        assert answer["decisions"] == {
            "necessary": {"allowed": True, "reason": "necessary"},
            "analytics": {"allowed": False, "reason": "store_unavailable"},
            "advertising": {"allowed": False, "reason": "store_unavailable"},
        }
        assert answer["usp"] == "1YYN"  # fail closed in the IAB strings too
        gpc_answer, _ = timed_decision(client, {**headers, "Sec-GPC": "1"})
        assert gpc_answer["decisions"]["advertising"] == {"allowed": False, "reason": "gpc"}
        r = client.post("/v1/consent", json={"site": "demo", "action": "reject_all"}, headers=headers)
        assert r.status_code == 503 and r.json()["error"] == "store_unavailable" and r.headers["retry-after"]
        assert client.get("/readyz").status_code == 503
    finally:
        os.kill(own_redis.pid, signal.SIGCONT)
    deadline = time.monotonic() + 5
    while timed_decision(client, headers)[0]["decisions"]["advertising"]["reason"] != "consent":
        assert time.monotonic() < deadline, "did not recover after SIGCONT"
        time.sleep(0.05)
    assert client.get("/readyz").status_code == 200


def test_redis_gone_then_back_reconnects_by_itself(client: TestClient, own_redis: EmbeddedRedis) -> None:
    token = client.post("/v1/opt-out", json={"site": "demo"}, headers=CA).json()["device"]
    headers = {**CA, "X-Consent-Device": token}
    port = own_redis.port
    own_redis.stop()
    answer, elapsed = timed_decision(client, headers)
    assert elapsed < BOUND_S and answer["decisions"]["advertising"]["reason"] == "store_unavailable"
    assert answer["device"] == token  # the visitor keeps its device
    r = client.post("/v1/consent", json={"site": "demo", "action": "accept_all"}, headers=headers)
    assert r.status_code == 503 and "set-cookie" not in r.headers
    fresh = client.post("/v1/consent", json={"site": "demo", "action": "accept_all"}, headers=CA)
    assert fresh.status_code == 503 and "set-cookie" not in fresh.headers  # no device issued on a failed write
    restarted = EmbeddedRedis(own_redis.data_path.parent, port=port, persistent=True)
    restarted.start()
    try:
        deadline = time.monotonic() + 5
        while (reason := timed_decision(client, headers)[0]["decisions"]["advertising"]["reason"]) != "opt_out":
            assert reason == "store_unavailable" and time.monotonic() < deadline
            time.sleep(0.05)
        # The acknowledged opt-out came back from the AOF.
        assert (
            client.post("/v1/consent", json={"site": "demo", "action": "reject_all"}, headers=headers).status_code
            == 200
        )
    finally:
        restarted.stop()


def test_a_write_that_stalled_in_redis_never_lands_after_its_answer(
    client: TestClient, own_redis: EmbeddedRedis, redis_keys: KeyCounter
) -> None:
    token = client.post("/v1/consent", json={"site": "demo", "action": "reject_all"}, headers=CA).json()["device"]
    before = redis_keys()
    assert own_redis.pid is not None
    os.kill(own_redis.pid, signal.SIGSTOP)
    try:
        r = client.post(
            "/v1/consent", json={"site": "demo", "action": "accept_all"}, headers={"X-Consent-Device": token}
        )
        assert r.status_code == 503
        fresh = client.post("/v1/consent", json={"site": "demo", "action": "reject_all"})
        assert fresh.status_code == 503
        carried = client.post("/v1/opt-out", json={"site": "demo"})  # acknowledged, in the token only
        assert carried.status_code == 200 and carried.json()["stored"] is False
    finally:
        os.kill(own_redis.pid, signal.SIGCONT)
    time.sleep(0.3)  # let Redis run what was queued while it was stopped
    assert redis_keys() == before  # the queued scripts saw their deadline pass and wrote nothing
    answer, _ = timed_decision(client, {**CA, "X-Consent-Device": token})
    assert answer["decisions"]["advertising"]["reason"] == "opt_out"  # not the accept the client was told failed


def test_decision_does_not_wait_for_a_paused_write(client: TestClient, own_redis: EmbeddedRedis) -> None:
    """CLIENT PAUSE WRITE holds writes, not reads: a first GPC sighting must not hold the answer long."""
    with redis.Redis.from_url(own_redis.url) as admin:
        admin.execute_command("CLIENT", "PAUSE", "3000", "WRITE")
        try:
            answer, elapsed = timed_decision(client, {**CA, "Sec-GPC": "1"})
        finally:
            admin.execute_command("CLIENT", "UNPAUSE")
    assert elapsed < 1.0  # bounded by the decision timeout (100 ms), far below the 3 s pause
    assert answer["decisions"]["advertising"] == {"allowed": False, "reason": "gpc"}
    assert "device" not in answer  # the write did not happen in time: no device issued
