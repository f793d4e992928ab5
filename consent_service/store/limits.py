"""Rate-limit counters in Redis, through the `limits` library (fixed windows: one round trip).

Counters are keyed by what the caller passes: a device id or a keyed hash of a client address,
never an address. The limiter fails open: when Redis cannot answer, the write it guards fails on
its own (and an opt-out is never limited in the first place).
"""

from __future__ import annotations

import asyncio
import math
import time

from limits import RateLimitItem
from limits.aio.storage import RedisClusterStorage, RedisSentinelStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter

KEY_PREFIX = "cs1rl"


class Limiter:
    def __init__(self, redis_url: str, timeout_s: float) -> None:
        self._storage = _storage(redis_url)
        self._limiter = FixedWindowRateLimiter(self._storage)
        self._timeout_s = timeout_s

    async def warm(self, timeout_s: float) -> None:
        """Connect (and, on a cluster, load the slot map) before the first write needs it, so a
        first check does not spend its short budget on that and fail open."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._storage.check()
        except Exception:  # a Redis that is not up yet: the first checks fail open, as always
            return

    async def close(self) -> None:
        """Close the library's own Redis clients (one per storage; with Sentinel, also its replica
        client and its connections to the sentinels)."""
        bridge = getattr(self._storage, "bridge", None)
        sentinels = getattr(getattr(bridge, "sentinel", None), "sentinels", [])
        for client in [getattr(bridge, "storage", None), getattr(bridge, "storage_replica", None), *sentinels]:
            if client is not None:
                await client.aclose()

    async def hit(self, rule: RateLimitItem, *key: str) -> int | None:
        """Count one write. None when allowed, else the seconds until the window resets."""
        try:
            async with asyncio.timeout(self._timeout_s):
                if await self._limiter.hit(rule, *key):
                    return None
                stats = await self._limiter.get_window_stats(rule, *key)
        except Exception:  # any storage failure (the library wraps some): fail open, as said above
            return None
        return max(1, math.ceil(stats.reset_time - time.time()))


def _storage(redis_url: str) -> Storage:
    """The same Redis as the store: `redis://` standalone, `redis+cluster://h:p,h:p` a cluster,
    `redis+sentinel://h:p,h:p/name` the primary Sentinel names."""
    scheme, _, rest = redis_url.partition("://")
    if scheme == "unix":
        return RedisStorage(f"async+redis+unix://{rest}", implementation="redispy", key_prefix=KEY_PREFIX)
    if scheme.endswith("+sentinel"):
        tls = "s" if scheme.startswith("rediss") else ""
        uri = f"async+redis{tls}+sentinel://{rest}"
        return RedisSentinelStorage(uri, implementation="redispy", key_prefix=KEY_PREFIX)
    if scheme.endswith("+cluster"):
        tls = "s" if scheme.startswith("rediss") else ""
        uri = f"async+redis{tls}+cluster://{rest}"
        return RedisClusterStorage(uri, implementation="redispy", key_prefix=KEY_PREFIX)
    return RedisStorage(f"async+{scheme}://{rest}", implementation="redispy", key_prefix=KEY_PREFIX)
