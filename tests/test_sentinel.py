"""Redis Sentinel (`redis+sentinel://s1,s2,s3/mymaster`, issue 15): the service finds the primary
through the sentinels, and the same partition-then-failover as the cluster's (tests/test_failover.py)
is run against a primary, a replica and three real sentinels:

1. opt-outs are written and confirmed;
2. the replica's replication link is cut (tests/sentinel.py: the primary sits behind a proxy that
   closes only that link); writers go on;
3. the primary is killed; the sentinels promote the cut-off replica;
4. every opt-out acknowledged as stored is read back.

Without WAIT, opt-outs acknowledged while the link was cut are lost: the partition bit. With
`CONSENT_REDIS_WAIT_REPLICAS=1` none is lost: while cut they were answered `"stored": false` and
carried in their tokens. Decisions meanwhile answer and fail closed; /readyz says the primary is
gone and recovers; with WAIT, writes are confirmed again once the old primary is back as a replica.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from consent_service.config.settings import Settings
from consent_service.config.sites import load_sites
from consent_service.web.app import create_app
from tests.conftest import CA, CHROME, TEST_KEYS
from tests.sentinel import LocalSentinel

ADS = {"site": "demo", "purpose": "advertising"}
FAILOVER_S = 60.0  # a bound on the sentinels' failover, not a speed claim
BEFORE_CUT, WHILE_CUT = 20, 12  # few while cut: a replica cut off too long is not promoted


def _opt_out(client: TestClient) -> str | None:
    """A tokenless opt-out; its device token when acknowledged as stored, else None (carried)."""
    client.cookies.clear()
    r = client.post("/v1/opt-out", json={"site": "demo"}, headers=CA)
    assert r.status_code == 200, r.text  # an opt-out is always acknowledged: stored, or carried
    body = r.json()
    assert body["decisions"]["advertising"]["allowed"] is False
    return None if body.get("stored") is False else str(body["device"])


def _reason(client: TestClient, token: str) -> str:
    r = client.get("/v1/decision", params=ADS, headers={**CA, "X-Consent-Device": token})
    return str(r.json()["decisions"]["advertising"]["reason"])


@pytest.mark.parametrize("wait_replicas", [0, 1], ids=["without-wait", "with-wait"])
def test_a_sentinel_failover_after_a_partition(tmp_path: Path, wait_replicas: int) -> None:
    with LocalSentinel(tmp_path / "redis") as sentinel:
        settings = dataclasses.replace(
            Settings(), redis_url=sentinel.url, data_dir=tmp_path / "data", redis_wait_replicas=wait_replicas,
            write_timeout_ms=1500, decision_timeout_ms=1000, rate_limit_client=None, rate_limit_device=None,
        )  # fmt: skip
        app = create_app(settings, load_sites(None), TEST_KEYS)
        with TestClient(app, base_url="http://consent.test", headers={"user-agent": CHROME}) as client:
            assert client.get("/readyz").status_code == 200
            stored = [t for t in (_opt_out(client) for _ in range(BEFORE_CUT)) if t]
            assert len(stored) == BEFORE_CUT  # the replica is up: every write is confirmed

            sentinel.cut()
            while_cut = [_opt_out(client) for _ in range(WHILE_CUT)]
            acknowledged_while_cut = [t for t in while_cut if t]
            if wait_replicas:
                assert acknowledged_while_cut == []  # no replica confirmed them: carried, not acknowledged
            else:
                assert len(acknowledged_while_cut) == WHILE_CUT  # acknowledged by the primary alone
            stored += acknowledged_while_cut

            sentinel.kill(sentinel.primary_port)
            troubled = False
            deadline = time.monotonic() + FAILOVER_S
            while sentinel.primary() != sentinel.replica_port:
                assert time.monotonic() < deadline, "the sentinels did not promote the replica in time"
                decision = client.get("/v1/decision", params=ADS, headers=CA)
                assert decision.status_code == 200  # fails closed, never a 5xx
                troubled = troubled or client.get("/readyz").status_code == 503
                time.sleep(0.05)
            assert troubled  # while the primary was gone, readiness said so
            sentinel.wait(lambda: client.get("/readyz").status_code == 200, "/readyz did not recover", FAILOVER_S)

            lost = [t for t in stored if _reason(client, t) != "opt_out"]
            if wait_replicas:
                assert lost == [], f"{len(lost)} of {len(stored)} acknowledged opt-outs lost"
                # The old primary comes back; the sentinels make it the new primary's replica, and
                # writes are confirmed again.
                sentinel.restart_as_replica(sentinel.primary_port)
                sentinel.wait(lambda: _opt_out(client) is not None, "writes were not confirmed again", FAILOVER_S)
            else:
                # The partition bit: what only the dead primary had is gone, and only that.
                assert set(lost) == set(acknowledged_while_cut), (len(lost), len(acknowledged_while_cut))
