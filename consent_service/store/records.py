"""The only module that talks to Redis.

Layout (every key one change touches shares one Cluster hash tag, a bucket of the device id, so
a change, its history entry and its audit entry are written atomically on one slot while a
site's writes spread over every shard):

    cs1:{<site>.<bucket>}:dev:<device id>   hash    the device's record (fields below)
    cs1:{<site>.<bucket>}:log:<device id>   stream  the device's own history (access requests)
    cs1:{<site>.<bucket>}:audit             stream  the bucket's append-only audit trail (trail.py)

Record fields: `c:<purpose>` = "<1|0>:<ms>:<policy version>", `g1` GPC first seen (ms), `gd` GPC
last seen (day number), `rf` last refresh (day number), `ar` random audit reference, `ct`/`ut`
created/updated (ms), `pv` policy version, `src` source, `rg` region, `dc` device class,
`acct`/`al` the linked account's pseudonym and when it was linked, `tao` the account's opt-out kept
on a deleted device's tombstone, `del` when it was deleted, `lc` the last change id.

Redis 6.2 commands only: the write is one Lua script (atomic, one round trip, Cluster-safe since
its keys share a slot), which also extends TTLs without ever shortening them (no `EXPIRE GT`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from consent_service.identity import BUCKETS, bucket_of
from consent_service.model import DAY_MS, Choice, DeviceRecord
from consent_service.partners import NO_PARTNERS, OutboxSpecs, SubjectKind
from consent_service.store.accounts import Accounts, account_key
from consent_service.store.connect import Client, connect
from consent_service.store.outbox import LUA_OUTBOX, Outbox
from consent_service.store.reader import PipelinedReader, ReaderError
from consent_service.store.trail import (
    KEY_VERSION,
    LUA_AUDIT,
    PIPELINE_BATCH,
    REDIS_ERRORS,
    StoreUnavailable,
    Trail,
    flat,
    unavailable,
)
from consent_service.vocab import Action, DeviceClass, Regime, Source


def record_key(site: str, device_id: str) -> str:
    """The record's key alone (the decision path's one read)."""
    return f"{KEY_VERSION}:{{{site}.{bucket_of(device_id):04d}}}:dev:{device_id}"


def device_keys(site: str, device_id: str) -> tuple[str, str, str]:
    """(record, history, audit) keys for a device; all three hash to one Cluster slot."""
    tag = f"{{{site}.{bucket_of(device_id):04d}}}"
    return f"{KEY_VERSION}:{tag}:dev:{device_id}", f"{KEY_VERSION}:{tag}:log:{device_id}", f"{KEY_VERSION}:{tag}:audit"


def _keys_with(site: str, device_id: str, *extra: str) -> list[str]:
    """The device's keys plus more keys of its bucket (the carry-over set, a request id marker)."""
    tag = f"{{{site}.{bucket_of(device_id):04d}}}"
    return [*device_keys(site, device_id), *(f"{KEY_VERSION}:{tag}:{name}" for name in extra)]


def _rid() -> str:
    """A request id: a script that records a request writes its audit entry once per id, so a
    client's automatic retry after a dropped connection cannot record the request twice."""
    return "rid:" + secrets.token_hex(8)


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
    audit_extra: Mapping[str, str] = field(default_factory=dict)  # request fields for the action's entry
    # The change opts this device out of sale/sharing (or sends GPC): if it is linked, its account
    # is queued for the account-wide opt-out in the same atomic step (`carry`), so that cannot be lost.
    carry_to_account: bool = False
    # This change writes an opt-out a device token carried, acknowledged at this time (ms): written
    # once (the record remembers it, `po`), and never over a choice the visitor made after it.
    settles_pending_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Held:
    """Everything held for one device: its record's raw fields and its history, oldest first."""

    record: dict[str, str]
    history: list[dict[str, str]]


@dataclass(frozen=True, slots=True)
class Erased:
    tombstone: dict[str, str] | None  # the fields kept (an opt-out); None when nothing was kept
    found: bool  # anything was held
    account: str | None  # the account the device was linked to (its membership is the caller's to drop)


@dataclass(frozen=True, slots=True)
class Applied:
    record: DeviceRecord | None  # None: a refresh found no record to refresh (nothing written)
    gpc_first_seen_now: bool
    # Purposes whose choice this change really changed → their state before: "1" granted, "0"
    # refused, "" none recorded. Empty for a repeat (the same choice again, or a retried change).
    changed: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Lifetimes:
    record_ttl_ms: int  # a record without an opt-out, sliding while the device visits
    retention_ms: int  # a record with an opt-out, history and audit entries
    provisional_ms: int = 30 * DAY_MS  # a device created by a GPC sighting, until it comes back

    @property
    def gpc_ms(self) -> int:
        """A record with GPC: never less than 12 months (no re-prompt, and GPC is an opt-out)."""
        return max(self.record_ttl_ms, 366 * DAY_MS)


