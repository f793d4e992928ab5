"""The partner outbox (issue 7): events written with the change they report, delivered by leases.

Layout, per site and bucket (the audit's 1024 buckets, one Cluster slot each, so the change, its
audit entry and its events are one atomic script):
- `out`: a stream, one entry per (event, partner): the event id (shared by every partner of the
  event), type, partner, the partner's subject id, the event time and what the partner's GPP/USP
  strings are computed from (region, regime, choices after, GPC). Never the device's audit
  reference (a deletion must be able to cut that tie); an entry goes once it is delivered.
- `due`: a sorted set, entry id → when it may next be attempted (ms). An entry is in it until it is
  delivered or dead. A worker *claims* due entries by moving their score a lease ahead in one
  script, so two workers never hold the same entry at once; a worker that dies lets its lease run
  out and the entry comes due again (at-least-once).
- `dst`: a hash, entry id → its delivery state (JSON: status, attempts, last attempt and result,
  when delivered, when replayed) and `l:<entry id>` → the token of the lease holding it.
- `done` and `dead`: sorted sets of delivered and given-up entries (by when), for the listing.
- `att`: a stream of every attempt (entry, partner, attempt number, time, result), the proof.
A delivery also writes an audit entry (`partner_notified`, or `partner_failed` when given up) in the
bucket's audit stream, so the audit export shows when each event reached each partner. Event ids are
`<change id>.<type>`, and the change's own audit entry carries the change id (`ev`).

Every method raises StoreUnavailable and nothing else from Redis.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from consent_service.core.digits import ascii_int
from consent_service.core.identity import BUCKETS
from consent_service.store import scripts
from consent_service.store.connect import Client
from consent_service.store.errors import REDIS_ERRORS, unavailable
from consent_service.store.scripts import named
from consent_service.store.trail import KEY_VERSION, PIPELINE_BATCH, audit_key

Status = Literal["pending", "delivered", "dead"]
STATUSES: tuple[Status, ...] = ("pending", "delivered", "dead")
_STATUS_SET = {"pending": "due", "delivered": "done", "dead": "dead"}
REPLAY_BATCH = 500  # dead entries looked at per script


def outbox_keys(site: str, bucket: int) -> tuple[str, str, str]:
    """(out, due, dst) of a bucket: what a change's script needs to write events."""
    tag = f"{KEY_VERSION}:{{{site}.{bucket:04d}}}"
    return f"{tag}:out", f"{tag}:due", f"{tag}:dst"


def _bucket_keys(site: str, bucket: int) -> list[str]:
    """out, due, dst, done, dead, att and the audit stream of a bucket (one slot)."""
    tag = f"{KEY_VERSION}:{{{site}.{bucket:04d}}}"
    return [*outbox_keys(site, bucket), f"{tag}:done", f"{tag}:dead", f"{tag}:att", audit_key(site, bucket)]


