"""The shared copy of the fetched Global Vendor List and its translations (tcf/gvl_source.py), so that
every worker and replica uses one fetch instead of each asking IAB:

    cs1:{gvl}:<name>         hash    body (the JSON as fetched), fetched_ms, expires_ms, etag
    cs1:{gvl}:<name>:fetch   string  "1" while one process fetches, or backs off after a failed fetch

<name> is the resource's label and a hash of its URL (`vendor-list.3f9c…`), so a copy fetched from
another URL is never taken for this one. A copy is kept for KEPT_MS, far past its max-age: a stale copy
is still the last good one when IAB cannot be reached. Each key is read and written alone (no step
spans two keys), so a cluster needs no common slot; the hash tag only keeps them together.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Final, TypeVar

from consent_service.core.digits import MS_DIGITS, ascii_int
from consent_service.store.connect import Client
from consent_service.store.errors import REDIS_ERRORS, unavailable
from consent_service.store.records import Store
from consent_service.store.trail import KEY_VERSION

KEPT_MS: Final = 90 * 86_400_000
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CachedCopy:
    """One fetched resource: its bytes as served, when it was fetched (or last confirmed unchanged by
    a 304), when it expires (its max-age), and its ETag (for If-None-Match)."""

    body: bytes
    fetched_ms: int
    expires_ms: int
    etag: str | None = None


def gvl_key(name: str) -> str:
    return f"{KEY_VERSION}:{{gvl}}:{name}"


class GvlCache:
    """Every method raises StoreUnavailable and nothing else from Redis."""

    def __init__(self, client: Client, timeout_s: float) -> None:
        self._redis = client
        self._timeout_s = timeout_s

    @classmethod
    def of(cls, store: Store, timeout_s: float) -> GvlCache:
        """On the store's own client (this package's; nothing outside the store sees it)."""
        return cls(store._redis, timeout_s)

    async def fetched_ms(self, name: str) -> int | None:
        """When the shared copy was fetched, without reading its body (which is large): enough to see
        whether it is newer than one's own."""
        raw = await self._bounded(self._redis.hget(gvl_key(name), "fetched_ms"))
        return ascii_int(_text(raw), max_digits=MS_DIGITS)

    async def read(self, name: str) -> CachedCopy | None:
        found = await self._bounded(self._redis.hgetall(gvl_key(name)))
        fetched, expires = (ascii_int(_text(found.get(f)), max_digits=MS_DIGITS) for f in ("fetched_ms", "expires_ms"))
        body = _text(found.get("body"))
        if fetched is None or expires is None or body is None:
            return None
        return CachedCopy(body.encode(), fetched, expires, _text(found.get("etag")) or None)

    async def write(self, name: str, copy: CachedCopy) -> None:
        """Replace the shared copy (`copy.body` is UTF-8: the caller refuses anything else). One HSET,
        so a reader never sees a body with another copy's times."""
        fields: dict[str, str | int] = {
            "body": copy.body.decode(),
            "fetched_ms": copy.fetched_ms,
            "expires_ms": copy.expires_ms,
            "etag": copy.etag or "",
        }
        await self._bounded(self._write(gvl_key(name), fields))

    async def _write(self, key: str, fields: dict[str, str | int]) -> None:
        await self._redis.hset(key, mapping=fields)  # type: ignore[arg-type]
        await self._redis.pexpire(key, KEPT_MS)

    async def claim(self, name: str, hold_ms: int) -> bool:
        """Whether this process may fetch now: nobody else is fetching or backing off. The claim lapses
        by itself after `hold_ms` (a fetcher that died frees it)."""
        return bool(await self._bounded(self._redis.set(f"{gvl_key(name)}:fetch", "1", nx=True, px=max(1, hold_ms))))

    async def release(self, name: str) -> None:
        """The fetch is done (its copy written): the next one, after its max-age, may be anyone's."""
        await self._bounded(self._redis.delete(f"{gvl_key(name)}:fetch"))

    async def hold(self, name: str, hold_ms: int) -> None:
        """Keep the others from fetching for `hold_ms` (after a failed fetch: everyone waits out one
        backoff, instead of each process asking again)."""
        await self._bounded(self._redis.set(f"{gvl_key(name)}:fetch", "1", px=max(1, hold_ms)))

    async def _bounded(self, command: Awaitable[T]) -> T:
        """One step against Redis within the timeout; its failure as StoreUnavailable."""
        try:
            async with asyncio.timeout(self._timeout_s):
                return await command
        except REDIS_ERRORS as exc:
            raise unavailable(exc) from exc


def _text(value: object) -> str | None:
    """A reply as text (the client decodes replies), else None."""
    return value if isinstance(value, str) else None
