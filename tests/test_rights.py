"""Access and deletion for a device (the signed token is the proof of possession)."""

from __future__ import annotations

import asyncio

import redis
from starlette.testclient import TestClient

from consent_service.core.clock import DAY_MS
from consent_service.core.identity import new_device_id
from consent_service.store import Lifetimes, Store
from consent_service.store.record_data import keys_with
from consent_service.store.scripts import named
from tests.conftest import CA, DE, snapshot


def test_access_returns_record_and_history(client: TestClient) -> None:
    client.post("/v1/consent", json={"site": "demo", "action": "accept_all"}, headers=DE)
    client.post("/v1/opt-out", json={"site": "demo"}, headers={**CA, "Sec-GPC": "1"})
    r = client.get("/v1/me", params={"site": "demo"})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    me = r.json()
    assert me["record"]["choices"]["advertising"]["allowed"] is False
    assert me["record"]["choices"]["analytics"]["allowed"] is True and me["record"]["gpc_first_seen"]
    assert [h["action"] for h in me["history"]] == ["accept_all", "gpc", "opt_out"]
    assert me["history"][0]["region"] == "DE"
    assert "opted out" in me["note"] and "switch the sale back on" in me["note"]
    assert "ar" not in me["record"] and "ref" not in str(
        me["history"]
    )  # the audit reference is not personal data to show
    download = client.get("/v1/me", params={"site": "demo", "download": "1"})
    assert "attachment" in download.headers["content-disposition"]


def test_delete_keeps_only_the_opt_out(client: TestClient, redis_client: redis.Redis) -> None:
    client.post("/v1/consent", json={"site": "demo", "action": "custom", "choices": {"analytics": True}}, headers=CA)
    token = client.post("/v1/opt-out", json={"site": "demo"}, headers=CA).json()["device"]
    ref = redis_client.hget(next(iter(redis_client.scan_iter(match="*:dev:*"))), "ar")
    r = client.delete("/v1/me", params={"site": "demo"})
    assert r.status_code == 200 and r.json()["deleted"] is True
    assert r.json()["kept"]["choices"] == {"advertising": r.json()["kept"]["choices"]["advertising"]}
    assert "switch the sale back on" in r.json()["note"]
    record = redis_client.hgetall(next(iter(redis_client.scan_iter(match="*:dev:*"))))
    assert set(record) == {"c:advertising", "del"} and not list(redis_client.scan_iter(match="*:log:*"))
    audit = [e for _, e in redis_client.xrange(next(iter(redis_client.scan_iter(match="*:audit"))))]
    assert audit[-1]["a"] == "delete" and audit[-1]["ref"] == "" and ref not in str(audit[-1])
    # The opt-out still holds; the analytics consent is gone.
    after = client.get(
        "/v1/decision",
        params={"site": "demo", "purpose": ["advertising", "analytics"]},
        headers={**CA, "X-Consent-Device": token},
    ).json()
    assert after["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"}
    assert after["decisions"]["analytics"] == {"allowed": True, "reason": "default"}
    assert client.get("/v1/me", params={"site": "demo"}).json()["history"] == []


def test_rights_need_a_valid_token_and_a_known_site(client: TestClient, redis_client: redis.Redis) -> None:
    assert client.get("/v1/me", params={"site": "demo"}).status_code == 404
    assert client.get("/v1/me", params={"site": "demo"}, headers={"X-Consent-Device": "forged.x.y"}).status_code == 404
    assert client.delete("/v1/me", params={"site": "nope"}).json()["error"] == "unknown_site"
    client.post("/v1/opt-out", json={"site": "demo"})
    before = snapshot(redis_client)
    r = client.delete("/v1/me", params={"site": "demo"}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and snapshot(redis_client) == before


def test_delete_keeps_only_sale_share_refusals(client: TestClient, redis_client: redis.Redis) -> None:
    client.post("/v1/consent", json={"site": "demo", "action": "reject_all"}, headers=CA)
    kept = client.delete("/v1/me", params={"site": "demo"}).json()["kept"]
    assert set(kept["choices"]) == {"advertising"}  # refusing analytics is no opt-out of sale: deleted
    (key,) = redis_client.scan_iter(match="*:dev:*")
    assert set(redis_client.hgetall(key)) == {"c:advertising", "del"}


def test_access_after_deletion_leaves_nothing_without_a_lifetime(client: TestClient, redis_client: redis.Redis) -> None:
    client.post("/v1/opt-out", json={"site": "demo"}, headers=CA)
    client.delete("/v1/me", params={"site": "demo"})
    me = client.get("/v1/me", params={"site": "demo"}).json()
    assert me["history"] == [] and me["record"]["choices"]["advertising"]["allowed"] is False
    assert not list(redis_client.scan_iter(match="*:log:*"))
    assert all(redis_client.pttl(k) > 0 for k in redis_client.scan_iter() if ":rid:" not in k)


def test_rights_requests_from_another_site_are_refused(client: TestClient, redis_client: redis.Redis) -> None:
    client.post("/v1/opt-out", json={"site": "demo"}, headers=CA)
    before = snapshot(redis_client)
    for method in ("GET", "DELETE"):
        r = client.request(method, "/v1/me", params={"site": "demo"}, headers={"Origin": "https://evil.example"})
        assert r.status_code == 403 and r.json()["error"] == "forbidden_origin"
    assert snapshot(redis_client) == before


def test_a_retried_request_is_recorded_once(redis_url: str, redis_client: redis.Redis) -> None:
    """The client's automatic retry re-sends the same script call: its request id keeps the audit
    entry single (scripts called twice with the same keys and arguments, as a retry would)."""

    async def main() -> None:
        store = Store.from_url(redis_url, Lifetimes(400 * DAY_MS, 750 * DAY_MS), timeout_s=1.0)
        try:
            device = new_device_id()
            keys = keys_with("demo", device, "rid:fixed")
            fields = {"now_ms": 1_800_000_000_000, "min_id": 0, "site": "demo", "retention_ms": 750 * DAY_MS}
            args = [named({**fields, "source": "api", "request": []})]
            for _ in range(2):
                await store._access(keys=keys, args=args)
        finally:
            await store.close()

    asyncio.run(main())
    (audit,) = redis_client.scan_iter(match="*:audit")
    assert [e["a"] for _, e in redis_client.xrange(audit)] == ["access"]


def test_damaged_numbers_in_a_record_are_ignored_not_a_500(client: TestClient, redis_client: redis.Redis) -> None:
    """Numbers read back from Redis go through digits.ascii_int too: "²".isdigit() is True and
    int("²") raises, which made the record unreadable (a 500 on access, a failed read on decisions)."""
    client.post("/v1/consent", json={"site": "demo", "action": "accept_all"}, headers=CA)
    (key,) = list(redis_client.scan_iter(match="cs1:*:dev:*"))
    redis_client.hset(key, mapping={"ct": "²", "ut": "１２", "g1": "١٢", "rf": "²", "c:analytics": "1:²:v1"})
    r = client.get("/v1/me", params={"site": "demo"})
    assert r.status_code == 200, r.text
    record = r.json()["record"]
    assert "analytics" not in record["choices"] and record["choices"]["advertising"]["allowed"] is True
    decided = client.get("/v1/decision", params={"site": "demo", "purpose": "advertising"}, headers=CA)
    assert decided.status_code == 200 and decided.json()["decisions"]["advertising"]["reason"] == "consent"
