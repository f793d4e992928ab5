"""The only module that talks to Redis.

Layout (every key one change touches shares one Cluster hash tag, a bucket of the device id, so
a change, its history entry and its audit entry are written atomically on one slot while a
site's writes spread over every shard):

    cs1:{<site>.<bucket>}:dev:<device id>   hash    the device's record (fields below)
    cs1:{<site>.<bucket>}:log:<device id>   stream  the device's own history (access requests)
    cs1:{<site>.<bucket>}:audit             stream  the bucket's append-only audit trail

Record fields: `c:<purpose>` = "<1|0>:<ms>:<policy version>", `g1` GPC first seen (ms), `gd` GPC
last seen (day number), `rf` last refresh (day number), `ar` random audit reference, `ct`/`ut`
created/updated (ms), `pv` policy version, `src` source, `rg` region, `dc` device class,
`ao` account opted out (seam for account linking).

Redis 6.2 commands only: the write is one Lua script (atomic, one round trip, Cluster-safe since
its keys share a slot), which also extends TTLs without ever shortening them (no `EXPIRE GT`).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from consent_service.identity import bucket_of
from consent_service.model import DAY_MS, Choice, DeviceRecord
from consent_service.vocab import Action, DeviceClass, Regime, Source

KEY_VERSION = "cs1"


class StoreUnavailable(Exception):
    """Redis could not answer in time; every Redis error is wrapped in this one type."""


def device_keys(site: str, device_id: str) -> tuple[str, str, str]:
    """(record, history, audit) keys for a device; all three hash to one Cluster slot."""
    tag = f"{{{site}.{bucket_of(device_id):04d}}}"
    return f"{KEY_VERSION}:{tag}:dev:{device_id}", f"{KEY_VERSION}:{tag}:log:{device_id}", f"{KEY_VERSION}:{tag}:audit"


@dataclass(frozen=True, slots=True)
class Change:
    """One atomic write for one device: optional GPC sighting, optional choices, audit entries.

    With no action and no new GPC sighting it is a refresh: it slides the TTL and records the day.
    """

    site: str
    device_id: str
    now_ms: int
    policy_version: str
    regime: Regime
    region: str | None
    device_class: DeviceClass
    gpc_seen: bool = False  # written before the choices, so a same-request opt-in cannot lift it
    choices: Mapping[str, bool] = field(default_factory=dict)
    action: Action | None = None
    source: Source = Source.API


@dataclass(frozen=True, slots=True)
class Applied:
    record: DeviceRecord
    gpc_first_seen_now: bool


@dataclass(frozen=True, slots=True)
class Lifetimes:
    record_ttl_ms: int  # a record without an opt-out
    retention_ms: int  # a record with an opt-out or GPC, history and audit entries


class Store:
    """Device records in Redis. Every method raises StoreUnavailable and nothing else from Redis."""

    def __init__(self, client: aioredis.Redis, lifetimes: Lifetimes) -> None:
        self._redis = client
        self._lifetimes = lifetimes
        self._apply = client.register_script(_APPLY_LUA)

    @classmethod
    def from_url(cls, url: str, lifetimes: Lifetimes, *, timeout_s: float) -> Store:
        client = aioredis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=timeout_s,
            socket_connect_timeout=min(timeout_s, 1.0),
            # One immediate retry covers a pooled connection that died with a restarted Redis.
            retry=Retry(NoBackoff(), 1),
            health_check_interval=30,
        )
        return cls(client, lifetimes)

    async def close(self) -> None:
        await self._redis.aclose()

    async def ping(self, timeout_s: float) -> bool:
        try:
            return bool(await asyncio.wait_for(self._redis.ping(), timeout_s))
        except (RedisError, OSError, TimeoutError):
            return False

    async def get(self, site: str, device_id: str, timeout_s: float) -> DeviceRecord | None:
        """The device's record in one command, or None when there is none."""
        key = device_keys(site, device_id)[0]
        try:
            raw = await asyncio.wait_for(self._redis.hgetall(key), timeout_s)
        except (RedisError, OSError, TimeoutError) as exc:
            raise StoreUnavailable(str(exc) or type(exc).__name__) from exc
        return parse_record(raw) if raw else None

    async def apply(self, change: Change, timeout_s: float) -> Applied:
        """Write a change with its history and audit entries in one atomic step."""
        keys = device_keys(change.site, change.device_id)
        retention = self._lifetimes.retention_ms
        args: list[str | int] = [
            change.now_ms,
            change.now_ms // DAY_MS,
            self._lifetimes.record_ttl_ms,
            retention,
            change.now_ms - retention,
            secrets.token_hex(8),
            int(change.gpc_seen),
            change.policy_version,
            change.action or "",
            change.source,
            change.regime,
            change.region or "",
            change.device_class,
            change.site,
            len(change.choices),
        ]
        for purpose, granted in change.choices.items():
            args += [purpose, int(granted)]
        try:
            gpc_new, flat = await asyncio.wait_for(self._apply(keys=list(keys), args=args), timeout_s)
        except (RedisError, OSError, TimeoutError) as exc:
            raise StoreUnavailable(str(exc) or type(exc).__name__) from exc
        return Applied(
            record=parse_record(dict(zip(flat[::2], flat[1::2], strict=True))), gpc_first_seen_now=gpc_new == 1
        )