# Status codes returned by the write script.
_WRITTEN, _REPEATED, _TOO_LATE, _NOTHING = 1, 0, -1, -2
CLOCK_RECHECK_S = 60.0
# The script refuses to write once this share of the caller's timeout has passed (on Redis's clock),
# so a write that stalled in Redis cannot land after its caller was told it failed.
DEADLINE_SHARE = 0.8


class Store:
    """Device records in Redis. Every method raises StoreUnavailable and nothing else from Redis."""

    def __init__(
        self, client: Client, lifetimes: Lifetimes, reader: PipelinedReader | None = None, *, replicas: int = 0
    ) -> None:
        self._redis = client
        self._reader = reader
        # Writes wait for this many replicas (WAIT) before they count as done (standalone Redis).
        if replicas and isinstance(client, RedisCluster):
            raise ValueError("CONSENT_REDIS_WAIT_REPLICAS works with a standalone Redis only, not a cluster")
        self._replicas = replicas
        self._lifetimes = lifetimes
        self._apply = client.register_script(LUA_AUDIT + LUA_OUTBOX + _APPLY_LUA)
        self._erase = client.register_script(LUA_AUDIT + LUA_OUTBOX + _ERASE_LUA)
        self._access = client.register_script(LUA_AUDIT + _ACCESS_LUA)
        self._link = client.register_script(LUA_AUDIT + _LINK_LUA)
        self._covered = client.register_script(LUA_OUTBOX + _COVERED_LUA)
        self.trail = Trail(client)
        self.accounts = Accounts(client, lifetimes.retention_ms)
        self.outbox = Outbox(client, lifetimes.retention_ms)
        self._partners = NO_PARTNERS
        # Each server's clock minus ours, and when it was measured (monotonic), by node ("" standalone).
        self._clocks: dict[str, tuple[int, float]] = {}
        self._warm_up = _warm_up(client)

    @classmethod
    def from_url(cls, url: str, lifetimes: Lifetimes, *, timeout_s: float, replicas: int = 0) -> Store:
        """`redis://…` (standalone) or `redis+cluster://host:port[,host:port…]` (connect.py).
        `replicas`: a change counts as written only once that many replicas have it (WAIT)."""
        client, reader = connect(url, timeout_s)
        return cls(client, lifetimes, reader, replicas=replicas)

    async def warm(self, timeout_s: float) -> None:
        """Connect and load the write scripts before the first request: otherwise the first change
        pays a connection, a NOSCRIPT round trip and the script's compilation inside its own short
        budget (a first GPC sighting has only the decision's). Best effort: a Redis that is not up
        yet is connected to by the first request, as always."""
        scripts = [s.script for s in (self._apply, self._erase, self._access, self._link)]
        try:
            async with asyncio.timeout(timeout_s):
                if self._warm_up is not None:
                    await asyncio.shield(self._warm_up)
                for script in scripts:
                    await self._redis.script_load(script)  # on a cluster, on every master
                # Each master's clock too, which a write's deadline would otherwise measure first.
                if isinstance(self._redis, RedisCluster):
                    for primary in self._redis.get_primaries():
                        await self._measure_clock(primary.name, {"target_nodes": primary})
                else:
                    await self._measure_clock("", {})
        except REDIS_ERRORS:
            return

    def tell_partners(self, specs: OutboxSpecs) -> None:
        """From now on, changes write their partners' events (store/outbox.py) atomically with them."""
        self._partners = specs
        self.accounts.tell_partners(specs)

    async def close(self) -> None:
        if self._warm_up is not None:
            self._warm_up.cancel()
            await asyncio.gather(self._warm_up, return_exceptions=True)
        if self._reader is not None:
            await self._reader.close()
        await self._redis.aclose()
        # A connection dropped after an error was closed without waiting (redis-py's nowait): its
        # socket closes on a later turn of the loop, which must come before the loop itself ends.
        for _ in range(3):
            await asyncio.sleep(0)

    async def ping(self, timeout_s: float) -> bool:
        """Redis answers; on a cluster, every master does (a missing one fails a share of writes)."""
        try:
            async with asyncio.timeout(timeout_s):
                if isinstance(self._redis, RedisCluster):
                    return bool(await self._redis.ping(target_nodes=RedisCluster.PRIMARIES))
                return bool(await self._redis.ping())
        except REDIS_ERRORS:
            return False

    async def get(self, site: str, device_id: str, timeout_s: float) -> DeviceRecord | None:
        """The device's record, or None when there is none. One command for an unlinked device; a
        linked one also reads its account's record (another slot), so an account-wide opt-out is
        seen at once and never depends on a fan-out to every device."""
        deadline = time.monotonic() + timeout_s
        raw = await self._hgetall(record_key(site, device_id), timeout_s)
        if not raw:
            return None
        record = parse_record(raw)
        if record.account is not None:
            account = await self._hgetall(account_key(site, record.account), deadline - time.monotonic())
            record = dataclasses.replace(record, account_opted_out=record.account_opted_out or "ao" in account)
        return record

    async def _hgetall(self, key: str, timeout_s: float) -> Mapping[Any, Any]:
        try:
            if timeout_s <= 0:
                raise TimeoutError
            if self._reader is not None:
                return await self._reader.hgetall(key, timeout_s)
            async with asyncio.timeout(timeout_s):
                return await self._redis.hgetall(key)
        except (*REDIS_ERRORS, ReaderError) as exc:
            raise unavailable(exc) from exc

    async def access(
        self, site: str, device_id: str, *, now_ms: int, source: Source, extra: Mapping[str, str], timeout_s: float
    ) -> Held:
        """Everything held for a device, read in the same atomic step that records the access
        request in the audit trail (and in the device's own history, when it has one)."""
        lt = self._lifetimes
        args: list[str | int] = [now_ms, now_ms - lt.retention_ms, site, lt.retention_ms, source, *flat(dict(extra))]
        try:
            async with asyncio.timeout(timeout_s):
                raw, history = await self._access(keys=_keys_with(site, device_id, _rid()), args=args)
        except REDIS_ERRORS as exc:
            raise unavailable(exc) from exc
        return Held(_pairs(raw), [_pairs(fields) for _, fields in history])

    async def erase(
        self,
        site: str,
        device_id: str,
        now_ms: int,
        timeout_s: float,
        *,
        account_opted_out: bool = False,
        source: Source = Source.API,
        extra: Mapping[str, str] | None = None,
        sale_share: tuple[str, ...] = (),
    ) -> Erased:
        """Delete a device's history and personal fields in one atomic step, keeping only the bare
        fact of an opt-out (a tombstone: deleting it would switch the sale back on), including the
        opt-out of the account it was linked to (`sale_share`: the purposes whose refusal is kept).
        The audit reference and the account link go too,
        so earlier audit entries can no longer be tied to the device. The deletion is recorded."""
        lt = self._lifetimes
        args: list[str | int] = [
            now_ms,
            lt.retention_ms,
            now_ms - lt.retention_ms,
            site,
            int(account_opted_out),
            source,
        ]
        args += [",".join(sale_share), *flat(dict(extra or {}))]
        args.append(self._partners(site, SubjectKind.DEVICE, device_id))
        try:
            async with asyncio.timeout(timeout_s):
                keys = _keys_with(site, device_id, _rid(), "out", "due", "dst")
                found, kept, account = await self._erase(keys=keys, args=args)
        except REDIS_ERRORS as exc:
            raise unavailable(exc) from exc
        return Erased(tombstone=_pairs(kept) or None, found=found == 1, account=account or None)

    async def carried(self, site: str, timeout_s: float) -> list[tuple[int, str]]:
        """Accounts owed an opt-out by a linked device's change ((bucket, account) pairs): the
        queue the change wrote atomically, read from every bucket (pipelined, no SCAN)."""
        keys = [f"{KEY_VERSION}:{{{site}.{bucket:04d}}}:carry" for bucket in range(BUCKETS)]
        owed: list[tuple[int, str]] = []
        for batch in range(0, BUCKETS, PIPELINE_BATCH):
            try:
                async with asyncio.timeout(timeout_s):
                    pipe = self._redis.pipeline(transaction=False)
                    for key in keys[batch : batch + PIPELINE_BATCH]:
                        pipe.smembers(key)
                    results: list[Any] = await pipe.execute()
            except REDIS_ERRORS as exc:
                raise unavailable(exc) from exc
            owed += [(batch + i, account) for i, members in enumerate(results) for account in members]
        return owed

    async def carry_done(self, site: str, bucket: int, account: str, timeout_s: float) -> None:
        try:
            async with asyncio.timeout(timeout_s):
                await self._redis.srem(f"{KEY_VERSION}:{{{site}.{bucket:04d}}}:carry", account)
        except REDIS_ERRORS as exc:
            raise unavailable(exc) from exc

    async def covered_by_account(self, site: str, device_id: str, now_ms: int, timeout_s: float) -> int:
        """A device just linked to an account that had opted out: the partners hear that this
        device is opted out now, unless its own opt-out told them already. Returns the events written."""
        lt = self._lifetimes
        args: list[str | int] = [
            now_ms,
            now_ms - lt.retention_ms,
            lt.retention_ms,
            self._partners(site, SubjectKind.DEVICE, device_id),
        ]
        keys = _keys_with(site, device_id, "out", "due", "dst")
        try:
            async with asyncio.timeout(timeout_s):
                return int(await self._covered(keys=[keys[0], *keys[3:]], args=args))
        except REDIS_ERRORS as exc:
            raise unavailable(exc) from exc

    async def link(
        self, site: str, device_id: str, account: str, now_ms: int, timeout_s: float, *, unlink: bool = False
    ) -> tuple[str | None, DeviceRecord | None]:
        """Link the device to an account (or unlink it from that account, only if linked to it),
        recorded in the audit trail. Returns the account it was linked to before, and the device's
        record after (None: no record)."""
        lt = self._lifetimes
        args: list[str | int] = [
            now_ms,
            lt.record_ttl_ms,
            lt.retention_ms,
            now_ms - lt.retention_ms,
            site,
            secrets.token_hex(8),
        ]
        try:
            async with asyncio.timeout(timeout_s):
                keys = list(device_keys(site, device_id))
                before, raw = await self._link(keys=keys, args=[*args, account, "unlink" if unlink else "link"])
        except REDIS_ERRORS as exc:
            raise unavailable(exc) from exc
        return before or None, parse_record(_pairs(raw)) if raw else None

    async def apply(self, change: Change, timeout_s: float) -> Applied:
        """Write a change with its history and audit entries in one atomic step, or nothing at all.

        Raises StoreUnavailable when Redis did not answer in time; the script's own deadline then
        guarantees that the change was not written and will not be.
        """
        try:
            async with asyncio.timeout(timeout_s):
                keys = _keys_with(change.site, change.device_id, "carry", "out", "due", "dst")
                deadline = await self._redis_deadline(timeout_s * DEADLINE_SHARE, keys[0])
                if self._replicas:
                    status, gpc_new, fields, *rest = await self._apply_and_wait(
                        keys, self._args(change, deadline), timeout_s
                    )
                else:
                    status, gpc_new, fields, *rest = await self._apply(keys=keys, args=self._args(change, deadline))
        except REDIS_ERRORS as exc:
            raise unavailable(exc) from exc
        if status == _TOO_LATE:
            raise unavailable(TimeoutError("the write reached Redis after its deadline and was not applied"))
        record = parse_record(_pairs(fields)) if status != _NOTHING else None
        return Applied(record=record, gpc_first_seen_now=gpc_new == 1, changed=_pairs(rest[0]) if rest else {})

    async def _apply_and_wait(self, keys: list[str], args: list[str | int], timeout_s: float) -> list[Any]:
        """The script, then WAIT on the same connection (WAIT counts that connection's writes), so the
        change is acknowledged only once the replicas have it. Fewer replicas in time: unavailable
        (the change stays written on the primary; retrying it is idempotent, by its change id)."""
        assert isinstance(self._redis, aioredis.Redis)
        pipe = self._redis.pipeline(transaction=False)
        await self._apply(keys=keys, args=args, client=pipe)
        pipe.execute_command("WAIT", self._replicas, max(1, int(timeout_s * 1000 * (1 - DEADLINE_SHARE))))
        result, acknowledged = await pipe.execute()
        if result[0] == _REPEATED:
            # A retry found the change already written, by a connection WAIT cannot see: unconfirmed.
            raise StoreUnavailable("a retried write could not be confirmed on the replicas")
        if result[0] == _WRITTEN and int(acknowledged) < self._replicas:
            raise StoreUnavailable(f"the write reached {acknowledged} of {self._replicas} replicas in time")
        return list(result)

    async def _redis_deadline(self, budget_s: float, key: str) -> int:
        """The deadline on the clock of the Redis that holds `key` (the script compares it with its
        own clock: on a cluster, each master's clock is measured, as they may differ); an offset is
        re-measured at most once a minute."""
        node, target = "", dict[str, Any]()
        if isinstance(self._redis, RedisCluster):
            await self._redis.initialize()  # the slot map (a no-op once known)
            owner = self._redis.get_node_from_key(key)
            if owner is not None:
                node, target = owner.name, {"target_nodes": owner}
        offset_ms, checked = self._clocks.get(node, (0, -CLOCK_RECHECK_S))
        if time.monotonic() - checked > CLOCK_RECHECK_S:
            offset_ms = await self._measure_clock(node, target)
        return int(time.time() * 1000) + offset_ms + int(budget_s * 1000)

    async def _measure_clock(self, node: str, target: dict[str, Any]) -> int:
        before = time.time()
        seconds, micros = await self._redis.time(**target)
        after = time.time()
        offset_ms = int(seconds * 1000 + micros // 1000 - (before + after) * 500)
        self._clocks[node] = (offset_ms, time.monotonic())
        return offset_ms

    def _args(self, change: Change, deadline_ms: int) -> list[str | int]:
        lt = self._lifetimes
        args: list[str | int] = [
            change.now_ms,
            change.now_ms // DAY_MS,
            lt.record_ttl_ms,
            lt.retention_ms,
            lt.provisional_ms,
            change.now_ms - lt.retention_ms,
            secrets.token_hex(8),
            int(change.gpc_seen),
            change.policy_version,
            change.action or "",
            change.source,
            change.regime,
            change.region or "",
            change.device_class,
            change.site,
            deadline_ms,
            secrets.token_hex(8),
            int(change.carry_to_account),
            lt.gpc_ms,
            "" if change.settles_pending_ms is None else change.settles_pending_ms,
            *flat(dict(change.audit_extra)),
            len(change.choices),
        ]
        for purpose, granted in change.choices.items():
            args += [purpose, int(granted)]
        # Only a change that can be an event carries the partners (a daily refresh cannot).
        eventful = change.action or change.gpc_seen or change.settles_pending_ms is not None
        args.append(self._partners(change.site, SubjectKind.DEVICE, change.device_id) if eventful else "")
        return args


def _warm_up(client: Client) -> asyncio.Task[Any] | None:
    """A cluster client learns the slot map and the command table on its first command (~10 ms
    here, more under load). Made in a running loop (the app's startup), the store starts that at
    once, in the background, so that the first decisions do not spend their budget on it. If it
    fails (the cluster is down), the client tries again on the next command, as always."""
    if not isinstance(client, RedisCluster):
        return None
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    task = loop.create_task(client.initialize())
    task.add_done_callback(lambda done: done.cancelled() or done.exception())  # retrieved: never "lost"
    return task


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
        account_opted_out=raw.get("tao") == "1",  # a deleted device's copy of its account's opt-out
        refreshed_day=_int(raw.get("rf")),
        created_ms=_int(raw.get("ct")),
        account=raw.get("acct") or None,
        settled_pending_ms=_int(raw.get("po")),
    )


