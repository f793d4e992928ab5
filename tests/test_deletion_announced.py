"""A deletion is announced to the page's USP `registerDeletion` callbacks at the device's next page view:
the answers carry `deleted_at` (the bare time of the deletion, kept without any choice or region), and
the banner calls the callbacks once per new value (banner_js/test, e2e/test_tcfapi.py)."""

from __future__ import annotations

import redis
from starlette.testclient import TestClient

from tests.conftest import CA


def experience(client: TestClient) -> dict:
    r = client.get("/v1/sites/demo/experience", headers=CA)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_deletion_is_announced_and_keeps_nothing_else(client: TestClient, redis_client: redis.Redis) -> None:
    # Analytics only: nothing a deletion must keep (no opt-out of sale), so only the bare fact stays.
    made = client.post("/v1/consent", json={"site": "demo", "action": "custom", "choices": {"analytics": True}})
    assert made.status_code == 200 and "deleted_at" not in made.json()
    assert "deleted_at" not in experience(client)
    gone = client.delete("/v1/me", params={"site": "demo"})
    assert gone.status_code == 200 and gone.json()["deleted"] is True and gone.json()["kept"] is None
    (key,) = list(redis_client.scan_iter(match="*:dev:*"))
    assert set(redis_client.hgetall(key)) == {"del"}  # no choice, region, device class or reference
    assert redis_client.pttl(key) > 0
    first = experience(client)
    assert first["deleted_at"] == int(redis_client.hget(key, "del"))
    assert first["choices"] == {} and first["decisions"]["analytics"]["reason"] == "default"
    # A later choice keeps the same announcement (the banner calls the callbacks once per value).
    again = client.post("/v1/consent", json={"site": "demo", "action": "accept_all"}).json()
    assert again["deleted_at"] == first["deleted_at"]


def test_an_opt_out_tombstone_is_announced_too(client: TestClient) -> None:
    client.post("/v1/opt-out", json={"site": "demo"}, headers=CA)
    gone = client.delete("/v1/me", params={"site": "demo"}).json()
    assert gone["kept"] is not None  # the opt-out stays
    after = experience(client)
    assert after["deleted_at"] > 0 and after["decisions"]["advertising"]["allowed"] is False
