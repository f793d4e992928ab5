"""Experimental variants of the service, for `bench.run --service-factory bench.variants:<name>`.

Each factory patches the service IN THE BENCHMARKED PROCESS ONLY (nothing under consent_service/ changes),
then builds the app as `consent_service.web.asgi:app_from_env` does, to measure what a change would gain before
anyone makes it:

    lean_store      Store.get without asyncio.wait_for, client without the per-command health check
                    (a real change keeps the 100 ms read bound, e.g. a read client with socket_timeout=0.1)
    minimal_redis   Store.get over one pipelined connection with hiredis (bench.redis_client.MinimalClient),
                    no pool, no wait_for: what a leaner Redis client could reach
    gc_frozen       gc.freeze() after start-up and a gen-0 threshold of 50,000 allocations
    combined        minimal_redis + gc_frozen
    no_stats        the statistics hooks (consent_service/stats/counter.py) do nothing: what counting costs
"""

from __future__ import annotations

import asyncio
import gc
import os
from typing import Any

from redis.exceptions import RedisError
from starlette.applications import Starlette

from bench.redis_client import MinimalClient
from consent_service.core.model import DeviceRecord
from consent_service.store import Store, StoreUnavailable, device_keys, parse_record
from consent_service.web.asgi import app_from_env


def _patch_lean_store() -> None:
    original_from_url = Store.from_url.__func__  # type: ignore[attr-defined]

    def from_url(cls: type[Store], url: str, lifetimes: Any, *, timeout_s: float, replicas: int = 0) -> Store:
        created: Store = original_from_url(cls, url, lifetimes, timeout_s=timeout_s, replicas=replicas)
        created._redis.connection_pool.connection_kwargs["health_check_interval"] = 0  # connections come later
        return created

    async def get(self: Store, site: str, device_id: str, timeout_s: float) -> DeviceRecord | None:
        key = device_keys(site, device_id)[0]
        try:
            raw = await self._redis.hgetall(key)
        except (RedisError, OSError, TimeoutError) as exc:
            raise StoreUnavailable(str(exc) or type(exc).__name__) from exc
        return parse_record(raw) if raw else None

    Store.from_url = classmethod(from_url)  # type: ignore[method-assign, assignment]
    Store.get = get  # type: ignore[method-assign]


def _patch_minimal_redis() -> None:
    clients: dict[int, MinimalClient] = {}
    lock = asyncio.Lock()

    async def client_for(store: Store) -> MinimalClient:
        client = clients.get(id(store))
        if client is None:
            async with lock:
                client = clients.get(id(store))
                if client is None:
                    kwargs = store._redis.connection_pool.connection_kwargs
                    client = await MinimalClient.connect(kwargs.get("host", "127.0.0.1"), int(kwargs.get("port", 6379)))
                    clients[id(store)] = client
        return client

    async def get(self: Store, site: str, device_id: str, timeout_s: float) -> DeviceRecord | None:
        flat = await (await client_for(self)).hgetall(device_keys(site, device_id)[0])
        return parse_record(dict(zip(flat[::2], flat[1::2], strict=True))) if flat else None

    Store.get = get  # type: ignore[method-assign]


def _gc_frozen() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, *gc.get_threshold()[1:])


def _app() -> Starlette:
    os.environ.setdefault("CONSENT_LOG_LEVEL", "warning")
    return app_from_env()


def lean_store() -> Starlette:
    _patch_lean_store()
    return _app()


def minimal_redis() -> Starlette:
    _patch_minimal_redis()
    return _app()


def gc_frozen() -> Starlette:
    app = _app()
    _gc_frozen()
    return app


def combined() -> Starlette:
    _patch_minimal_redis()
    app = _app()
    _gc_frozen()
    return app


def no_stats() -> Starlette:
    from consent_service.stats.counter import StatsCounter  # noqa: PLC0415 - patched in this process only
    from consent_service.stats.hooks import _NoStats  # noqa: PLC0415

    for hook in ("seen", "issued", "bot", "banner", "decisions", "wrote"):
        setattr(StatsCounter, hook, getattr(_NoStats, hook))
    return _app()
