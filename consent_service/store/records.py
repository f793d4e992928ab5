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

Redis 6.2 commands only: the write is one Lua script (lua/record_apply.lua: atomic, one round trip,
Cluster-safe since its keys share a slot), which also extends TTLs without ever shortening them (no
`EXPIRE GT`). The scripts are loaded by scripts.py; this module builds their keys and arguments.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import time
from collections.abc import Mapping
from typing import Any

from redis.asyncio.cluster import RedisCluster

from consent_service.core.clock import now_ms
from consent_service.core.identity import BUCKETS
from consent_service.core.model import DeviceRecord
from consent_service.core.partner import NO_PARTNERS, OutboxSpecs, SubjectKind
from consent_service.core.vocab import Source
from consent_service.store import scripts
from consent_service.store.accounts import Accounts, account_key
from consent_service.store.connect import Client, Reader, close_client, connect
from consent_service.store.errors import REDIS_ERRORS, unavailable
from consent_service.store.outbox import Outbox
from consent_service.store.reader import ReaderError
from consent_service.store.record_data import (
    Applied,
    Change,
    Erased,
    Held,
    Lifetimes,
    apply_fields,
    device_keys,
    keys_with,
    parse_record,
    record_key,
)
from consent_service.store.replicated import REPEATED, WRITTEN, ReplicatedWrites
from consent_service.store.scripts import named, pairs
from consent_service.store.sessions import SessionRevocations
from consent_service.store.slots import slot_owner
from consent_service.store.trail import KEY_VERSION, PIPELINE_BATCH, Trail


def _rid() -> str:
    """A request id: a script that records a request writes its audit entry once per id, so a
    client's automatic retry after a dropped connection cannot record the request twice."""
    return "rid:" + secrets.token_hex(8)


# Status codes returned by the write script.
_WRITTEN, _REPEATED, _TOO_LATE, _NOTHING = WRITTEN, REPEATED, -1, -2
CLOCK_RECHECK_S = 60.0
# The script refuses to write once this share of the caller's timeout has passed (on Redis's clock),
# so a write that stalled in Redis cannot land after its caller was told it failed.
DEADLINE_SHARE = 0.8


