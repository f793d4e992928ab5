"""Statistics counters in Redis (issue 6): per site and per UTC day, spread over STATS_SHARDS shards.

    cs1:{<site>.sNN}:stats:<YYYYMMDD>       hash    field → count (field names are stats.py's business)
    cs1:{<site>.sNN}:hll:seen:<YYYYMMDD>    HLL     device ids seen that day (those of shard NN)
    cs1:{<site>.sNN}:hll:gpc:<YYYYMMDD>     HLL     device ids seen with GPC that day (shard NN)
    cs1:{<site>.sNN}:stats:seq:<writer>     string  the last batch of that writer (a process) applied here

(`seen`, not `dev`: a key never contains `:dev:` unless it is a device record.)

NN is 00..15 and is fixed, like the device buckets (changing it would move every key):

- a counter field's shard is a hash of its name (CRC-32), so each field lives in exactly one shard
  (nothing is duplicated), and every flush spreads its increments over all sixteen keys, so over
  every master of a cluster, never through one key;
- a device's shard is its bucket (identity.bucket_of) modulo 16, so one device always lands in
  one shard: the shards' HyperLogLogs are disjoint and their counts add up to the union.

Every key of one shard shares the hash tag `{<site>.sNN}` (one Cluster slot), for every day. So a
flush is one script call per shard, which applies that shard's part of a batch for every day at
once and only once (the writer's batch number, `seq`, makes a retry after a timeout harmless),
and a range's unique count is one multi-key PFCOUNT per shard (the exact union of that shard's
days, as HyperLogLog estimates it), summed over the shards.

Lifetime: every key expires `retention_days` after the end of its day (EXPIREAT, the same
instant for every writer). Only the store talks to Redis; this module knows nothing of what the
fields mean.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from consent_service.core.digits import ascii_int
from consent_service.core.identity import bucket_of
from consent_service.store import scripts
from consent_service.store.connect import Client
from consent_service.store.errors import REDIS_ERRORS, StoreUnavailable
from consent_service.store.records import Store
from consent_service.store.trail import KEY_VERSION

STATS_SHARDS = 16  # fixed: changing it would move every statistics key
SEQ_TTL_S = 3600  # a writer's batch marker; a failed batch is retried (or dropped) well within it
READ_BATCH = 512  # commands per pipelined round trip when reading a range
_EPOCH = dt.date(1970, 1, 1).toordinal()
_STATS_KEY = re.compile(re.escape(KEY_VERSION) + r":\{[^}]*\.s\d\d\}:(stats|hll):")


def day_of(day: int) -> dt.date:
    """A day number (days since 1970-01-01, UTC) as a date."""
    return dt.date.fromordinal(_EPOCH + day)


def day_number(date: dt.date) -> int:
    return date.toordinal() - _EPOCH


def field_shard(name: str) -> int:
    return zlib.crc32(name.encode()) % STATS_SHARDS


def device_shard(device_id: str) -> int:
    return bucket_of(device_id) % STATS_SHARDS


def _tag(site: str, shard: int) -> str:
    return f"{KEY_VERSION}:{{{site}.s{shard:02d}}}"


def stats_keys(site: str, shard: int, day: int) -> tuple[str, str, str]:
    """(counters hash, devices HLL, GPC devices HLL) of one shard and day; one slot."""
    tag, date = _tag(site, shard), day_of(day).strftime("%Y%m%d")
    return f"{tag}:stats:{date}", f"{tag}:hll:seen:{date}", f"{tag}:hll:gpc:{date}"


def is_stats_key(key: str) -> bool:
    """Whether a Redis key holds statistics (tests that check "nothing changed" leave them out:
    answering a request is counted by design)."""
    return _STATS_KEY.match(key) is not None


@dataclass(slots=True)
class DayCounts:
    """One site's counts for one day, as a batch carries them to Redis (or reads them back)."""

    counts: dict[str, int] = field(default_factory=dict)  # field name → increment
    devices: set[str] = field(default_factory=set)  # device ids seen
    gpc_devices: set[str] = field(default_factory=set)  # device ids seen with GPC


@dataclass(frozen=True, slots=True)
class RawDay:
    counts: dict[str, int]  # every field's total over the shards
    devices: int  # unique devices that day (HyperLogLog, summed over disjoint shards)
    gpc_devices: int


@dataclass(frozen=True, slots=True)
class RawStats:
    days: dict[int, RawDay]  # every day of the range, by day number
    devices: int  # unique devices over the whole range
    gpc_devices: int


