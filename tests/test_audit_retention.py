"""Audit retention against real Redis: every bucket is trimmed past retention (also idle ones),
streams expire once idle for the whole retention period, and account keys share their audit slot."""

from __future__ import annotations

import asyncio
import time

import redis
from redis.crc import key_slot

from consent_service.consent.maintenance import trim_audit
from consent_service.core.clock import DAY_MS
from consent_service.core.identity import bucket_of, new_device_id
from consent_service.core.keyed import Pseudonyms
from consent_service.core.vocab import Action
from consent_service.store import Lifetimes, Store, account_key
from consent_service.store.trail import audit_key
from tests.test_store import change


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def test_trim_removes_old_entries_in_every_bucket(redis_url: str, redis_client: redis.Redis) -> None:
    async def main() -> tuple[int, int]:
        store = Store.from_url(redis_url, Lifetimes(400 * DAY_MS, 750 * DAY_MS), timeout_s=1.0)
        try:
            for _ in range(40):
                await store.apply(change(new_device_id(), now_ms=now_ms(), action=Action.OPT_OUT), 1.0)
            await asyncio.sleep(0.01)
            cutoff = now_ms()
            await asyncio.sleep(0.01)
            for _ in range(5):
                await store.apply(change(new_device_id(), now_ms=now_ms(), action=Action.OPT_OUT), 1.0)
            removed = await store.trail.trim("demo", cutoff, 1.0)
            again = await store.trail.trim("demo", cutoff, 1.0)
        finally:
            await store.close()
        return removed, again

    removed, again = asyncio.run(main())
    assert (removed, again) == (40, 0)  # exact, and idempotent
    left = [e for k in redis_client.scan_iter(match="*:audit") for _, e in redis_client.xrange(k)]
    assert len(left) == 5


def test_the_periodic_pass_trims_past_retention(redis_url: str, redis_client: redis.Redis) -> None:
    async def main() -> int:
        store = Store.from_url(redis_url, Lifetimes(400 * DAY_MS, 750 * DAY_MS), timeout_s=1.0)
        try:
            for _ in range(10):
                await store.apply(change(new_device_id(), now_ms=now_ms(), action=Action.OPT_OUT), 1.0)
            await asyncio.sleep(0.05)
            return await trim_audit(store, ["demo", "other"], retention_ms=20, timeout_s=1.0)
        finally:
            await store.close()

    assert asyncio.run(main()) == 10
    assert not [e for k in redis_client.scan_iter(match="*:audit") for e in redis_client.xrange(k)]


def test_an_idle_stream_expires_after_the_retention_period(redis_url: str, redis_client: redis.Redis) -> None:
    retention = 750 * DAY_MS

    async def main() -> None:
        store = Store.from_url(redis_url, Lifetimes(400 * DAY_MS, retention), timeout_s=1.0)
        try:
            await store.apply(change(new_device_id(), now_ms=now_ms(), action=Action.OPT_OUT), 1.0)
        finally:
            await store.close()

    asyncio.run(main())
    (key,) = redis_client.scan_iter(match="*:audit")
    assert retention - 60_000 < redis_client.pttl(key) <= retention


def test_account_keys_share_their_audit_slot_and_spread() -> None:
    pseudonyms = Pseudonyms("p" * 40)
    slots = set()
    for i in range(300):
        account = pseudonyms.account("demo", f"user-{i}")
        assert pseudonyms.account("demo", f"user-{i}") == account and f"user-{i}" not in account
        key = account_key("demo", account)
        assert key_slot(key.encode()) == key_slot(audit_key("demo", bucket_of(account)).encode())
        slots.add(key_slot(key.encode()))
    assert len(slots) > 200
    assert pseudonyms.account("shop", "user-1") != pseudonyms.account("demo", "user-1")  # per site
    assert Pseudonyms("q" * 40).account("demo", "user-1") != pseudonyms.account("demo", "user-1")  # keyed