class Store:
    """Device records in Redis. Every method raises StoreUnavailable and nothing else from Redis."""

    def __init__(
        self, client: Client, lifetimes: Lifetimes, reader: Reader | None = None, *, replicas: int = 0
    ) -> None:
        self._redis = client
        self._reader = reader
        # Writes wait for this many replicas (WAIT) before they count as done (replicated.py).
        self._replicated = ReplicatedWrites(client, replicas) if replicas else None
        self._lifetimes = lifetimes
        self._apply = client.register_script(scripts.RECORD_APPLY)
        self._erase = client.register_script(scripts.RECORD_ERASE)
        self._access = client.register_script(scripts.RECORD_ACCESS)
        self._link = client.register_script(scripts.RECORD_LINK)
        self._covered = client.register_script(scripts.RECORD_COVERED)
        self.trail = Trail(client)
        self.accounts = Accounts(client, lifetimes.retention_ms)
        self.outbox = Outbox(client, lifetimes.retention_ms)
        self.sessions = SessionRevocations(client)  # the admin pages' signed-out sessions
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
        sources = [s.script for s in (self._apply, self._erase, self._access, self._link)]
        try:
            async with asyncio.timeout(timeout_s):
                if self._warm_up is not None:
                    await asyncio.shield(self._warm_up)
                for source in sources:
                    await self._redis.script_load(source)  # on a cluster, on every master
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
        if self._replicated is not None:
            await self._replicated.close()
        await close_client(self._redis)
        # A connection dropped after an error was closed without waiting (redis-py's nowait): its
        # socket closes on a later turn of the loop, which must come before the loop itself ends.
        for _ in range(3):
            await asyncio.sleep(0)

    async def ping(self, timeout_s: float) -> bool:
        """Redis answers; on a cluster, every master does (a missing one fails a share of writes)."""
        return not await self.unreachable(timeout_s)

    async def unreachable(self, timeout_s: float) -> tuple[str, ...]:
        """What does not answer PING: nothing (ready), `redis`, or on a cluster each master that does
        not (host:port, as the slot map names it), or `cluster` when no node gives a slot map."""
        if not isinstance(self._redis, RedisCluster):
            return () if await self._answers(self._redis.ping(), timeout_s) else ("redis",)
        if not await self._answers(self._redis.initialize(), timeout_s):
            return ("cluster",)
        primaries = self._redis.get_primaries()
        answers = await asyncio.gather(
            *(self._answers(self._redis.ping(target_nodes=node), timeout_s) for node in primaries)
        )
        return tuple(sorted(node.name for node, ok in zip(primaries, answers, strict=True) if not ok))

    @staticmethod
    async def _answers(call: Any, timeout_s: float) -> bool:
        try:
            async with asyncio.timeout(timeout_s):
                await call
        except REDIS_ERRORS:
            return False
        return True

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
        fields = {
            "now_ms": now_ms,
            "min_id": now_ms - lt.retention_ms,
            "site": site,
            "retention_ms": lt.retention_ms,
            "source": source,
            "request": pairs(extra),
        }
        try:
            async with asyncio.timeout(timeout_s):
                raw, history = await self._access(keys=keys_with(site, device_id, _rid()), args=[named(fields)])
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
        fields = {
            "now_ms": now_ms,
            "retention_ms": lt.retention_ms,
            "min_id": now_ms - lt.retention_ms,
            "site": site,
            "account_opted_out": account_opted_out,
            "source": source,
            "sale_share": list(sale_share),
            "request": pairs(extra or {}),
        }
        args: list[bytes | str] = [named(fields), self._partners(site, SubjectKind.DEVICE, device_id)]
        try:
            async with asyncio.timeout(timeout_s):
                keys = keys_with(site, device_id, _rid(), "out", "due", "dst")
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
        fields = {"now_ms": now_ms, "min_id": now_ms - lt.retention_ms, "retention_ms": lt.retention_ms}
        args: list[bytes | str] = [named(fields), self._partners(site, SubjectKind.DEVICE, device_id)]
        keys = keys_with(site, device_id, "out", "due", "dst")
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
        fields = {
            "now_ms": now_ms,
            "record_ttl_ms": lt.record_ttl_ms,
            "retention_ms": lt.retention_ms,
            "min_id": now_ms - lt.retention_ms,
            "site": site,
            "new_ref": secrets.token_hex(8),
            "account": account,
            "op": "unlink" if unlink else "link",
        }
        try:
            async with asyncio.timeout(timeout_s):
                keys = list(device_keys(site, device_id))
                before, raw = await self._link(keys=keys, args=[named(fields)])
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
                keys = keys_with(change.site, change.device_id, "carry", "out", "due", "dst")
                deadline = await self._redis_deadline(timeout_s * DEADLINE_SHARE, keys[0])
                if self._replicated is not None:
                    wait_ms = int(timeout_s * 1000 * (1 - DEADLINE_SHARE))
                    status, gpc_new, fields, *rest = await self._replicated.run(
                        self._apply, keys, self._args(change, deadline), wait_ms
                    )
                else:
                    status, gpc_new, fields, *rest = await self._apply(keys=keys, args=self._args(change, deadline))
        except REDIS_ERRORS as exc:
            raise unavailable(exc) from exc
        if status == _TOO_LATE:
            raise unavailable(TimeoutError("the write reached Redis after its deadline and was not applied"))
        record = parse_record(_pairs(fields)) if status != _NOTHING else None
        return Applied(record=record, gpc_first_seen_now=gpc_new == 1, changed=_pairs(rest[0]) if rest else {})

    async def _redis_deadline(self, budget_s: float, key: str) -> int:
        """The deadline on the clock of the Redis that holds `key` (the script compares it with its
        own clock: on a cluster, each master's clock is measured, as they may differ); an offset is
        re-measured at most once a minute."""
        node, target = "", dict[str, Any]()
        if isinstance(self._redis, RedisCluster):
            owner = await slot_owner(self._redis, key)
            if owner is not None:
                node, target = owner.name, {"target_nodes": owner}
        offset_ms, checked = self._clocks.get(node, (0, -CLOCK_RECHECK_S))
        if time.monotonic() - checked > CLOCK_RECHECK_S:
            offset_ms = await self._measure_clock(node, target)
        return now_ms() + offset_ms + int(budget_s * 1000)

    async def _measure_clock(self, node: str, target: dict[str, Any]) -> int:
        before = now_ms()
        seconds, micros = await self._redis.time(**target)
        after = now_ms()
        offset_ms = int(seconds * 1000 + micros // 1000 - (before + after) / 2)  # against the round trip's middle
        self._clocks[node] = (offset_ms, time.monotonic())
        return offset_ms

    def _args(self, change: Change, deadline_ms: int) -> list[bytes | str]:
        """The write script's ARGV (lua/record_apply.lua): the change by name, and the partners' spec."""
        # Only a change that can be an event carries the partners (a daily refresh cannot).
        eventful = change.action or change.gpc_seen or change.settles_pending_ms is not None
        spec = self._partners(change.site, SubjectKind.DEVICE, change.device_id) if eventful else ""
        fields = apply_fields(
            change,
            self._lifetimes,
            deadline_ms=deadline_ms,
            new_ref=secrets.token_hex(8),
            change_id=change.change_id or secrets.token_hex(8),
        )
        return [named(fields), spec]


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


def _pairs(flat_list: list[str]) -> dict[str, str]:
    """A Redis flat field/value list (as scripts return HGETALL) as a dict."""
    return dict(zip(flat_list[::2], flat_list[1::2], strict=True))
