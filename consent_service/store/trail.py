"""The audit trail's streams: one per bucket (`cs1:{<site>.<bucket>}:audit`), read by time range.

Entries are written by the Lua scripts of `records` and `accounts`, in the same atomic step as the
change they record. This module reads them back (a k-way merge over every bucket, never KEYS or
SCAN), trims them by age, and shapes the optional fields a privacy request adds to an entry.

Entry fields: `t` time (ms), `site`, `ref` the device's or account's random audit reference ('' once
deleted, or for a deletion), `a` action, `s` source, `sub` `account` for an account's entries,
`rm` regime, `rg` region, `pv` policy version, `c` choices after, `dc` device class; for requests
(CCPA §7101) `rq` the request type, `rcv` when it was received (ms), `ans` `complied`/`denied`,
`why` the reason for a denial, `ag`/`agr` the authorized agent and its reference.
"""

from __future__ import annotations

import asyncio
import heapq
import secrets
from collections import deque
from collections.abc import AsyncIterator, Mapping
from typing import Any

from consent_service.core.identity import BUCKETS
from consent_service.core.model import Agent
from consent_service.core.vocab import RequestType
from consent_service.store import scripts
from consent_service.store.connect import Client
from consent_service.store.errors import REDIS_ERRORS, unavailable

KEY_VERSION = "cs1"
AUDIT_PAGE = 200  # audit entries read per bucket at a time, at most
FIRST_PAGE = 8  # the first read of each bucket when merging (1024 buckets × 8 entries)
PIPELINE_BATCH = 128  # commands per pipelined round trip when touching every bucket

COMPLIED, DENIED = "complied", "denied"


def audit_key(site: str, bucket: int) -> str:
    return f"{KEY_VERSION}:{{{site}.{bucket:04d}}}:audit"


def request_fields(
    request: RequestType | None,
    *,
    received_ms: int | None = None,
    agent: Agent | None = None,
    denied: str | None = None,
) -> dict[str, str]:
    """The fields a privacy request adds to its audit entry (empty for a plain change)."""
    fields: dict[str, str] = {}
    if request is not None:
        fields = {"rq": request.value, "ans": DENIED if denied else COMPLIED}
        if denied:
            fields["why"] = denied
        if received_ms is not None:
            fields["rcv"] = str(received_ms)
    if agent is not None:
        fields |= {"ag": agent.name, "agr": agent.reference}
    return fields


