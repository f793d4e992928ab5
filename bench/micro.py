"""Micro-benchmark: CPU per step of the decision path, in process, without the network or Redis.

    .venv/bin/python -m bench.micro [--number 20000]

The whole ASGI app is called with a store that answers at once (no I/O), so "app, token" is the cost of
Starlette + our code for one decision; the steps below it show where that goes. Compare with
`bench.run` (CPU µs per request, with uvicorn and Redis) and `bench.redis_client` (the Redis read).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import redis.asyncio as aioredis
from starlette.requests import Request

from consent_service.config.keys import Keys
from consent_service.config.settings import Settings
from consent_service.config.sites import load_sites
from consent_service.core.clock import now_ms
from consent_service.core.model import DeviceRecord
from consent_service.core.visitor import Visitor
from consent_service.store import parse_record
from consent_service.web import http, validation
from consent_service.web.api.consent import _respond
from consent_service.web.app import JS_TYPE, create_app
from consent_service.web.assets import BANNER, BANNER_PREFS, load_asset
from consent_service.web.state import STATE_KEY, Basics, build_state
from consent_service.web.validation import parse_decision_query
from consent_service.web.visitor import visitor_of as _visitor

KEYS = Keys(signing=("s" * 48,), pseudonym="p" * 48)
QUERY = b"site=demo&purpose=advertising"
UA = b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"


class InstantStore:
    """Answers `get` with a fixed record, without I/O: the coroutine never suspends."""

    def __init__(self, raw: dict[str, str]) -> None:
        self.raw = raw

    async def get(self, site: str, device_id: str, timeout_s: float) -> DeviceRecord | None:
        return parse_record(self.raw)

    async def close(self) -> None:
        return None

    def tell_partners(self, specs: object) -> None:
        return None

    # The statistics' client (StatsStore.of): never connected, the counter is never flushed here.
    _redis = aioredis.Redis(host="127.0.0.1", port=9)


def _scope(headers: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/v1/decision",
        "raw_path": b"/v1/decision",
        "root_path": "",
        "query_string": QUERY,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


def _drive(coro: Any) -> Any:
    """Run a coroutine that never suspends, without an event loop."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    raise RuntimeError("the coroutine suspended")


def cpu_time_per_call(func: Callable[[], object], number: int, repeat: int) -> float:
    """Median CPU µs per call over `repeat` batches of `number`, after a warm-up (GC left on: it is part
    of the cost). bench.contract times with it too."""
    for _ in range(min(number, 1000)):
        func()
    runs = []
    for _ in range(repeat):
        start = time.process_time()
        for _ in range(number):
            func()
        runs.append((time.process_time() - start) / number * 1e6)
    return statistics.median(runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--number", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    settings = Settings(
        redis_url="redis://127.0.0.1:9", data_dir=Path("/nonexistent"), rate_limit_device=None, rate_limit_client=None
    )
    sites = load_sites(None)
    site = sites.sites["demo"]
    raw = {
        "ar": "3f2a9c0d1e2b4c5d",
        "ct": str(now_ms()),
        "ut": str(now_ms()),
        "pv": "2026-11",
        "src": "api",
        "rm": "opt_out",
        "rg": "US-CA",
        "dc": "pc",
        "rf": str(now_ms() // 86_400_000),
        **{f"c:{p}": f"0:{now_ms()}:2026-11" for p in ("analytics", "advertising", "personalization")},
    }
    store = InstantStore(raw)
    app = create_app(settings, sites, KEYS, store=store)  # type: ignore[arg-type]
    basics = Basics.of(settings, sites, KEYS, (load_asset(BANNER, JS_TYPE), load_asset(BANNER_PREFS, JS_TYPE)), {})
    state = build_state(basics, store)  # type: ignore[arg-type]
    token = state.tokens.sign("demo", "AAAAAAAAAAAAAAAAAAAAAA")
    base_headers = {"host": "127.0.0.1:8000", "user-agent": UA.decode(), "accept": "*/*"}
    region = {"cloudfront-viewer-country": "US", "cloudfront-viewer-country-region": "CA"}
    with_token = _scope({**base_headers, **region, "x-consent-device": token})
    no_token = _scope({**base_headers, **region})
    # Germany, where the demo has IAB TCF on: the answer also carries a TC string (memoized by its inputs).
    germany = _scope({**base_headers, "cloudfront-viewer-country": "DE", "x-consent-device": token})
    health = {**_scope(base_headers), "path": "/healthz", "raw_path": b"/healthz", "query_string": b""}
    for scope in (with_token, no_token, health, germany):
        scope["state"] = {STATE_KEY: state}  # what the lifespan would hand every request
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    def call(scope: dict[str, Any]) -> Callable[[], object]:
        def run() -> None:
            sent.clear()
            _drive(app(dict(scope), receive, send))

        return run

    call(with_token)()
    answer = orjson.loads(sent[-1]["body"])
    assert answer["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"}, answer

    request = Request(with_token)
    visitor: Visitor = _visitor(request, state, site, False)
    record = parse_record(raw)
    german: Visitor = _visitor(Request(germany), state, site, False)
    outcome = _drive(state.service.decision(visitor, ("advertising",)))
    loop = asyncio.new_event_loop()

    steps: list[tuple[str, Callable[[], object]]] = [
        ("app: /healthz (Starlette + orjson)", call(health)),
        ("app: decision, no token", call(no_token)),
        ("app: decision, token (store answers at once)", call(with_token)),
        ("app: decision, token, Germany (+ TC string)", call(germany)),
        ("  parse_decision_query (memoized)", lambda: parse_decision_query(with_token["query_string"])),
        ("  parse_decision_query (uncached)", lambda: validation._parse_decision_query(with_token["query_string"])),
        ("  _visitor (headers, region, token)", lambda: _visitor(Request(with_token), state, site, False)),
        ("    DeviceTokens.verify", lambda: state.tokens.verify(token, "demo")),
        ("    http.device_token", lambda: http.device_token(Request(with_token), state.tokens, "demo")),
        ("  parse_record", lambda: parse_record(raw)),
        ("  ConsentService.decision", lambda: _drive(state.service.decision(visitor, ("advertising",)))),
        ("    Answers.answer", lambda: state.service._answers.answer(visitor, record, ("advertising",), None)),
        ("    Answers.answer, Germany", lambda: state.service._answers.answer(german, record, ("advertising",), None)),
        ("  _respond (orjson + Response)", lambda: _respond(request, state, site, outcome)),
        ("asyncio.wait_for(instant coroutine)", lambda: loop.run_until_complete(asyncio.wait_for(store.close(), 1))),
        ("loop.run_until_complete(instant coroutine)", lambda: loop.run_until_complete(store.close())),
    ]
    print(
        f"Python {sys.version.split()[0]}, gc thresholds {gc.get_threshold()}; median of {args.repeat} x {args.number}"
    )
    print(f"{'step':<48} {'CPU µs':>8}")
    try:
        for name, func in steps:
            print(f"{name:<48} {cpu_time_per_call(func, args.number, args.repeat):>8.2f}", flush=True)
    finally:
        loop.close()
    return 0


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    raise SystemExit(main())