def _pairs(flat_list: list[str]) -> dict[str, str]:
    """A Redis flat field/value list (as scripts return HGETALL) as a dict."""
    return dict(zip(flat_list[::2], flat_list[1::2], strict=True))


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


# KEYS: record, history, audit, the bucket's carry-over set (accounts owed an opt-out).
# ARGV: 1 now_ms, 2 day, 3 record ttl ms, 4 retention ms, 5 provisional ttl ms, 6 stream min id (ms),
#       7 new audit ref, 8 gpc seen (0/1), 9 policy version, 10 action ('' = none), 11 source,
#       12 regime, 13 region, 14 device class, 15 site, 16 deadline (Redis clock, ms), 17 change id,
#       18 carry an opt-out to the linked account (0/1), 19 ttl of a record with GPC (ms),
#       20 the acknowledgement time (ms) of a carried opt-out this change writes ('' = none),
#       21 number of audit fields for the action's entry, then name/value pairs (trail.flat), then
#       the number of choices, then purpose/granted pairs, then the partners' spec (partners.py, '' =
#       none). KEYS 5-7: the bucket's outbox (out, due, dst; store/outbox.py).
# Returns {status, 1 if GPC was first recorded now else 0, the record as a flat HGETALL list, and
# (when written) the purposes whose granted bit changed, each with its state before ('' = none)}.
#
# Timestamps are ordered by the sequence of writes, not by the callers' clocks (replicas' clocks
# differ): GPC's first-seen time is later than every earlier choice, and a choice made after GPC
# was recorded is later than it, unless it came in the same request as the first GPC signal.
_APPLY_LUA = """
local dev, log, audit, carry = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local out, due, dst = KEYS[5], KEYS[6], KEYS[7]
-- A retried change that already landed is reported as done, even after its deadline.
if redis.call('HGET', dev, 'lc') == ARGV[17] then
  return {0, 0, redis.call('HGETALL', dev)}
end
local t = redis.call('TIME')
if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > tonumber(ARGV[16]) then
  return {-1, 0, {}}
end
-- An opt-out carried in a token is written once: concurrent requests (the banner and the ad tags
-- call at once) or a replayed old token find it done.
local settles = tonumber(ARGV[20])
if settles and tonumber(redis.call('HGET', dev, 'po') or '-1') >= settles then
  return {0, 0, redis.call('HGETALL', dev)}
end
local fresh = redis.call('EXISTS', dev) == 0
if fresh and ARGV[10] == '' and ARGV[8] ~= '1' then
  return {-2, 0, {}}  -- a refresh of a record that expired or was deleted meanwhile: keep it gone
end
local now, day = tonumber(ARGV[1]), ARGV[2]
local function ms(n) return string.format('%.0f', n) end
local ref = redis.call('HGET', dev, 'ar')
if not ref then
  ref = ARGV[7]
  redis.call('HSET', dev, 'ar', ref, 'ct', ms(now))
end
redis.call('HSET', dev, 'lc', ARGV[17])
local function fields()
  local flat = redis.call('HGETALL', dev)
  local out = {}
  for i = 1, #flat, 2 do out[flat[i]] = flat[i + 1] end
  return out
end
local function choices_now()
  local out = {}
  for name, value in pairs(fields()) do
    if string.sub(name, 1, 2) == 'c:' then
      table.insert(out, string.sub(name, 3) .. '=' .. string.sub(value, 1, 1))
    end
  end
  table.sort(out)
  return table.concat(out, ',')
end
local extra, choices_at = with_extra({}, 21)
local n = tonumber(ARGV[choices_at])
local spec = outbox_spec(ARGV[choices_at + 1 + 2 * n])
local function trail(action, source, stamp, more)
  local entry = {'t', ms(stamp), 'site', ARGV[15], 'ref', ref, 'a', action, 's', source, 'rm', ARGV[12],
                 'rg', ARGV[13], 'pv', ARGV[9], 'c', choices_now(), 'dc', ARGV[14]}
  for _, v in ipairs(more) do table.insert(entry, v) end
  -- The change's id: its partner events are `<id>.<type>`, so the audit ties each delivery (its
  -- `partner_notified` entry) to this entry without the outbox holding the device's reference.
  if spec then
    table.insert(entry, 'ev')
    table.insert(entry, spec.eid)
  end
  audit_append(audit, ARGV[6], tonumber(ARGV[4]), entry)
  redis.call('XADD', log, 'MINID', '~', ARGV[6], '*', unpack(entry))
end
-- GPC first: its first-seen time is written before any choice of the same request, and after
-- every earlier choice.
local gpc_new = 0
local g1 = tonumber(redis.call('HGET', dev, 'g1') or '')
if ARGV[8] == '1' then
  if not g1 then
    g1 = now
    for name, value in pairs(fields()) do
      if string.sub(name, 1, 2) == 'c:' then
        local at = tonumber(string.match(value, '^[01]:(%d+)') or '0')
        if at >= g1 then g1 = at + 1 end
      end
    end
    redis.call('HSET', dev, 'g1', ms(g1))
    gpc_new = 1
    trail('gpc', 'gpc', g1, {'rq', 'opt_out', 'ans', 'complied'})
  end
  redis.call('HSET', dev, 'gd', day)
end
local stamp = now
if g1 and gpc_new == 0 and stamp <= g1 then stamp = g1 + 1 end
if gpc_new == 1 then stamp = g1 end
local changed = {}
for i = 0, n - 1 do
  local purpose, granted = ARGV[choices_at + 1 + 2 * i], ARGV[choices_at + 2 + 2 * i]
  local before = redis.call('HGET', dev, 'c:' .. purpose)
  local later = settles and before and tonumber(string.match(before, '^[01]:(%d+)') or '0') > settles
  if not later then  -- a carried opt-out never overwrites a choice made after it was acknowledged
    local was = before and string.sub(before, 1, 1) or ''
    if was ~= granted then
      table.insert(changed, purpose)
      table.insert(changed, was)
    end
    redis.call('HSET', dev, 'c:' .. purpose, granted .. ':' .. ms(stamp) .. ':' .. ARGV[9])
  end
end
if settles then redis.call('HSET', dev, 'po', ARGV[20]) end
-- The partners' events (store/outbox.py), in this same step: an opt-out where refusing a sale or
-- sharing is an opt-out (not in opt_in regimes, where nothing was sold without consent), a consent
-- withdrawn, a first GPC signal.
if spec then
  -- An agent acts from nowhere: the device's own last region and regime say what its refusal is.
  local regime, region = ARGV[12], ARGV[13]
  if ARGV[11] == 'agent' and redis.call('HEXISTS', dev, 'rm') == 1 then
    regime, region = redis.call('HGET', dev, 'rm'), redis.call('HGET', dev, 'rg') or ''
  end
  -- The clock of §7026 starts at the request: an agent's receipt, or a carried opt-out's acknowledgement.
  local asked = stamp
  for i = 1, #extra, 2 do if extra[i] == 'rcv' then asked = tonumber(extra[i + 1]) or stamp end end
  if settles then asked = settles end
  local ss, opted, withdrawn, any_opt, any_withdrawn = {}, {}, {}, false, false
  for _, purpose in ipairs(spec.ss) do ss[purpose] = true end
  for i = 1, #changed, 2 do
    local purpose, was = changed[i], changed[i + 1]
    if string.sub(redis.call('HGET', dev, 'c:' .. purpose) or '', 1, 1) == '0' then
      if ss[purpose] and regime ~= 'opt_in' then
        opted[purpose], any_opt = true, true
      elseif was == '1' then
        withdrawn[purpose], any_withdrawn = true, true
      end
    end
  end
  local data = {'rg', region, 'rm', regime, 'c', choices_now(), 's', ARGV[11],
                'g', redis.call('HEXISTS', dev, 'g1') == 1 and '1' or '0',
                'ao', redis.call('HEXISTS', dev, 'tao') == 1 and '1' or '0'}
  local minid, keep = ARGV[6], tonumber(ARGV[4])
  if gpc_new == 1 then outbox_emit(out, due, dst, spec, ms(g1), 'gpc', ss, data, minid, keep) end
  if any_opt then outbox_emit(out, due, dst, spec, ms(asked), 'opt_out', opted, data, minid, keep) end
  if any_withdrawn then
    outbox_emit(out, due, dst, spec, ms(asked), 'consent_withdrawn', withdrawn, data, minid, keep)
  end
end
redis.call('HSET', dev, 'rf', day)
if ARGV[10] ~= '' then
  redis.call('HSET', dev, 'ut', ms(stamp), 'pv', ARGV[9], 'src', ARGV[11], 'rm', ARGV[12], 'rg', ARGV[13],
             'dc', ARGV[14])
  trail(ARGV[10], ARGV[11], stamp, extra)
end
-- An opt-out is kept for the retention period; a device first seen by a GPC sighting only
-- provisionally (until it comes back with its token); anything else for the record TTL.
local ttl = tonumber(ARGV[3])
if fresh and ARGV[10] == '' then ttl = tonumber(ARGV[5]) end
local flat = redis.call('HGETALL', dev)
for i = 1, #flat, 2 do
  local name, value = flat[i], flat[i + 1]
  if name == 'tao' or name == 'acct' or (string.sub(name, 1, 2) == 'c:' and string.sub(value, 1, 1) == '0') then
    ttl = tonumber(ARGV[4])
  elseif name == 'g1' and not (fresh and ARGV[10] == '') and ttl < tonumber(ARGV[19]) then
    ttl = tonumber(ARGV[19])
  end
end
-- The account-wide opt-out is owed: queued here, atomically with the change (drained by the service).
local account = redis.call('HGET', dev, 'acct')
if ARGV[18] == '1' and account then redis.call('SADD', carry, account) end
-- Slide forward, never shorten (Redis 6.2 has no EXPIRE GT). History lives as long as the audit.
for key, keep in pairs({[dev] = ttl, [log] = tonumber(ARGV[4])}) do
  local current = redis.call('PTTL', key)
  if current == -1 or (current >= 0 and current < keep) then redis.call('PEXPIRE', key, keep) end
end
return {1, gpc_new, flat, changed}
"""


