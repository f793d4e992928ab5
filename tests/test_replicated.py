"""CONSENT_REDIS_WAIT_REPLICAS on a standalone Redis and on a cluster (store/replicated.py): with no
replica to confirm a write, nothing is acknowledged as stored. An opt-out is carried in its token
(`"stored": false`) and a consent answers 503; the same settings without WAIT store both. (The
failover test, with replicas, is tests/test_failover.py.)"""

from __future__ import annotations

from tests.conftest import CA, AppFactory


def test_a_write_no_replica_confirms_is_not_acknowledged(make_client: AppFactory) -> None:
    client = make_client(redis_wait_replicas=1, write_timeout_ms=1500)
    opt_out = client.post("/v1/opt-out", json={"site": "demo"}, headers=CA)
    assert opt_out.status_code == 200 and opt_out.json()["stored"] is False  # carried, not lost
    assert opt_out.json()["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"}
    client.cookies.clear()
    consent = client.post("/v1/consent", json={"site": "demo", "action": "accept_all"}, headers=CA)
    assert consent.status_code == 503 and consent.json()["error"] == "store_unavailable"


def test_without_wait_the_same_writes_are_stored(make_client: AppFactory) -> None:
    client = make_client(write_timeout_ms=1500)
    opt_out = client.post("/v1/opt-out", json={"site": "demo"}, headers=CA)
    assert opt_out.status_code == 200 and "stored" not in opt_out.json()
    client.cookies.clear()
    assert client.post("/v1/consent", json={"site": "demo", "action": "accept_all"}, headers=CA).status_code == 200