@dataclass(frozen=True, slots=True)
class Claimed:
    """An outbox entry a worker holds a lease on."""

    site: str
    bucket: int
    entry_id: str  # the stream entry: one event for one partner
    fields: dict[str, str]  # ev, ty, pt, sub, sk, t, and the state fields (rg, rm, c, g, ref)
    state: dict[str, Any]  # n (attempts so far), rp (replayed at, ms), …
    token: str
    lease_until_ms: int = 0  # by the claiming worker's clock: deliver and settle before this

    @property
    def event_id(self) -> str:
        return self.fields["ev"]

    @property
    def partner(self) -> str:
        return self.fields["pt"]

    @property
    def created_ms(self) -> int:
        return int(self.fields["t"])

    @property
    def attempts(self) -> int:
        return int(self.state.get("n", 0))

    @property
    def window_start_ms(self) -> int:
        """Retries run for a while after this: the event's time, or its last replay."""
        return int(self.state.get("rp") or self.created_ms)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One (event, partner) as the listing shows it."""

    entry_id: str
    event_id: str
    type: str
    partner: str
    status: str
    created_ms: int
    attempts: int
    last_attempt_ms: int | None
    last_result: str | None
    delivered_ms: int | None


Outcome = Literal["delivered", "retry", "dead"]


class Outbox:
    def __init__(self, client: Client, retention_ms: int) -> None:
        self._redis = client
        self._retention_ms = retention_ms
        self._claim = client.register_script(scripts.OUTBOX_CLAIM)
        self._settle = client.register_script(scripts.OUTBOX_SETTLE)
        self._replay = client.register_script(scripts.OUTBOX_REPLAY)
        self._trim = client.register_script(scripts.OUTBOX_TRIM)

    async def due_buckets(self, site: str, now_ms: int, timeout_s: float) -> list[int]:
        """The buckets with an entry due now: one cheap ZRANGEBYSCORE per bucket, pipelined."""
        cmds = [("zrangebyscore", outbox_keys(site, b)[1], "-inf", now_ms, 0, 1) for b in range(BUCKETS)]
        return [b for b, ids in enumerate(await self._batched(timeout_s, cmds)) if ids]

    async def claim(
        self, site: str, bucket: int, *, now_ms: int, lease_ms: int, limit: int, token: str, timeout_s: float
    ) -> list[Claimed]:
        """Lease up to `limit` due entries of a bucket: no other worker gets them until the lease
        runs out or they are settled."""
        raw = await self._run(self._claim, _bucket_keys(site, bucket)[:3], [now_ms, lease_ms, limit, token], timeout_s)
        claimed = []
        for entry_id, flat, state in raw:
            fields = {str(k): str(v) for k, v in zip(flat[::2], flat[1::2], strict=True)}
            state_now = json.loads(state or "{}")
            claimed.append(Claimed(site, bucket, str(entry_id), fields, state_now, token, now_ms + lease_ms))
        return claimed

    async def settle(
        self,
        claimed: Claimed,
        *,
        outcome: Outcome,
        result: str,
        now_ms: int,
        next_ms: int = 0,
        timeout_s: float,
    ) -> bool:
        """Record an attempt and its outcome: delivered (with its audit entry), retry at `next_ms`,
        or dead. False when the lease had run out and another worker holds the entry: the attempt is
        recorded, a delivery too, but the schedule is the other worker's."""
        fields = {
            "entry_id": claimed.entry_id,
            "token": claimed.token,
            "now_ms": now_ms,
            "outcome": outcome,
            "next_ms": next_ms,
            "result": result[:200],
            "retention_ms": self._retention_ms,
            "min_id": now_ms - self._retention_ms,
            "site": claimed.site,
        }
        keys = _bucket_keys(claimed.site, claimed.bucket)
        return bool(await self._run(self._settle, keys, [named(fields)], timeout_s))

    async def replay(self, site: str, partner: str | None, now_ms: int, timeout_s: float) -> int:
        """Move dead entries (of one partner, or all) back to due, with a new retry window."""
        replayed = 0
        for bucket in await self.dead_buckets(site, timeout_s):
            keys = _bucket_keys(site, bucket)
            skipped = 0  # another partner's dead entries stay in front: read past them
            while True:  # in batches, so no one script holds Redis for long
                args: list[str | int] = [now_ms, partner or "", skipped, REPLAY_BATCH]
                moved, seen = await self._run(self._replay, [keys[1], keys[2], keys[4]], args, timeout_s)
                replayed += int(moved)
                skipped += int(seen) - int(moved)
                if int(seen) < REPLAY_BATCH:
                    break
        return replayed

    async def trim(self, site: str, before_ms: int, timeout_s: float) -> int:
        """Forget what was delivered or given up before `before_ms` (the retention period): their
        entries, states and attempts. Pending entries are never trimmed. Returns how many went."""
        removed = 0
        for bucket in range(BUCKETS):  # one script per bucket (an hourly pass: no need to pipeline)
            removed += int(await self._run(self._trim, _bucket_keys(site, bucket)[:6], [before_ms], timeout_s))
        return removed

    async def dead_buckets(self, site: str, timeout_s: float) -> list[int]:
        cmds = [("zcard", _bucket_keys(site, b)[4]) for b in range(BUCKETS)]
        counts = await self._batched(timeout_s, cmds)
        return [b for b, n in enumerate(counts) if n]

    async def listing(
        self, site: str, status: Status, *, partner: str | None, limit: int, timeout_s: float
    ) -> list[Delivery]:
        """The newest `limit` entries with a status (by when they were delivered or died, or for
        pending ones their next attempt), of one partner or all, merged over the buckets. With a
        partner, buckets are read page by page until `limit` of its entries are found or none is left."""
        index = {"due": 1, "done": 3, "dead": 4}[_STATUS_SET[status]]
        keys = [_bucket_keys(site, b)[index] for b in range(BUCKETS)]
        out: list[tuple[float, Delivery]] = []
        open_buckets, offset = list(range(BUCKETS)), 0
        while open_buckets:
            cmds = [("zrevrange", keys[b], offset, offset + limit - 1, "withscores") for b in open_buckets]
            pages = await self._batched(timeout_s, cmds)
            found = [
                (float(score), b, str(m)) for b, page in zip(open_buckets, pages, strict=True) for m, score in page
            ]
            states = await self._batched(timeout_s, [("hget", outbox_keys(site, b)[2], m) for _, b, m in found])
            for (score, _, entry), state in zip(found, states, strict=True):
                delivery = _delivery(entry, state)
                if delivery is not None and (partner is None or delivery.partner == partner):
                    out.append((score, delivery))
            # A bucket whose page was full may hold more; only a partner filter needs them.
            full = [b for b, page in zip(open_buckets, pages, strict=True) if len(page) == limit]
            if partner is None or len(out) >= limit:
                break
            open_buckets, offset = full, offset + limit
        out.sort(key=lambda item: item[0], reverse=True)
        return [delivery for _, delivery in out[:limit]]

    async def _batched(self, timeout_s: float, cmds: Sequence[tuple[Any, ...]]) -> list[Any]:
        results: list[Any] = []
        for first in range(0, len(cmds), PIPELINE_BATCH):
            results += await self._pipelined(timeout_s, cmds[first : first + PIPELINE_BATCH])
        return results

    async def _pipelined(self, timeout_s: float, cmds: Iterable[tuple[Any, ...]]) -> list[Any]:
        try:
            async with asyncio.timeout(timeout_s):
                pipe = self._redis.pipeline(transaction=False)
                for name, *args in cmds:
                    getattr(pipe, name)(*args)
                return list(await pipe.execute())
        except REDIS_ERRORS as exc:
            raise unavailable(exc) from exc

    async def _run(self, script: object, keys: list[str], args: Sequence[bytes | str | int], timeout_s: float) -> Any:
        try:
            async with asyncio.timeout(timeout_s):
                return await script(keys=keys, args=args)  # type: ignore[operator]
        except REDIS_ERRORS as exc:
            raise unavailable(exc) from exc


def _delivery(entry_id: str, raw: str | None) -> Delivery | None:
    if not raw:
        return None
    state = json.loads(raw)
    return Delivery(
        entry_id=entry_id,
        event_id=str(state.get("ev", "")),
        type=str(state.get("ty", "")),
        partner=str(state.get("pt", "")),
        status=str(state.get("st", "")),
        created_ms=int(state.get("t", 0)),
        attempts=int(state.get("n", 0)),
        last_attempt_ms=_opt_int(state.get("la")),
        last_result=state.get("lr"),
        delivered_ms=_opt_int(state.get("dl")),
    )


def _opt_int(value: object) -> int | None:
    return ascii_int(str(value)) if isinstance(value, int | float | str) else None