# KEYS: record, out, due, dst. ARGV: 1 now_ms, 2 stream min id, 3 retention ms, 4 the partners' spec.
# Returns how many events were written.
_COVERED_LUA = """
local dev = KEYS[1]
local spec = outbox_spec(ARGV[4])
if not spec then return 0 end
local ss, own = {}, true
for _, purpose in ipairs(spec.ss) do
  ss[purpose] = true
  if string.sub(redis.call('HGET', dev, 'c:' .. purpose) or '', 1, 1) ~= '0' then own = false end
end
if own then return 0 end  -- the device's own opt-out was told already
local choices = {}
for _, name in ipairs(redis.call('HKEYS', dev)) do
  if string.sub(name, 1, 2) == 'c:' and not ss[string.sub(name, 3)] then
    table.insert(choices, string.sub(name, 3) .. '=' .. string.sub(redis.call('HGET', dev, name), 1, 1))
  end
end
for purpose in pairs(ss) do table.insert(choices, purpose .. '=0') end
table.sort(choices)
local gpc = redis.call('HEXISTS', dev, 'g1') == 1 and '1' or '0'
local data = {'rg', redis.call('HGET', dev, 'rg') or '', 'rm', redis.call('HGET', dev, 'rm') or '',
              'c', table.concat(choices, ','), 's', 'account', 'g', gpc, 'ao', '1'}
return outbox_emit(KEYS[2], KEYS[3], KEYS[4], spec, ARGV[1], 'opt_out', ss, data, ARGV[2], tonumber(ARGV[3]))
"""


