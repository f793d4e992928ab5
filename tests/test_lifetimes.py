"""Lifetimes end to end against real Redis: an opt-in lapses after the site's lifetime and the
banner asks again; an opt-out neither lapses nor is re-asked; tombstones live as long as the audit."""

from __future__ import annotations

import redis
from starlette.testclient import TestClient

from consent_service.core.clock import DAY_MS
from tests.conftest import CA, DE, AppFactory


def _age_choices(redis_client: redis.Redis, days: int) -> None:
    """Make every stored choice `days` old (as if it had been made then)."""
    (key,) = redis_client.scan_iter(match="*:dev:*")
    for name, value in redis_client.hgetall(key).items():
        if name.startswith("c:"):
            granted, at, version = value.split(":", 2)
            redis_client.hset(key, name, f"{granted}:{int(at) - days * DAY_MS}:{version}")


def experience(client: TestClient, headers: dict[str, str]) -> dict:
    return client.get("/v1/sites/demo/experience", headers=headers).json()


def test_an_opt_in_lapses_after_the_lifetime_and_the_banner_asks_again(
    client: TestClient, redis_client: redis.Redis
) -> None:
    client.post("/v1/consent", json={"site": "demo", "action": "accept_all"}, headers=DE)
    assert experience(client, DE)["show"] is False
    _age_choices(redis_client, 364)
    assert experience(client, DE)["decisions"]["analytics"]["reason"] == "consent"
    _age_choices(redis_client, 2)  # now 366 days: past the demo site's 365
    after = experience(client, DE)
    assert after["show"] is True and after["decisions"]["analytics"] == {"allowed": False, "reason": "no_consent"}


def test_an_opt_out_is_kept_and_never_re_asked(client: TestClient, redis_client: redis.Redis) -> None:
    client.post("/v1/consent", json={"site": "demo", "action": "reject_all"}, headers=DE)
    _age_choices(redis_client, 700)
    for headers in (DE, CA):
        seen = experience(client, headers)
        assert seen["show"] is False and seen["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"}


def test_a_tombstone_lives_as_long_as_the_audit(client: TestClient, redis_client: redis.Redis) -> None:
    client.post("/v1/opt-out", json={"site": "demo"}, headers=CA)
    client.delete("/v1/me", params={"site": "demo"})
    (record,) = redis_client.scan_iter(match="*:dev:*")
    (audit,) = redis_client.scan_iter(match="*:audit")
    retention = 750 * DAY_MS  # the default CONSENT_RETENTION_DAYS
    for key in (record, audit):
        assert retention - 60_000 < redis_client.pttl(key) <= retention


def test_opt_outs_and_gpc_are_kept_at_least_a_year(make_client: AppFactory, redis_client: redis.Redis) -> None:
    client = make_client(record_ttl_days=30)  # the shortest lifetime an operator may set
    token = client.post(
        "/v1/consent", json={"site": "demo", "action": "custom", "choices": {"analytics": True}}, headers=CA
    ).json()["device"]
    (key,) = redis_client.scan_iter(match="*:dev:*")
    assert redis_client.pttl(key) <= 30 * DAY_MS  # no opt-out, no GPC: the operator's lifetime
    client.get("/v1/decision", params={"site": "demo", "purpose": "advertising"}, headers={**CA, "Sec-GPC": "1"})
    assert redis_client.pttl(key) > 365 * DAY_MS  # GPC recorded: kept a year at least (12 months)
    client.post("/v1/opt-out", json={"site": "demo"}, headers={**CA, "X-Consent-Device": token})
    assert redis_client.pttl(key) > 730 * DAY_MS  # an explicit opt-out: the retention period
