"""Redis Sentinel (`redis+sentinel://s1,s2,s3/mymaster`, issue 15): the service finds the primary
through the sentinels, writes wait for the replica (CONSENT_REDIS_WAIT_REPLICAS=1), and when the
primary is killed and the sentinels promote the replica, every opt-out acknowledged as stored is
still there. Decisions meanwhile answer and fail closed; /readyz reports the trouble, then recovers.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from starlette.testclient import TestClient

from consent_service.config.settings import Settings
from consent_service.config.sites import load_sites
from consent_service.web.app import create_app
from tests.conftest import CA, CHROME, TEST_KEYS
from tests.sentinel import LocalSentinel

ADS = {"site": "demo", "purpose": "advertising"}
FAILOVER_S = 60.0  # a bound on the sentinels' failover, not a speed claim


def _opt_out(client: TestClient) -> str | None:
    """A tokenless opt-out; its device token when acknowledged as stored, else None (carried)."""
    client.cookies.clear()
    r = client.post("/v1/opt-out", json={"site": "demo"}, headers=CA)
    assert r.status_code == 200, r.text  # an opt-out is always acknowledged: stored, or carried
    body = r.json()
    assert body["decisions"]["advertising"]["allowed"] is False
    return None if body.get("stored") is False else str(body["device"])


def test_a_sentinel_failover_loses_no_acknowledged_opt_out(tmp_path: Path) -> None:
    with LocalSentinel(tmp_path / "redis") as sentinel:
        settings = dataclasses.replace(
            Settings(), redis_url=sentinel.url, data_dir=tmp_path / "data", redis_wait_replicas=1,
            write_timeout_ms=1500, decision_timeout_ms=1000, rate_limit_client=None,
        )  # fmt: skip
        app = create_app(settings, load_sites(None), TEST_KEYS)
        with TestClient(app, base_url="http://consent.test", headers={"user-agent": CHROME}) as client:
            assert client.get("/readyz").status_code == 200
            stored = [t for t in (_opt_out(client) for _ in range(40)) if t]
            assert len(stored) == 40  # the replica is up: every write is confirmed

            sentinel.kill(sentinel.primary_port)
            troubled, carried = False, 0
            deadline = time.monotonic() + FAILOVER_S
            while sentinel.primary() != sentinel.replica_port:
                assert time.monotonic() < deadline, "the sentinels did not promote the replica in time"
                token = _opt_out(client)  # acknowledged either way: stored (confirmed) or carried
                if token:
                    stored.append(token)
                else:
                    carried += 1
                decision = client.get("/v1/decision", params=ADS, headers=CA)
                assert decision.status_code == 200  # fails closed, never a 5xx
                troubled = troubled or client.get("/readyz").status_code == 503
            assert troubled  # while the primary was gone, readiness said so
            assert carried > 0  # no replica confirmed these: carried in their tokens, not acknowledged as stored

            # Every opt-out acknowledged as stored is on the promoted replica.
            lost = [t for t in stored if _reason(client, t) != "opt_out"]
            assert lost == [], f"{len(lost)} of {len(stored)} acknowledged opt-outs lost ({carried} carried)"
            sentinel.wait(lambda: client.get("/readyz").status_code == 200, "/readyz did not recover", FAILOVER_S)

            # The old primary comes back; the sentinels make it the new primary's replica, and writes
            # are confirmed again.
            sentinel.restart_as_replica(sentinel.primary_port)
            sentinel.wait(lambda: _opt_out(client) is not None, "writes were not confirmed again", FAILOVER_S)


def _reason(client: TestClient, token: str) -> str:
    r = client.get("/v1/decision", params=ADS, headers={**CA, "X-Consent-Device": token})
    return str(r.json()["decisions"]["advertising"]["reason"])