# KEYS: record, history, audit, request id marker. ARGV: 1 now_ms, 2 retention ms, 3 stream min id,
# 4 site, 5 the linked account had opted out (0/1), 6 source, 7 the sale/share purpose ids (comma
# separated), 8 number of request fields for the entry, then name/value pairs, then the partners'
# spec (partners.outbox_spec). KEYS 5-7: the bucket's outbox (out, due, dst).
# Returns {1 if anything was held else 0, the tombstone as a flat list, the account it was linked to}.
_ERASE_LUA = """
local dev, log, audit = KEYS[1], KEYS[2], KEYS[3]
local found = redis.call('EXISTS', dev) + redis.call('EXISTS', log) > 0
local account = redis.call('HGET', dev, 'acct') or ''
local region = redis.call('HGET', dev, 'rg') or ''
-- Deleting what is already only a tombstone deletes nothing new: the partners heard of it before.
local only_tombstone = redis.call('HEXISTS', dev, 'del') == 1 and redis.call('EXISTS', log) == 0
local sale_share = {}
for purpose in string.gmatch(ARGV[7], '[^,]+') do sale_share['c:' .. purpose] = true end
local kept = {}
local flat = redis.call('HGETALL', dev)
for i = 1, #flat, 2 do
  local name, value = flat[i], flat[i + 1]
  -- What must survive: a refused sale/share purpose, a GPC signal, the account's opt-out. Nothing
  -- else does (a refused analytics purpose is no opt-out of sale: deleting it is what was asked).
  if (sale_share[name] and string.sub(value, 1, 1) == '0') or name == 'g1' or name == 'tao' then
    table.insert(kept, name)
    table.insert(kept, value)
  end
end
-- The account's opt-out covered this device: its bare fact stays, without the link to the account.
if ARGV[5] == '1' and redis.call('HGET', dev, 'tao') ~= '1' then
  table.insert(kept, 'tao')
  table.insert(kept, '1')
end
redis.call('DEL', dev, log)
if #kept > 0 then
  table.insert(kept, 'del')
  table.insert(kept, ARGV[1])
  redis.call('HSET', dev, unpack(kept))
  redis.call('PEXPIRE', dev, tonumber(ARGV[2]))
end
-- The deletion itself is recorded (once per request id), without any reference to the device.
if first_time(KEYS[4]) then
  local entry = {'t', ARGV[1], 'site', ARGV[4], 'ref', '', 'a', 'delete', 's', ARGV[6],
                 'tomb', #kept > 0 and '1' or '0'}
  local _, spec_at = with_extra(entry, 8)
  audit_append(audit, ARGV[3], tonumber(ARGV[2]), entry)
  -- The partners hear of the deletion; what they get carries no reference to the device's audit.
  if found and not only_tombstone then
    local choices = {}
    for i = 1, #kept, 2 do
      if string.sub(kept[i], 1, 2) == 'c:' then
        table.insert(choices, string.sub(kept[i], 3) .. '=' .. string.sub(kept[i + 1], 1, 1))
      end
    end
    table.sort(choices)
    local data = {'rg', region, 'rm', '', 'c', table.concat(choices, ','), 's', ARGV[6],
                  'g', redis.call('HEXISTS', dev, 'g1') == 1 and '1' or '0',
                  'ao', redis.call('HEXISTS', dev, 'tao') == 1 and '1' or '0'}
    outbox_emit(KEYS[5], KEYS[6], KEYS[7], outbox_spec(ARGV[spec_at]), ARGV[1], 'deletion', nil, data, ARGV[3],
                tonumber(ARGV[2]))
  end
end
return {found and 1 or 0, kept, account}
"""


