"""One Global Vendor List resource fetched from a URL (the list, or one translation) and its last good
copy, kept in memory, in Redis (shared by every worker and replica) and on disk (for a restart).

`step()` is one round of upkeep, run by tcf/gvl_source.py's background task; it never raises and never
drops a good copy:

1. at the first round, the disk copy (when there is one) is taken;
2. while the copy in use is fresh (before its max-age ran out) nothing else happens;
3. a newer copy in Redis (another process fetched it) is taken: no fetch;
4. after a failed fetch, nothing until the backoff has passed;
5. one process claims the fetch in Redis (the others take its result at a later round), GETs the URL
   (If-None-Match with the copy's ETag), checks what came (`read` raises GvlError for junk), and
   shares a good copy in Redis and on disk. A failure keeps the last good copy, logs, and backs off
   (doubling, capped), holding the claim so the other processes back off with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Generic, TypeVar
from urllib.parse import urlsplit

import httpx2

from consent_service.core.gvl import GvlError
from consent_service.store import StoreUnavailable
from consent_service.store.gvl_cache import CachedCopy, GvlCache
from consent_service.tcf import gvl_disk
from consent_service.tcf.gvl_fetch import FetchError, fetch

log = logging.getLogger("consent_service.tcf.gvl")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """How often and how patiently to fetch; small values in tests."""

    timeout_s: float = 30.0  # the whole exchange (the list is about 1.5 MB before compression)
    min_age_s: float = 300.0  # never asked again sooner, whatever max-age says
    max_age_s: float = 7 * 86_400.0  # asked again at least weekly (IAB publishes weekly)
    default_age_s: float = 3600.0  # an answer without max-age
    backoff_s: float = 60.0  # after a failed fetch; doubled for each failure in a row
    backoff_cap_s: float = 3600.0

    def age_s(self, max_age_s: float | None) -> float:
        return min(self.max_age_s, max(self.min_age_s, self.default_age_s if max_age_s is None else max_age_s))

    def backoff(self, failures: int) -> float:
        return min(self.backoff_cap_s, self.backoff_s * 2.0 ** min(failures - 1, 30))


class Resource(Generic[T]):
    """`value` is the last good copy read by `read` (None until one was found), `source` where it came
    from: `disk`, `redis` or `fetched`."""

    def __init__(
        self,
        label: str,
        url: str,
        read: Callable[[bytes], T],
        describe: Callable[[T], str],
        *,
        max_bytes: int,
        policy: FetchPolicy,
        client: httpx2.AsyncClient,
        cache: GvlCache | None,
        directory: Path | None,
        clock: Callable[[], float],
    ) -> None:
        self.label, self.url = label, url
        self.name = f"{label}.{hashlib.sha256(url.encode()).hexdigest()[:16]}"  # another URL: another copy
        self._where = "".join(urlsplit(url)[1:3])  # host and path, for logs
        self._read, self._describe, self._max_bytes, self._policy = read, describe, max_bytes, policy
        self._client, self._cache, self._directory, self._clock = client, cache, directory, clock
        self.value: T | None = None
        self.copy: CachedCopy | None = None
        self.source = "none"
        self.last_error: str | None = None
        self._failures = 0
        self._retry_at = 0.0
        self._disk_checked = directory is None

    def fresh(self) -> bool:
        return self.copy is not None and self.copy.expires_ms > self._clock() * 1000

    async def step(self) -> None:
        if not self._disk_checked:
            self._disk_checked = True
            assert self._directory is not None
            found = await asyncio.to_thread(gvl_disk.read, self._directory, self.name)
            if found is not None:
                self._take_cached(found, "disk")
        if self.fresh() or await self._take_shared():
            return
        if self._clock() < self._retry_at or not await self._claim():
            return
        await self._fetch()

    async def _take_shared(self) -> bool:
        """Take a newer copy from Redis; True when the copy in use is fresh now."""
        if self._cache is None:
            return False
        try:
            shared_ms = await self._cache.fetched_ms(self.name)
            if shared_ms is None or (self.copy is not None and shared_ms <= self.copy.fetched_ms):
                return False
            shared = await self._cache.read(self.name)
        except StoreUnavailable:
            return False  # Redis is an optimisation here: the fetch goes on without it
        return shared is not None and self._take_cached(shared, "redis") and self.fresh()

    async def _claim(self) -> bool:
        if self._cache is None:
            return True
        try:  # held for one fetch; a process that dies while fetching frees it by then
            return await self._cache.claim(self.name, int((self._policy.timeout_s + 5) * 1000))
        except StoreUnavailable:
            return True

    async def _fetch(self) -> None:
        now = self._clock()
        etag = self.copy.etag if self.copy is not None else None
        try:
            got = await fetch(
                self._client, self.url, etag=etag, timeout_s=self._policy.timeout_s, max_bytes=self._max_bytes
            )
            if got.body is None and self.copy is None:
                raise FetchError("304 without a copy to keep")
        except FetchError as exc:
            await self._failed(now, str(exc))
            return
        expires_ms = int((now + self._policy.age_s(got.max_age_s)) * 1000)
        if got.body is None and self.copy is not None:  # 304: the copy in use is current for another max-age
            copy = replace(self.copy, fetched_ms=int(now * 1000), expires_ms=expires_ms, etag=got.etag)
        else:
            copy = CachedCopy(got.body or b"", int(now * 1000), expires_ms, got.etag)
        error = self._take(copy, "fetched")
        if error is not None:
            await self._failed(now, f"not a usable file: {error}")
            return
        self._failures, self._retry_at, self.last_error = 0, 0.0, None
        await self._share(copy)

    def _take_cached(self, copy: CachedCopy, source: str) -> bool:
        error = self._take(copy, source)
        if error is not None:  # e.g. written by another version of the service: the next fetch replaces it
            log.warning("GVL %s: the copy in %s is not usable (%s)", self.label, source, error)
        return error is None

    def _take(self, copy: CachedCopy, source: str) -> str | None:
        """Use `copy` from now on when it reads well; else why not (and the copy in use is kept)."""
        if self.copy is not None and copy.body == self.copy.body:
            self.copy, self.source = copy, source  # the same bytes confirmed again: only the times change
            return None
        try:
            copy.body.decode()  # Redis takes text, and a real list is UTF-8
            value = self._read(copy.body)
        except (GvlError, UnicodeDecodeError) as exc:
            return str(exc)[:200]
        self.value, self.copy, self.source = value, copy, source
        log.info("GVL %s: %s, from %s (%s)", self.label, self._describe(value), source, self._where)
        return None

    async def _failed(self, now: float, reason: str) -> None:
        self._failures += 1
        wait = self._policy.backoff(self._failures)
        self._retry_at, self.last_error = now + wait, reason
        kept = f"kept the copy from {self.source}" if self.copy is not None else "none fetched yet"
        log.warning(
            "GVL %s: fetch from %s failed (%s); %s; next try in %d s", self.label, self._where, reason, kept, wait
        )
        if self._cache is not None:
            with contextlib.suppress(StoreUnavailable):
                await self._cache.hold(self.name, int(wait * 1000))

    async def _share(self, copy: CachedCopy) -> None:
        if self._cache is not None:
            try:
                await self._cache.write(self.name, copy)
                await self._cache.release(self.name)
            except StoreUnavailable:
                log.warning("GVL %s: not shared in Redis (unavailable); other processes fetch it", self.label)
        if self._directory is not None:
            try:
                await asyncio.to_thread(gvl_disk.write, self._directory, self.name, copy)
            except OSError as exc:
                log.warning("GVL %s: not written to %s (%s)", self.label, self._directory, type(exc).__name__)