def parse_record(raw: Mapping[Any, Any]) -> DeviceRecord:
    """A record from its Redis hash; unknown or damaged fields are ignored, never fatal."""
    choices: dict[str, Choice] = {}
    for name, value in raw.items():
        if name.startswith("c:"):
            granted, _, rest = value.partition(":")
            at, _, version = rest.partition(":")
            if granted in ("0", "1") and at.isdigit():
                choices[name[2:]] = Choice(granted == "1", int(at), version)
    return DeviceRecord(
        choices=choices,
        gpc_first_seen_ms=_int(raw.get("g1")),
        gpc_last_day=_int(raw.get("gd")),
        account_opted_out=raw.get("ao") == "1",
        refreshed_day=_int(raw.get("rf")),
        created_ms=_int(raw.get("ct")),
    )


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


# KEYS: record, history, audit.
# ARGV: 1 now_ms, 2 day, 3 record ttl ms, 4 retention ms, 5 stream min id (ms), 6 new audit ref,
#       7 gpc seen (0/1), 8 policy version, 9 action ('' = none), 10 source, 11 regime,
#       12 region, 13 device class, 14 site, 15 number of choices, then purpose/granted pairs.
# Returns {1 if GPC was first recorded now else 0, the record as a flat HGETALL list}.
_APPLY_LUA = """
local dev, log, audit = KEYS[1], KEYS[2], KEYS[3]
local now, day = ARGV[1], ARGV[2]
local minid = ARGV[5]
local ref = redis.call('HGET', dev, 'ar')
if not ref then
  ref = ARGV[6]
  redis.call('HSET', dev, 'ar', ref, 'ct', now)
end
local function trail(action, source, choices_after)
  local entry = {'t', now, 'site', ARGV[14], 'ref', ref, 'a', action, 's', source, 'rm', ARGV[11],
                 'rg', ARGV[12], 'pv', ARGV[8], 'c', choices_after, 'dc', ARGV[13]}
  redis.call('XADD', audit, 'MINID', '~', minid, '*', unpack(entry))
  redis.call('XADD', log, 'MINID', '~', minid, '*', unpack(entry))
end
local function choices_now()
  local out = {}
  local flat = redis.call('HGETALL', dev)
  for i = 1, #flat, 2 do
    local name = flat[i]
    if string.sub(name, 1, 2) == 'c:' then
      table.insert(out, string.sub(name, 3) .. '=' .. string.sub(flat[i + 1], 1, 1))
    end
  end
  table.sort(out)
  return table.concat(out, ',')
end
-- GPC first: its first-seen time is written before any choice of the same request.
local gpc_new = 0
if ARGV[7] == '1' then
  gpc_new = redis.call('HSETNX', dev, 'g1', now)
  redis.call('HSET', dev, 'gd', day)
  if gpc_new == 1 then trail('gpc', 'gpc', choices_now()) end
end
local n = tonumber(ARGV[15])
for i = 0, n - 1 do
  local purpose, granted = ARGV[16 + 2 * i], ARGV[17 + 2 * i]
  redis.call('HSET', dev, 'c:' .. purpose, granted .. ':' .. now .. ':' .. ARGV[8])
end
redis.call('HSET', dev, 'rf', day)
if ARGV[9] ~= '' then
  redis.call('HSET', dev, 'ut', now, 'pv', ARGV[8], 'src', ARGV[10], 'rm', ARGV[11], 'rg', ARGV[12], 'dc', ARGV[13])
  trail(ARGV[9], ARGV[10], choices_now())
end
-- An opt-out (or GPC) is kept for the retention period; anything else for the record TTL.
local ttl = tonumber(ARGV[3])
local flat = redis.call('HGETALL', dev)
for i = 1, #flat, 2 do
  local name, value = flat[i], flat[i + 1]
  if name == 'g1' or name == 'ao' or (string.sub(name, 1, 2) == 'c:' and string.sub(value, 1, 1) == '0') then
    ttl = tonumber(ARGV[4])
  end
end
-- Slide forward, never shorten (Redis 6.2 has no EXPIRE GT).
for _, key in ipairs({dev, log}) do
  local current = redis.call('PTTL', key)
  if current == -1 or (current >= 0 and current < ttl) then redis.call('PEXPIRE', key, ttl) end
end
return {gpc_new, flat}
"""
