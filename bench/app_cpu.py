"""Benchmark (not a test): CPU per token decision through the whole ASGI app, no network, no Redis I/O.

    .venv/bin/python -m bench.app_cpu [--number 20000] [--repeat 7]
    .venv/bin/python bench/app_cpu.py --tree ../wt-base      # the same, on another checkout's code

The app is made by the checkout's own `create_app` and started by its own lifespan; the store's
read answers at once with a fixed record (the record's parse still runs), and the rate limits are
off, so what is timed is the service's Python: the request's parse, the visitor (headers, region,
the token's signature), the read's handling, the decision, the IAB strings, the answer and its
JSON. One event loop, one request at a time, the median of `--repeat` runs of `--number`
requests, in CPU µs per request (process time, so other processes on the machine count little).

`--tree DIR` runs the same measurement on another checkout (a worktree of an earlier commit): a
child process with that tree first on sys.path. It understands the layout before issue 12 (flat
modules) and after it (packages), so the two can be compared alternately (`--compare DIR`).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


def _module(*names: str) -> Any:
    """The first of `names` that imports: the packaged layout, else the flat one."""
    for name in names:
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError:
            continue
    raise ModuleNotFoundError(names[-1])


def _app_and_token() -> tuple[Any, str]:
    settings_mod = _module("consent_service.config.settings", "consent_service.settings")
    sites_mod = _module("consent_service.config.sites", "consent_service.sites")
    keys_mod = _module("consent_service.config.keys", "consent_service.keys")
    app_mod = _module("consent_service.web.app", "consent_service.web")
    identity = _module("consent_service.core.identity", "consent_service.identity")
    store_mod = importlib.import_module("consent_service.store")
    record_mod = _module("consent_service.store.record_data", "consent_service.store.records")
    now = time.time_ns() // 1_000_000
    raw = {"ar": "3f2a9c0d1e2b4c5d", "ct": str(now), "ut": str(now), "pv": "2026-11", "src": "api", "rm": "opt_out"}
    raw |= {"rg": "US-CA", "dc": "pc", "rf": str(now // 86_400_000)}  # refreshed today: no deferred write
    raw |= {f"c:{p}": f"0:{now}:2026-11" for p in ("analytics", "advertising", "personalization")}

    async def instant_get(self: Any, site: str, device_id: str, timeout_s: float) -> Any:
        return record_mod.parse_record(raw)

    async def no_warm(self: Any, timeout_s: float) -> None:
        return None

    store_mod.Store.get = instant_get  # the one read: answered at once, parsed as a real one
    store_mod.Store.warm = no_warm
    settings = settings_mod.Settings(
        redis_url="redis://127.0.0.1:9", data_dir=Path("/nonexistent"), rate_limit_device=None, rate_limit_client=None
    )
    keys = keys_mod.Keys(signing=("k" * 40,), pseudonym="p" * 40)
    app = app_mod.create_app(settings, sites_mod.load_sites(None), keys)
    tokens = identity.DeviceTokens(keys.signing, max_age_s=3600)
    try:
        token = tokens.sign("demo", "AAAAAAAAAAAAAAAAAAAAAA")
    except TypeError:  # before tokens named their site
        token = tokens.sign("AAAAAAAAAAAAAAAAAAAAAA")
    return app, token


async def _measure(number: int, repeat: int) -> list[float]:
    app, token = _app_and_token()
    state: dict[str, Any] = {}
    started: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await started.put({"type": "lifespan.startup"})

    async def lifespan_send(message: dict[str, Any]) -> None:
        assert message["type"] != "lifespan.startup.failed", message

    lifespan = asyncio.ensure_future(app({"type": "lifespan", "state": state}, started.get, lifespan_send))
    await asyncio.sleep(0.2)
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"user-agent", UA.encode()),
        (b"accept", b"*/*"),
        (b"cloudfront-viewer-country", b"US"),
        (b"cloudfront-viewer-country-region", b"CA"),
        (b"x-consent-device", token.encode()),
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/v1/decision",
        "raw_path": b"/v1/decision",
        "query_string": b"site=demo&purpose=advertising",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def one() -> None:
        await app({**scope, "state": dict(state)}, receive, send)

    for _ in range(200):  # warm caches (the query's parse, the UA's class)
        await one()
    assert set(statuses) == {200}, statuses[:3]
    runs = []
    for _ in range(repeat):
        before = time.process_time()
        for _ in range(number):
            await one()
        runs.append((time.process_time() - before) / number * 1e6)
    await started.put({"type": "lifespan.shutdown"})
    await asyncio.wait_for(lifespan, 10)
    return runs


def measure_tree(tree: Path, number: int, repeat: int) -> float:
    """The median CPU µs per decision of another checkout's code, in a child process."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, str(HERE), "--number", str(number), "--repeat", str(repeat), "--quiet"]
    out = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, check=True, timeout=900)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--number", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quiet", action="store_true", help="print only the median")
    parser.add_argument("--tree", type=Path, help="measure another checkout's code instead")
    parser.add_argument("--compare", type=Path, help="alternate: this checkout and another, --rounds each")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.tree is not None:
        print(f"{measure_tree(args.tree.resolve(), args.number, args.repeat):.2f}")
        return 0
    if args.compare is not None:
        here, other = HERE.parent.parent, args.compare.resolve()
        results: dict[str, list[float]] = {"base": [], "new": []}
        for number in range(args.rounds):
            order = (("base", other), ("new", here)) if number % 2 == 0 else (("new", here), ("base", other))
            for side, tree in order:
                results[side].append(measure_tree(tree, args.number, args.repeat))
                print(f"round {number + 1} {side}: {results[side][-1]:.2f} CPU µs per decision", flush=True)
        base, new = statistics.median(results["base"]), statistics.median(results["new"])
        print(f"median: base {base:.2f} µs, new {new:.2f} µs, new/base {new / base:.3f}")
        return 0
    runs = asyncio.run(_measure(args.number, args.repeat))
    median = statistics.median(runs)
    if not args.quiet:
        print(f"CPU µs per token decision through the app (median of {args.repeat} x {args.number}):")
    print(f"{median:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