# KEYS: record, history, audit, request id marker. ARGV: 1 now_ms, 2 stream min id, 3 site,
# 4 retention ms, 5 source, 6 number of request fields, then name/value pairs.
# Returns {the record as a flat list, the history (XRANGE)}.
_ACCESS_LUA = """
local dev, log, audit = KEYS[1], KEYS[2], KEYS[3]
local record = redis.call('HGETALL', dev)
local history = redis.call('XRANGE', log, '-', '+')
local ref = redis.call('HGET', dev, 'ar')
if first_time(KEYS[4]) then
  local entry = with_extra({'t', ARGV[1], 'site', ARGV[3], 'ref', ref or '', 'a', 'access', 's', ARGV[5]}, 6)
  audit_append(audit, ARGV[2], tonumber(ARGV[4]), entry)
  if ref then  -- a live device (not a deleted one's tombstone) keeps its request in its own history
    redis.call('XADD', log, 'MINID', '~', ARGV[2], '*', unpack(entry))
    if redis.call('PTTL', log) < tonumber(ARGV[4]) then redis.call('PEXPIRE', log, tonumber(ARGV[4])) end
  end
end
return {record, history}
"""


# KEYS: record, history, audit. ARGV: 1 now_ms, 2 record ttl ms, 3 retention ms, 4 stream min id,
# 5 site, 6 new audit reference, 7 the account's pseudonym, 8 'link' or 'unlink' (only from that account).
# Returns {the account linked before ('' = none), the record as a flat list ({} = none)}.
_LINK_LUA = """
local dev, log, audit = KEYS[1], KEYS[2], KEYS[3]
local before = redis.call('HGET', dev, 'acct') or ''
local unlink = ARGV[8] == 'unlink'
if (before == ARGV[7]) ~= unlink then
  return {before, redis.call('HGETALL', dev)}  -- nothing to change: nothing recorded
end
local now = ARGV[1]
local fresh = redis.call('EXISTS', dev) == 0
if unlink then
  redis.call('HDEL', dev, 'acct', 'al')
else
  if fresh then redis.call('HSET', dev, 'ct', now) end
  -- A deleted device's tombstone has no audit reference any more: it gets a new one.
  redis.call('HSETNX', dev, 'ar', ARGV[6])
  redis.call('HSET', dev, 'acct', ARGV[7], 'al', now)
end
local entry = {'t', now, 'site', ARGV[5], 'ref', redis.call('HGET', dev, 'ar'), 'a', ARGV[8], 's', 'account'}
audit_append(audit, ARGV[4], tonumber(ARGV[3]), entry)
redis.call('XADD', log, 'MINID', '~', ARGV[4], '*', unpack(entry))
-- A linked record lives as long as the audit (the account may opt out through another device).
for key, keep in pairs({[dev] = tonumber(ARGV[unlink and 2 or 3]), [log] = tonumber(ARGV[3])}) do
  local current = redis.call('PTTL', key)
  if current == -1 or (current >= 0 and current < keep) then redis.call('PEXPIRE', key, keep) end
end
return {before, redis.call('HGETALL', dev)}
"""
