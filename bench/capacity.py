"""Capacity figures for docs/capacity.md (not a test): memory per device and writes per second per shard.

    .venv/bin/python -m bench.capacity [--devices 100000] [--requests 200000] [--clients 50]

1. Memory. A private standalone redis-server (the one on PATH, no persistence) gets sample devices and
   accounts written through the service's own Store, and `MEMORY USAGE <key> SAMPLES 0` is read for
   each kind of key: a record with choices, with GPC, a device's history stream, an account. Then a
   population of `--devices` devices (a realistic mix of consents, opt-outs and GPC sightings, each
   with its history and its audit entries, spread over the site's 1024 buckets) is written, and both
   the sum of MEMORY USAGE per kind of key and the growth of `used_memory` are divided by the count.
   `used_memory` also counts what MEMORY USAGE does not: the key table and the TTL table.
2. Writes. The consent write script (store/lua/record_apply.lua with its audit and outbox helpers, exactly as the
   service registers it: scripts.RECORD_APPLY) is loaded with SCRIPT LOAD and driven with `redis-benchmark … EVALSHA
   <sha> 7 <keys> <args>` (random device ids through `__rand_int__`), once without persistence and once with the
   service's default `appendonly yes`, `appendfsync always`. Redis's own CPU per write (INFO
   commandstats, usec per EVALSHA call) gives the ceiling of one core, whatever the load generator.

Every server binds 127.0.0.1 and is stopped at the end. Results: bench/results/capacity.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

from consent_service.cli.redis_runner import EmbeddedRedis, find_redis_server, redis_server_version
from consent_service.core.clock import DAY_MS
from consent_service.core.identity import BUCKETS, new_device_id
from consent_service.core.partner import EventType, OutboxSpecs, Partner, SubjectKind
from consent_service.core.vocab import Action, DeviceClass, Regime, Source
from consent_service.store import Change, Lifetimes, Store, account_key, device_keys
from consent_service.store.record_data import apply_fields
from consent_service.store.scripts import RECORD_APPLY, named

LIFETIMES = Lifetimes(record_ttl_ms=395 * DAY_MS, retention_ms=750 * DAY_MS)
PURPOSES = ("analytics", "advertising", "personalization")  # the demo site's non-necessary purposes
RESULTS = Path(__file__).parent / "results" / "capacity.json"


def change(device_id: str, now_ms: int, **kw: Any) -> Change:
    return Change(
        site="demo",
        device_id=device_id,
        now_ms=now_ms,
        policy_version="2026-01",
        regime=Regime.OPT_OUT,
        region="US-CA",
        device_class=DeviceClass.MOBILE,
        source=Source.BANNER,
        **kw,
    )


def usage(client: redis.Redis, key: str) -> int:
    return int(client.memory_usage(key, samples=0) or 0)


async def samples(url: str, client: redis.Redis) -> dict[str, int]:
    """MEMORY USAGE of one key of each kind, written through the Store as the service writes them."""
    now = int(time.time() * 1000)
    store = Store.from_url(url, LIFETIMES, timeout_s=2.0)
    out: dict[str, int] = {}
    try:
        accepted, gpc, opted = new_device_id(), new_device_id(), new_device_id()
        everything = dict.fromkeys(PURPOSES, True)
        await store.apply(change(accepted, now, choices=everything, action=Action.ACCEPT_ALL), 2.0)
        out["record_with_choices"] = usage(client, device_keys("demo", accepted)[0])
        out["history_one_entry"] = usage(client, device_keys("demo", accepted)[1])
        await store.apply(change(gpc, now, gpc_seen=True), 2.0)  # a first GPC sighting (decision path)
        out["record_gpc_only"] = usage(client, device_keys("demo", gpc)[0])
        await store.apply(change(gpc, now + 1000, gpc_seen=True, choices=everything, action=Action.ACCEPT_ALL), 2.0)
        out["record_gpc_and_choices"] = usage(client, device_keys("demo", gpc)[0])
        out["history_two_entries"] = usage(client, device_keys("demo", gpc)[1])
        choices = {"advertising": False}
        await store.apply(change(opted, now, choices=choices, action=Action.OPT_OUT), 2.0)
        out["record_opt_out"] = usage(client, device_keys("demo", opted)[0])
        # An account (pseudonym = an HMAC, 43 characters) with two linked devices that opted out.
        pseudonym = "p" * 43
        for device in (accepted, opted):
            await store.link("demo", device, pseudonym, now, 2.0)
            await store.accounts.add_device("demo", pseudonym, device, now, 2.0)
        await store.accounts.opt_out("demo", pseudonym, now_ms=now, source=Source.ACCOUNT, timeout_s=2.0)
        out["account_two_devices"] = usage(client, account_key("demo", pseudonym))
        out["record_linked"] = usage(client, device_keys("demo", accepted)[0])
    finally:
        await store.close()
    return out


async def population(url: str, devices: int) -> dict[str, int]:
    """`devices` devices written through the Store: 40% accept or reject all, 20% custom, 15%
    one-click opt-out, 25% first seen by a GPC sighting (a quarter of those consent later)."""
    rng = random.Random(7)
    now = int(time.time() * 1000)
    store = Store.from_url(url, LIFETIMES, timeout_s=5.0)
    counts = {"devices": devices, "audit_entries": 0}
    try:
        semaphore = asyncio.Semaphore(64)

        async def one(i: int) -> int:
            device, roll = new_device_id(), rng.random()
            if roll < 0.4:
                accept = rng.random() < 0.6
                c = change(
                    device,
                    now + i,
                    choices=dict.fromkeys(PURPOSES, accept),
                    action=Action.ACCEPT_ALL if accept else Action.REJECT_ALL,
                )
                steps = [c]
            elif roll < 0.6:
                custom = {p: rng.random() < 0.5 for p in PURPOSES}
                steps = [change(device, now + i, choices=custom, action=Action.CUSTOM)]
            elif roll < 0.75:
                steps = [change(device, now + i, choices={"advertising": False}, action=Action.OPT_OUT)]
            else:
                steps = [change(device, now + i, gpc_seen=True)]
                if rng.random() < 0.25:
                    everything = dict.fromkeys(PURPOSES, True)
                    steps.append(change(device, now + i + 1, choices=everything, action=Action.ACCEPT_ALL))
            async with semaphore:
                for step in steps:
                    await store.apply(step, 5.0)
            return len(steps)

        batch = 5000
        for start in range(0, devices, batch):
            counts["audit_entries"] += sum(
                await asyncio.gather(*(one(i) for i in range(start, min(start + batch, devices))))
            )
    finally:
        await store.close()
    return counts


def measure_memory(url: str, devices: int) -> dict[str, Any]:
    with redis.Redis.from_url(url, decode_responses=True) as client:
        client.flushall()
        per_key = asyncio.run(samples(url, client))
        client.flushall()
        client.memory_purge()
        before = int(client.info("memory")["used_memory"])
        started = time.monotonic()
        counts = asyncio.run(population(url, devices))
        elapsed = time.monotonic() - started
        after = int(client.info("memory")["used_memory"])
        by_kind: dict[str, int] = {}
        keys: dict[str, int] = {}
        for key in client.scan_iter(count=1000):
            kind = key.split(":")[2]
            by_kind[kind] = by_kind.get(kind, 0) + usage(client, key)
            keys[kind] = keys.get(kind, 0) + 1
        entries = sum(int(client.xlen(key)) for key in client.scan_iter(match="*:audit", count=1000))
        info = client.info("memory")
    return {
        "samples": per_key,
        "population": {
            **counts,
            "seconds": round(elapsed, 1),
            "audit_entries_in_streams": entries,
            "keys": keys,
            "memory_usage_sum": by_kind,
            "memory_usage_per_device": {k: round(v / devices, 1) for k, v in by_kind.items()},
            "used_memory_growth": after - before,
            "used_memory_per_device": round((after - before) / devices, 1),
            "audit_bytes_per_entry": round(by_kind.get("audit", 0) / max(entries, 1), 1),
            "mem_fragmentation_ratio": info.get("mem_fragmentation_ratio"),
            "allocator": info.get("mem_allocator"),
        },
    }


def benchmark_command(port: int, sha: str, requests: int, clients: int, pipeline: int, spec: str = "") -> list[str]:
    """redis-benchmark driving the consent write script for random new devices (one bucket's keys)."""
    now = int(time.time() * 1000)
    device = "d__rand_int__"
    tag = "{demo.0427}"
    keys = [f"cs1:{tag}:dev:{device}", f"cs1:{tag}:log:{device}", f"cs1:{tag}:audit", f"cs1:{tag}:carry"]
    keys += [f"cs1:{tag}:out", f"cs1:{tag}:due", f"cs1:{tag}:dst"]  # the partner outbox (issue 7)
    c = change("x" * 22, now, choices={"analytics": True, "advertising": False}, action=Action.CUSTOM)
    fields = apply_fields(
        c,
        LIFETIMES,
        deadline_ms=now + 10 * 365 * DAY_MS,  # far ahead (the script compares it with Redis's clock)
        new_ref="ref__rand_int__",  # a new audit reference
        change_id="chg__rand_int__",  # a new one per call, so no call takes the repeat path
    )
    args = [named(fields).decode(), spec]  # redis-benchmark replaces __rand_int__ inside the JSON too
    return [
        "redis-benchmark",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-n",
        str(requests),
        "-c",
        str(clients),
        "-P",
        str(pipeline),
        "-r",
        "100000000",
        "-q",
        "EVALSHA",
        sha,
        str(len(keys)),
        *keys,
        *(str(a) for a in args),
    ]


# Two partners, as docs/partners.md configures them: each opt-out below writes one event for each.
_PARTNERS = [
    Partner("adnet", "https://adnet.example/h", ("advertising",), frozenset(EventType), b"s" * 32),
    Partner("metrics", "https://metrics.example/h", ("analytics", "advertising"), frozenset(EventType), b"s" * 32),
]
SPEC = OutboxSpecs({"demo": (_PARTNERS, ["advertising"])}, b"k" * 32)("demo", SubjectKind.DEVICE, "x" * 22)


def measure_writes(server: EmbeddedRedis, requests: int, clients: int, pipeline: int, spec: str = "") -> dict[str, Any]:
    with redis.Redis.from_url(server.url, decode_responses=True) as client:
        client.flushall()
        sha = client.script_load(RECORD_APPLY)
        client.config_resetstat()
        command = benchmark_command(server.port, sha, requests, clients, pipeline, spec)
        out = subprocess.run(command, capture_output=True, text=True, timeout=600, check=True).stdout
        stats = client.info("commandstats").get("cmdstat_evalsha", {})
        written = client.dbsize()
        sample = next(iter(client.scan_iter(match="*:dev:*")), None)
        fields = client.hgetall(sample) if sample else {}
    rates = re.findall(r"([\d.]+) requests per second", out.replace(",", ""))
    shown = ["$SHA" if part == sha else part for part in command]  # SHA=$(SCRIPT LOAD of the write script)
    return {
        "command": " ".join(shown),
        "requests_per_second": float(rates[-1]) if rates else None,
        "server_usec_per_write": stats.get("usec_per_call"),
        "failed_calls": stats.get("failed_calls"),
        "calls": stats.get("calls"),
        "keys_after": written,
        "a_record_written": fields,
        "raw": out.strip().splitlines()[-1:],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--binary", type=Path, default=None, help="redis-server to measure (default: on PATH)")
    parser.add_argument("--stream-node-max-bytes", type=int, default=None, help="CONFIG SET before measuring")
    parser.add_argument("--memory-only", action="store_true")
    options = parser.parse_args()
    if shutil.which("redis-benchmark") is None:
        sys.exit("redis-benchmark is missing (Debian package redis-tools)")
    binary = options.binary or find_redis_server()
    result: dict[str, Any] = {"redis": redis_server_version(binary), "buckets": BUCKETS}
    with tempfile.TemporaryDirectory() as tmp:
        with EmbeddedRedis(Path(tmp) / "memory", binary=binary, persistent=False) as server:
            if options.stream_node_max_bytes is not None:
                with redis.Redis.from_url(server.url) as client:
                    client.config_set("stream-node-max-bytes", options.stream_node_max_bytes)
                result["stream_node_max_bytes"] = options.stream_node_max_bytes
            result["memory"] = measure_memory(server.url, options.devices)
            if options.memory_only:
                print(json.dumps(result, indent=2))
                return
            result["writes_no_persistence"] = {
                f"pipeline_{p}": measure_writes(server, options.requests, options.clients, p) for p in (1, 16)
            }
            # The same opt-outs on a site with two partners: two outbox events written in each script.
            result["writes_no_persistence_two_partners"] = {
                f"pipeline_{p}": measure_writes(server, options.requests, options.clients, p, SPEC) for p in (1, 16)
            }
        with EmbeddedRedis(Path(tmp) / "aof", binary=binary, persistent=True, appendfsync="always") as server:
            result["writes_appendfsync_always"] = {
                f"pipeline_{p}": measure_writes(server, options.requests, options.clients, p) for p in (1, 16)
            }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
