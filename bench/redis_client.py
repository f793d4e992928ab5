"""Micro-benchmark: server-side CPU per device-record read, through the service's Store and variants.

    .venv/bin/python -m bench.redis_client [--seconds 3] [--concurrency 50]

The decision endpoint's one Redis read is its largest cost. This measures, in one process on one core
(Redis on the other), the CPU time per HGETALL of a real device record when `concurrency` tasks read at
once, as under load, for:

    store.get            the service's Store.get (asyncio.wait_for around redis-py, client as configured)
    redis-py             the same client's hgetall, without wait_for
    redis-py, no health  a client with health_check_interval=0 (no loop.time() check per command)
    redis-py, RESP2      as above, protocol 2 (no HELLO; the flat reply is turned into a dict)
    minimal client       one pipelined connection, hiredis parsing, no pool: a lower bound

Nothing here is the service's code path except the first line: the others say what a change could save.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import hiredis
import redis.asyncio as aioredis
import uvloop
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from consent_service.cli.redis_runner import EmbeddedRedis
from consent_service.core.identity import new_device_id
from consent_service.core.vocab import Action, DeviceClass, Regime, Source
from consent_service.store import Change, Lifetimes, Store, device_keys

DAY_MS = 86_400_000


class MinimalClient(asyncio.Protocol):
    """One connection; commands are written as they come and answered in order (Redis keeps order)."""

    def __init__(self) -> None:
        self._reader = hiredis.Reader(encoding="utf-8")
        self._waiting: deque[asyncio.Future[Any]] = deque()
        self._transport: Any = None  # uvloop's transports are not asyncio.Transport subclasses

    @classmethod
    async def connect(cls, host: str, port: int) -> MinimalClient:
        _, protocol = await asyncio.get_running_loop().create_connection(cls, host, port)
        return protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        while (reply := self._reader.gets()) is not False:
            self._waiting.popleft().set_result(reply)

    def hgetall(self, key: str) -> asyncio.Future[Any]:
        assert self._transport is not None
        raw = key.encode()
        self._transport.write(b"*2\r\n$7\r\nHGETALL\r\n$%d\r\n%s\r\n" % (len(raw), raw))
        future = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        return future

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


def _client(url: str, **overrides: Any) -> aioredis.Redis:
    options: dict[str, Any] = {
        "decode_responses": True,
        "socket_timeout": 2.0,
        "socket_connect_timeout": 1.0,
        "retry": Retry(NoBackoff(), 1),
        "health_check_interval": 30,
        **overrides,
    }
    return aioredis.Redis.from_url(url, **options)


async def _measure(read: Callable[[], Awaitable[Any]], seconds: float, concurrency: int) -> tuple[float, float]:
    """(CPU µs per read, reads per second) with `concurrency` tasks reading in a loop."""
    stop = False
    count = 0

    async def worker() -> None:
        nonlocal count
        while not stop:
            await read()
            count += 1

    tasks = [asyncio.create_task(worker()) for _ in range(concurrency)]
    await asyncio.sleep(min(0.5, seconds / 4))  # warm-up: connections opened, caches filled
    count, cpu0, wall0 = 0, time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    done, cpu, wall = count, time.process_time() - cpu0, time.perf_counter() - wall0
    stop = True
    await asyncio.gather(*tasks)
    return 1e6 * cpu / max(done, 1), done / wall


async def _bench(url: str, host: str, port: int, args: argparse.Namespace) -> dict[str, list[tuple[float, float]]]:
    lifetimes = Lifetimes(record_ttl_ms=400 * DAY_MS, retention_ms=750 * DAY_MS)
    store = Store.from_url(url, lifetimes, timeout_s=2.0)
    device = new_device_id()
    now = time.time_ns() // 1_000_000
    change = Change(
        site="demo",
        device_id=device,
        now_ms=now,
        policy_version="2026-11",
        regime=Regime.OPT_OUT,
        region="US-CA",
        device_class=DeviceClass.PC,
        choices={"analytics": False, "advertising": False, "personalization": False},
        action=Action.REJECT_ALL,
        source=Source.BANNER,
    )
    await store.apply(change, 2.0)
    key = device_keys("demo", device)[0]
    plain, no_health, resp2 = _client(url), _client(url, health_check_interval=0), _client(url, protocol=2)
    minimal = await MinimalClient.connect(host, port)

    async def minimal_read() -> dict[str, str]:
        flat = await minimal.hgetall(key)
        return dict(zip(flat[::2], flat[1::2], strict=True))

    variants: dict[str, Callable[[], Awaitable[Any]]] = {
        "store.get (the service)": lambda: store.get("demo", device, 0.1),
        "redis-py hgetall": lambda: plain.hgetall(key),
        "redis-py, no health check": lambda: no_health.hgetall(key),
        "redis-py, RESP2": lambda: resp2.hgetall(key),
        "minimal client": minimal_read,
    }
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    try:
        for _ in range(args.rounds):  # interleaved, so drift affects every variant alike
            for name, read in variants.items():
                results[name].append(await _measure(read, args.seconds, args.concurrency))
    finally:
        minimal.close()
        for client in (plain, no_health, resp2):
            await client.aclose()
        await store.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=3.0, help="measured seconds per variant and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--cpu", type=int, default=0, help="core for this process (default 0; -1: no pinning)")
    parser.add_argument("--redis-cpu", type=int, default=1, help="core for redis-server (default 1; -1: none)")
    args = parser.parse_args(argv)
    pin = len(os.sched_getaffinity(0)) >= 2
    if pin and args.cpu >= 0:
        os.sched_setaffinity(0, {args.cpu})
    with tempfile.TemporaryDirectory(prefix="consent-redis-bench-") as tmp, EmbeddedRedis(Path(tmp)) as redis:
        if pin and args.redis_cpu >= 0 and redis.pid is not None:
            for task in Path(f"/proc/{redis.pid}/task").iterdir():
                with contextlib.suppress(ProcessLookupError):
                    os.sched_setaffinity(int(task.name), {args.redis_cpu})
        results = uvloop.run(_bench(redis.url, "127.0.0.1", redis.port, args))
    print(f"{args.concurrency} concurrent readers, {args.rounds} x {args.seconds:g} s per variant (median)")
    print(f"{'variant':<28} {'CPU µs/read':>12} {'reads/s':>10}   all CPU µs/read")
    for name, runs in results.items():
        cpu = statistics.median(r[0] for r in runs)
        rate = statistics.median(r[1] for r in runs)
        print(f"{name:<28} {cpu:>12.1f} {rate:>10,.0f}   {', '.join(f'{r[0]:.1f}' for r in runs)}")
    return 0


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    raise SystemExit(main())
