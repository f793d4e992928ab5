"""Micro-benchmark: CPU per decision read (Store.get) on a standalone Redis and on a Redis Cluster, in one
run (issue 15: a decision on a cluster should cost about what it costs on standalone).

    .venv/bin/python -m bench.cluster_reads [--seconds 3] [--rounds 3] [--concurrency 50]

Starts a private redis-server and a 3-master cluster (tests/cluster.py) on 127.0.0.1, writes one real
device record through the Store on each, then measures, interleaved round by round, the app process's
CPU time per `Store.get` with `concurrency` tasks reading at once:

    standalone               the pipelined hiredis reader (store/reader.py)
    cluster, per-master      the slot-aware reader (store/cluster_reader.py): the service's path now
    cluster, cluster client  redis-py's cluster client (the path before issue 15, and the fallback)

and prints each one's ratio to standalone. This process is pinned to one core, the servers to the other.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvloop

from bench.redis_client import _measure
from consent_service.cli.redis_runner import EmbeddedRedis
from consent_service.core.clock import DAY_MS
from consent_service.core.identity import new_device_id
from consent_service.core.vocab import Action, DeviceClass, Regime, Source
from consent_service.store import Change, Lifetimes, Store
from consent_service.store.connect import connect
from tests.cluster import LocalCluster

LIFETIMES = Lifetimes(record_ttl_ms=400 * DAY_MS, retention_ms=750 * DAY_MS)


async def _seeded(store: Store) -> str:
    device = new_device_id()
    change = Change(site="demo", device_id=device, now_ms=time.time_ns() // 1_000_000, policy_version="2026-11",
                    regime=Regime.OPT_OUT, region="US-CA", device_class=DeviceClass.PC,
                    choices={"analytics": False, "advertising": False, "personalization": False},
                    action=Action.REJECT_ALL, source=Source.BANNER)  # fmt: skip
    await store.apply(change, 2.0)
    return device


async def _bench(standalone: str, cluster: str, args: argparse.Namespace) -> dict[str, list[tuple[float, float]]]:
    plain = Store.from_url(standalone, LIFETIMES, timeout_s=2.0)
    sliced = Store.from_url(cluster, LIFETIMES, timeout_s=2.0)
    client, _ = connect(cluster, 2.0)
    routed = Store(client, LIFETIMES, None)  # no lean reader: every read through the cluster client
    stores = [plain, sliced, routed]
    devices = [await _seeded(plain), await _seeded(sliced)]
    variants: dict[str, Callable[[], Awaitable[Any]]] = {
        "standalone": lambda: plain.get("demo", devices[0], 0.5),
        "cluster, per-master": lambda: sliced.get("demo", devices[1], 0.5),
        "cluster, cluster client": lambda: routed.get("demo", devices[1], 0.5),
    }
    for read in variants.values():
        assert await read() is not None  # each reads the real record
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    try:
        for _ in range(args.rounds):
            for name, read in variants.items():
                results[name].append(await _measure(read, args.seconds, args.concurrency))
    finally:
        for store in stores:
            await store.close()
    return results


def _pin(pids: list[int], cpu: int) -> None:
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(ProcessLookupError):
                os.sched_setaffinity(int(task.name), {cpu})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args(argv)
    pin = len(os.sched_getaffinity(0)) >= 2
    with (
        tempfile.TemporaryDirectory(prefix="consent-cluster-bench-") as tmp,
        EmbeddedRedis(Path(tmp) / "one") as redis,
        LocalCluster(Path(tmp)) as cluster,
    ):
        if pin:
            os.sched_setaffinity(0, {0})
            _pin([p for p in [redis.pid, *(proc.pid for proc in cluster._procs.values())] if p is not None], 1)
        results = uvloop.run(_bench(redis.url, cluster.url, args))
    base = statistics.median(r[0] for r in results["standalone"])
    print(f"{args.concurrency} concurrent readers, {args.rounds} x {args.seconds:g} s per variant (median)")
    print(f"{'variant':<26} {'CPU µs/read':>12} {'reads/s':>10} {'vs standalone':>14}")
    for name, runs in results.items():
        cpu = statistics.median(r[0] for r in runs)
        rate = statistics.median(r[1] for r in runs)
        print(f"{name:<26} {cpu:>12.1f} {rate:>10,.0f} {cpu / base:>13.2f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