class Trail:
    """Reads and trims a site's audit streams."""

    def __init__(self, client: Client) -> None:
        self._redis = client
        self._record = client.register_script(scripts.AUDIT_RECORD)

    async def read(self, site: str, from_ms: int, to_ms: int, timeout_s: float) -> AsyncIterator[dict[str, str]]:
        """A site's entries in time order, merged from every bucket's stream without KEYS or SCAN.

        Memory stays bounded: each bucket starts with a small page (FIRST_PAGE entries, so the
        first row goes out after reading about 8,000 entries, not 200,000), and a bucket that runs
        dry is refilled with pages that grow up to AUDIT_PAGE."""
        keys = [audit_key(site, bucket) for bucket in range(BUCKETS)]
        end = f"{to_ms}-18446744073709551615"
        heads: list[tuple[tuple[int, int], int, dict[str, str]]] = []
        pages: dict[int, deque[tuple[str, dict[str, str]]]] = {}
        sizes = dict.fromkeys(range(len(keys)), FIRST_PAGE)
        starts = [(i, f"{max(from_ms, 0)}-0") for i in range(len(keys))]
        for index, entries in (await self._pages(starts, keys, end, FIRST_PAGE, timeout_s)).items():
            pages[index] = deque(entries)
            _push(heads, index, pages)
        while heads:
            _, index, fields = heapq.heappop(heads)
            yield fields
            if not pages[index]:
                sizes[index] = min(sizes[index] * 4, AUDIT_PAGE)
                more = await self._pages([(index, "(" + fields["_id"])], keys, end, sizes[index], timeout_s)
                pages[index] = deque(more.get(index, []))
            _push(heads, index, pages)

    async def read_unordered(
        self, site: str, from_ms: int, to_ms: int, timeout_s: float
    ) -> AsyncIterator[dict[str, str]]:
        """A site's entries in a time range, bucket after bucket (for counting, where order does not
        matter): one page in memory at a time."""
        end = f"{to_ms}-18446744073709551615"
        for bucket in range(BUCKETS):
            key, start = [audit_key(site, bucket)], f"{max(from_ms, 0)}-0"
            while True:
                page = (await self._pages([(0, start)], key, end, AUDIT_PAGE, timeout_s)).get(0, [])
                for entry_id, fields in page:
                    yield {**fields, "_id": entry_id}
                if len(page) < AUDIT_PAGE:
                    break
                start = "(" + page[-1][0]

    async def record_denial(
        self, site: str, now_ms: int, fields: Mapping[str, str], retention_ms: int, timeout_s: float
    ) -> None:
        """A request about no device or account that could be identified, so it was denied: in a
        random bucket so such entries spread like the rest, once per request id."""
        bucket = secrets.randbelow(BUCKETS)
        keys = [audit_key(site, bucket), f"{KEY_VERSION}:{{{site}.{bucket:04d}}}:rid:{secrets.token_hex(8)}"]
        entry = {"t": str(now_ms), "site": site, "ref": "", **fields}
        args: list[str | int] = [now_ms - retention_ms, retention_ms]
        for name, value in entry.items():
            args += [name, value]
        try:
            async with asyncio.timeout(timeout_s):
                await self._record(keys=keys, args=args)
        except REDIS_ERRORS as exc:
            raise unavailable(exc) from exc

    async def trim(self, site: str, before_ms: int, timeout_s: float) -> int:
        """Drop every entry older than `before_ms` from each of the site's bucket streams, also in
        buckets that stopped receiving writes (a write trims only its own bucket). Returns how many
        entries went. Idempotent, so several replicas may run it at once."""
        removed = 0
        keys = [audit_key(site, bucket) for bucket in range(BUCKETS)]
        for batch in range(0, len(keys), PIPELINE_BATCH):
            try:
                async with asyncio.timeout(timeout_s):
                    pipe = self._redis.pipeline(transaction=False)
                    for key in keys[batch : batch + PIPELINE_BATCH]:
                        pipe.execute_command("XTRIM", key, "MINID", before_ms)
                    removed += sum(await pipe.execute())
            except REDIS_ERRORS as exc:
                raise unavailable(exc) from exc
        return removed

    async def _pages(
        self, starts: list[tuple[int, str]], keys: list[str], end: str, count: int, timeout_s: float
    ) -> dict[int, list[tuple[str, dict[str, str]]]]:
        out: dict[int, list[tuple[str, dict[str, str]]]] = {}
        for batch in range(0, len(starts), PIPELINE_BATCH):
            chunk = starts[batch : batch + PIPELINE_BATCH]
            try:
                async with asyncio.timeout(timeout_s):
                    pipe = self._redis.pipeline(transaction=False)
                    for index, start in chunk:
                        pipe.xrange(keys[index], start, end, count=count)
                    results: list[Any] = await pipe.execute()
            except REDIS_ERRORS as exc:
                raise unavailable(exc) from exc
            for (index, _), entries in zip(chunk, results, strict=True):
                if entries:
                    out[index] = [(entry_id, dict(fields)) for entry_id, fields in entries]
        return out


def _push(
    heads: list[tuple[tuple[int, int], int, dict[str, str]]],
    index: int,
    pages: dict[int, deque[tuple[str, dict[str, str]]]],
) -> None:
    """Put the next entry of bucket `index` (if any) on the merge heap, ordered by stream id."""
    if pages.get(index):
        entry_id, fields = pages[index].popleft()
        ms, _, seq = entry_id.partition("-")
        heapq.heappush(heads, ((int(ms), int(seq or 0)), index, {**fields, "_id": entry_id}))