class StatsStore:
    """Every method raises StoreUnavailable and nothing else from Redis."""

    def __init__(self, client: Client, retention_days: int) -> None:
        self._redis = client
        self._retention_s = retention_days * 86_400
        self._add = client.register_script(scripts.STATS_ADD)

    @classmethod
    def of(cls, store: Store, retention_days: int) -> StatsStore:
        """On the store's own client (this package's; nothing outside the store sees it)."""
        return cls(store._redis, retention_days)

    async def add(self, writer: str, seq: int, batch: Mapping[tuple[str, int], DayCounts], timeout_s: float) -> None:
        """Apply one batch: per site, one script call per shard (every day at once). Once per
        (writer, seq) and shard: a retry of a batch that partly landed adds only what is missing.
        Batches of one writer must be applied in `seq` order (the marker keeps the last one)."""
        calls: dict[tuple[str, int], list[tuple[int, DayCounts]]] = {}
        for (site, day), counts in batch.items():
            for shard, part in _by_shard(counts).items():
                calls.setdefault((site, shard), []).append((day, part))
        try:
            async with asyncio.timeout(timeout_s):
                for (site, shard), days in calls.items():  # one after another: a few ms every few seconds
                    await self._apply(writer, seq, site, shard, days)
        except REDIS_ERRORS as exc:
            raise StoreUnavailable(str(exc) or type(exc).__name__) from exc

    async def _apply(self, writer: str, seq: int, site: str, shard: int, days: list[tuple[int, DayCounts]]) -> None:
        keys = [f"{_tag(site, shard)}:stats:seq:{writer}"]
        args: list[str | int] = [seq, SEQ_TTL_S, len(days)]
        for day, part in days:
            keys += stats_keys(site, shard, day)
            args += [(day + 1) * 86_400 + self._retention_s, len(part.counts)]
            for name, n in part.counts.items():
                args += [name, n]
            args += [len(part.devices), *part.devices, len(part.gpc_devices), *part.gpc_devices]
        await self._add(keys=keys, args=args)

    async def read(self, site: str, first_day: int, last_day: int, timeout_s: float) -> RawStats:
        """Every day of the range (zeros where nothing was counted) and the range's unique counts."""
        days = range(first_day, last_day + 1)
        commands: list[tuple[str, list[str]]] = []
        for shard in range(STATS_SHARDS):
            for day in days:
                counters, dev, gpc = stats_keys(site, shard, day)
                commands += [("HGETALL", [counters]), ("PFCOUNT", [dev]), ("PFCOUNT", [gpc])]
            keys = [stats_keys(site, shard, day) for day in days]
            commands += [("PFCOUNT", [k[1] for k in keys]), ("PFCOUNT", [k[2] for k in keys])]
        replies = await self._run(commands, timeout_s)
        counts: dict[int, dict[str, int]] = {day: {} for day in days}
        devices = dict.fromkeys(days, 0)
        gpc_devices = dict.fromkeys(days, 0)
        total_devices = total_gpc = 0
        position = 0
        for _ in range(STATS_SHARDS):
            for day in days:
                raw, dev, gpc = replies[position : position + 3]
                position += 3
                into = counts[day]
                for name, value in raw.items():
                    count = ascii_int(value, signed=True)  # not lstrip("-").isdigit(): "--5" and "-²" pass it
                    if count is not None:
                        into[name] = into.get(name, 0) + count
                devices[day] += int(dev)
                gpc_devices[day] += int(gpc)
            total_devices += int(replies[position])
            total_gpc += int(replies[position + 1])
            position += 2
        return RawStats(
            days={day: RawDay(counts[day], devices[day], gpc_devices[day]) for day in days},
            devices=total_devices,
            gpc_devices=total_gpc,
        )

    async def _run(self, commands: list[tuple[str, list[str]]], timeout_s: float) -> list[Any]:
        replies: list[Any] = []
        try:
            async with asyncio.timeout(timeout_s):
                for chunk in _chunks(commands, READ_BATCH):
                    pipe = self._redis.pipeline(transaction=False)
                    for name, keys in chunk:
                        pipe.execute_command(name, *keys)
                    replies += await pipe.execute()
        except REDIS_ERRORS as exc:
            raise StoreUnavailable(str(exc) or type(exc).__name__) from exc
        return replies


def _by_shard(counts: DayCounts) -> dict[int, DayCounts]:
    parts: dict[int, DayCounts] = {}
    for name, n in counts.counts.items():
        parts.setdefault(field_shard(name), DayCounts()).counts[name] = n
    for device in counts.devices:
        parts.setdefault(device_shard(device), DayCounts()).devices.add(device)
    for device in counts.gpc_devices:
        parts.setdefault(device_shard(device), DayCounts()).gpc_devices.add(device)
    return parts


def _chunks(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
