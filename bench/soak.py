"""Soak (not a test): a fixed request rate for a set time; errors must be zero, the service's memory flat.

    .venv/bin/python -m bench.soak --minutes 10 --rate 300      # the real run
    .venv/bin/python -m bench.soak --smoke                      # 20 s, to check that it works

It starts a private Redis (EmbeddedRedis, persistent, appendfsync always as in production) and the service
(uvicorn, ONE worker, as bench/run.py does) on 127.0.0.1, with configured keys, an admin key and the write rate
limits off (all the load comes from one address). It seeds a pool of devices with `POST /v1/consent`, then an
open-loop generator starts requests on a fixed schedule (never waiting for answers; at most `--max-in-flight`
at once) with a browser-like mix:

- 80 % `GET /v1/decision`: mostly known devices (token in `X-Consent-Device` or the `cs_device_demo` cookie), the
  GPC browsers among them with `Sec-GPC: 1`; some without a token; some new GPC browsers (a device is issued);
- 12 % `POST /v1/consent` (accept_all / reject_all / custom), known and new devices;
- 8 % `POST /v1/opt-out`, known and new devices;

with CloudFront region headers (US-CA, US-NY, DE, FR, BR, none) and pc/mobile/tablet User-Agents. New devices
join the pool, so Redis grows over the run; the service process must not. Two bursts of `--burst` requests at once
in the warm-up take the service to the memory high-water mark of that concurrency, so that a later pile-up (after
a stall of the machine) does not show as growth (docs/soak.md, "What flat means here").

Every second it records requests sent and answered, errors by kind, that second's latency p50/p99 (from the
scheduled start, so a late generator counts against us), the service's RSS (/proc/<pid>/status), open file
descriptors and CPU, Redis's used_memory and keys, the load average and the machine's CPU/I/O pressure; Redis's
latency monitor logs its own stalls, so that errors can be told apart from stalls of the machine. The series goes to
`bench/results/soak-<timestamp>.csv`, the summary to `soak-<timestamp>.json`. Exit status 1 when any request
failed (a non-2xx answer, including 429; a timeout; a connection error; a decision answered `store_unavailable`;
a new GPC browser left without a device; see ERROR_KINDS), when the service's own /metrics count a store or
background error, or when the RSS slope after the warm-up exceeds `--max-rss-slope` KiB/min (judged on runs with
at least 2 minutes after the warm-up). Everything started here is stopped on exit, error, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import importlib.util
import itertools
import json
import math
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "bench" / "results"
SITE = "demo"
ORIGIN = "http://localhost:8080"  # one of the demo site's origins: POSTs carry it, as a browser's would
ADMIN_KEY = "soak-admin-key-" + "0" * 32
SECRET_KEY = "soak-signing-key-" + "1" * 32
PSEUDONYM_KEY = "soak-pseudonym-key-" + "2" * 32
IDLE_CLOSE_S = 3.0  # uvicorn drops a keep-alive connection after 5 s idle: close ours before it does
CONNECT_TIMEOUT_S = 2.0
SEED_CONCURRENCY = 32
LATENCY_THRESHOLD_MS = 20  # Redis latency monitor: record main-thread stalls of this many ms or more
STALL_CPU_PRESSURE_MS = 250  # a second with this much CPU pressure (PSI "some") counts as a machine stall
STALL_LAG_MS = 30  # and one in which the generator started a request this late
ENDPOINTS = ("decision", "consent", "opt_out")
# status: a non-2xx answer (429 too: the limits are off); timeout: no answer within --timeout; connect / disconnect:
# the connection could not be opened / broke; bad_body: not a decision-shaped answer; store_unavailable: a decision
# answered without the device's record; no_device: a new GPC browser got no device, i.e. its first-sighting write
# missed the decision's time budget (100 ms); overload: not sent, --max-in-flight requests were already out.
ERROR_KINDS = (
    "status",
    "timeout",
    "connect",
    "disconnect",
    "bad_body",
    "store_unavailable",
    "no_device",
    "overload",
)

# (weight, label, headers): CloudFront's viewer headers, as the service trusts them by default.
REGIONS: list[tuple[int, str, dict[str, str]]] = [
    (25, "US-CA", {"CloudFront-Viewer-Country": "US", "CloudFront-Viewer-Country-Region": "CA"}),
    (15, "US-NY", {"CloudFront-Viewer-Country": "US", "CloudFront-Viewer-Country-Region": "NY"}),
    (15, "DE", {"CloudFront-Viewer-Country": "DE"}),
    (10, "FR", {"CloudFront-Viewer-Country": "FR"}),
    (10, "BR", {"CloudFront-Viewer-Country": "BR"}),
    (25, "none", {}),
]
LANGUAGES = {
    "US-CA": "en-US,en;q=0.9",
    "US-NY": "en-US,en;q=0.9",
    "DE": "de-DE,de;q=0.9,en;q=0.8",
    "FR": "fr-FR,fr;q=0.9",
    "BR": "pt-BR,pt;q=0.9",
    "none": "en-GB,en;q=0.8",
}
_CHROME = "Mozilla/5.0 ({}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{}.0.0.0 {}Safari/537.36"
USER_AGENTS: dict[str, tuple[int, list[str]]] = {
    "pc": (
        55,
        [_CHROME.format("Windows NT 10.0; Win64; x64", v, "") for v in (129, 130, 131)]
        + [
            _CHROME.format("Macintosh; Intel Mac OS X 10_15_7", 131, ""),
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/18.1 Safari/605.1.15",
            _CHROME.format("Windows NT 10.0; Win64; x64", 131, "").replace(
                "Safari/537.36", "Safari/537.36 Edg/131.0.0.0"
            ),
        ],
    ),
    "mobile": (
        38,
        [
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/18.1 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.6 Mobile/15E148 Safari/604.1",
            _CHROME.format("Linux; Android 10; K", 131, "Mobile "),
            "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) "
            "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
            "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
        ],
    ),
    "tablet": (
        7,
        [
            "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.6 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36",
        ],
    ),
}
DECISION_QUERIES = [  # (weight, query): what tag loaders ask
    (60, "site=demo&purpose=advertising"),
    (30, "site=demo&purpose=advertising&purpose=analytics"),
    (10, "site=demo&purpose=advertising&purpose=analytics&purpose=personalization"),
]
CHOOSABLE = ("analytics", "advertising", "personalization")


# ---- the visitors -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Visitor:
    """A browser: fixed User-Agent, region and GPC setting; `head` is its request headers, pre-encoded."""

    head: bytes
    gpc: bool
    cookie: bool  # sends its token as the cs_device_demo cookie rather than X-Consent-Device
    device_class: str
    region: str


@dataclass(slots=True)
class Device:
    token: str
    visitor: Visitor


class Mix:
    """Builds each request (raw HTTP/1.1 bytes) by the mix in the module docstring."""

    def __init__(self, rng: random.Random, host: str) -> None:
        self.rng = rng
        self.host = host
        self.pool: list[Device] = []
        self.seeded = 0
        self.new_devices = 0
        self._regions = list(REGIONS)
        self._region_w = [r[0] for r in REGIONS]
        self._classes = list(USER_AGENTS)
        self._class_w = [USER_AGENTS[c][0] for c in self._classes]
        self._queries = [q for _, q in DECISION_QUERIES]
        self._query_w = [w for w, _ in DECISION_QUERIES]

    def visitor(self, *, gpc: bool | None = None) -> Visitor:
        r = self.rng
        _, region, region_headers = r.choices(self._regions, self._region_w)[0]
        device_class = r.choices(self._classes, self._class_w)[0]
        ua = r.choice(USER_AGENTS[device_class][1])
        gpc = r.random() < 0.12 if gpc is None else gpc
        lines = [f"Host: {self.host}", f"User-Agent: {ua}", "Accept: */*", f"Accept-Language: {LANGUAGES[region]}"]
        lines += [f"{k}: {v}" for k, v in region_headers.items()]
        if gpc:
            lines.append("Sec-GPC: 1")
        head = ("\r\n".join(lines) + "\r\n").encode()
        return Visitor(head, gpc, r.random() < 0.5, device_class, region)

    @staticmethod
    def _token_line(device: Device) -> bytes:
        if device.visitor.cookie:
            return f"Cookie: _ga=GA1.1.12345.67890; cs_device_demo={device.token}\r\n".encode()
        return f"X-Consent-Device: {device.token}\r\n".encode()

    def _get(self, target: str, visitor: Visitor, device: Device | None) -> bytes:
        token = self._token_line(device) if device is not None else b""
        return b"GET " + target.encode() + b" HTTP/1.1\r\n" + visitor.head + token + b"\r\n"

    def _post(self, target: str, body: dict[str, Any], visitor: Visitor, device: Device | None) -> bytes:
        payload = json.dumps(body, separators=(",", ":")).encode()
        token = self._token_line(device) if device is not None else b""
        extra = f"Origin: {ORIGIN}\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n".encode()
        return b"POST " + target.encode() + b" HTTP/1.1\r\n" + visitor.head + token + extra + b"\r\n" + payload

    def consent_body(self) -> dict[str, Any]:
        roll = self.rng.random()
        if roll < 0.4:
            return {"site": SITE, "action": "accept_all", "source": "banner"}
        if roll < 0.8:
            return {"site": SITE, "action": "reject_all", "source": "banner"}
        picked = self.rng.sample(CHOOSABLE, self.rng.randint(1, len(CHOOSABLE)))
        return {"site": SITE, "action": "custom", "choices": {p: self.rng.random() < 0.5 for p in picked}}

    def seed_request(self) -> tuple[bytes, Visitor]:
        visitor = self.visitor()
        return self._post("/v1/consent", self.consent_body(), visitor, None), visitor

    def next(self) -> tuple[str, bytes, Visitor | None]:
        """(endpoint, raw request, the visitor when the answer issues a new device to add to the pool)."""
        r = self.rng
        roll = r.random()
        if roll < 0.80:
            target = "/v1/decision?" + r.choices(self._queries, self._query_w)[0]
            sub = r.random()
            if sub < 0.80 and self.pool:  # a returning visitor's tag loader
                device = r.choice(self.pool)
                return "decision", self._get(target, device.visitor, device), None
            if sub < 0.95:  # no token yet (before the banner was answered), no GPC: nothing to record
                return "decision", self._get(target, self.visitor(gpc=False), None), None
            visitor = self.visitor(gpc=True)  # a new GPC browser: the sighting is recorded, a device issued
            return "decision", self._get(target, visitor, None), visitor
        if roll < 0.92:
            if r.random() < 0.7 and self.pool:
                device = r.choice(self.pool)
                return "consent", self._post("/v1/consent", self.consent_body(), device.visitor, device), None
            visitor = self.visitor()
            return "consent", self._post("/v1/consent", self.consent_body(), visitor, None), visitor
        body = {"site": SITE, "source": "banner"}
        if r.random() < 0.8 and self.pool:
            device = r.choice(self.pool)
            return "opt_out", self._post("/v1/opt-out", body, device.visitor, device), None
        visitor = self.visitor()
        return "opt_out", self._post("/v1/opt-out", body, visitor, None), visitor

    def add(self, token: str, visitor: Visitor, *, seeded: bool = False) -> None:
        self.pool.append(Device(token, visitor))
        if seeded:
            self.seeded += 1
        else:
            self.new_devices += 1


# ---- a small HTTP/1.1 keep-alive client (lighter than a full client at this rate) ---------------


class Disconnected(Exception):
    """The connection broke while a request was on it."""


class Conn:
    __slots__ = ("last_used", "max_uses", "reader", "uses", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, max_uses: int) -> None:
        self.reader, self.writer = reader, writer
        self.uses = 0
        self.max_uses = max_uses
        self.last_used = time.monotonic()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()

    async def exchange(self, raw: bytes) -> tuple[int, bytes, bool]:
        """Send one request, read its answer: (status, body, the server asked to close)."""
        self.uses += 1
        try:
            self.writer.write(raw)
            head = await self.reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            lower = head.lower()
            at = lower.find(b"\r\ncontent-length:")
            if at >= 0:
                end = lower.find(b"\r\n", at + 2)
                body = await self.reader.readexactly(int(lower[at + 17 : end]))
            elif b"transfer-encoding: chunked" in lower:
                body = await self._chunked()
            else:
                body = b""
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            raise Disconnected(f"{type(exc).__name__}: {exc}") from exc
        return status, body, b"\r\nconnection: close" in lower

    async def _chunked(self) -> bytes:
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append((await self.reader.readexactly(size + 2))[:-2])


class Pool:
    """Keep-alive connections, reused last-in first-out; each is retired after a random number of requests
    (as a load balancer recycles connections), so connection set-up and tear-down are part of the soak."""

    def __init__(self, host: str, port: int, rng: random.Random) -> None:
        self.host, self.port, self.rng = host, port, rng
        self.idle: list[Conn] = []
        self.opened = 0
        self.retired = 0

    async def get(self) -> Conn:
        now = time.monotonic()
        while self.idle:
            conn = self.idle.pop()
            if now - conn.last_used < IDLE_CLOSE_S and not conn.reader.at_eof():
                return conn
            conn.close()
            self.retired += 1
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            reader, writer = await asyncio.open_connection(self.host, self.port)
        self.opened += 1
        return Conn(reader, writer, self.rng.randint(50, 1000))

    def put(self, conn: Conn, *, close: bool) -> None:
        if close or conn.uses >= conn.max_uses:
            conn.close()
            self.retired += 1
            return
        conn.last_used = time.monotonic()
        self.idle.append(conn)

    def open_now(self, in_flight: int) -> int:
        return len(self.idle) + in_flight

    def close_all(self) -> None:
        for conn in self.idle:
            conn.close()
        self.idle.clear()


class ConnectFailed(Exception):
    pass


async def send(pool: Pool, raw: bytes) -> tuple[int, bytes]:
    """One request on a pooled connection; ConnectFailed / Disconnected / TimeoutError (from the caller)."""
    try:
        conn = await pool.get()
    except (OSError, TimeoutError) as exc:
        raise ConnectFailed(f"{type(exc).__name__}: {exc}") from exc
    try:
        status, body, close = await conn.exchange(raw)
    except BaseException:  # also a timeout (CancelledError): the connection is mid-answer, never reuse it
        conn.close()
        pool.retired += 1
        raise
    pool.put(conn, close=close)
    return status, body


# ---- measurement ------------------------------------------------------------------------------


@dataclass
class Second:
    sent: int = 0
    answered: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    lag_max_ms: float = 0.0  # how late the generator started a request against its schedule


@dataclass
class Totals:
    sent: Counter[str] = field(default_factory=Counter)  # by endpoint
    answered: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # by kind
    statuses: Counter[str] = field(default_factory=Counter)  # "endpoint status"
    latencies_ms: dict[str, list[float]] = field(default_factory=lambda: {e: [] for e in ENDPOINTS})
    lags_ms: list[float] = field(default_factory=list)
    error_examples: list[str] = field(default_factory=list)


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return math.nan
    k = (len(sorted_values) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def linear_slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys against xs (nan with fewer than 3 points)."""
    n = len(xs)
    if n < 3:
        return math.nan
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else math.nan


class Proc:
    """Figures of one process from /proc."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._cpu_prev = self.cpu_seconds()

    def memory_kib(self) -> dict[str, int]:
        out = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "RssAnon", "VmHWM"):
                out[name] = int(value.split()[0])
        return out

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def cpu_delta(self) -> float:
        now = self.cpu_seconds()
        used, self._cpu_prev = now - self._cpu_prev, now
        return used


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


class MachineStall:
    """Per second, how much the whole machine waited: CPU and I/O pressure (PSI, ms of the second in which some
    task was runnable but not running / waiting on I/O) and the hypervisor's steal time, in % of all cores."""

    def __init__(self) -> None:
        self._prev = self._read()

    @staticmethod
    def _read() -> dict[str, float]:
        out: dict[str, float] = {}
        for kind in ("cpu", "io"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                first = Path(f"/proc/pressure/{kind}").read_text().splitlines()[0]  # "some ... total=<µs>"
                out[kind] = float(first.rsplit("total=", 1)[1]) / 1000
        with contextlib.suppress(OSError, ValueError):
            jiffies = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
            out["all"], out["steal"] = float(sum(jiffies)), float(jiffies[7])
        return out

    def delta(self) -> dict[str, float | str]:
        now = self._read()
        prev, self._prev = self._prev, now
        d = {k: now[k] - prev[k] for k in now if k in prev}
        return {
            "cpu_pressure_ms": round(d["cpu"], 1) if "cpu" in d else "",
            "io_pressure_ms": round(d["io"], 1) if "io" in d else "",
            "steal_pct": round(100 * d["steal"] / d["all"], 1) if d.get("all") else "",
        }


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def redis_figures(client: Any) -> tuple[int | None, int | None]:
    """(used_memory, keys); (None, None) when Redis does not answer within its socket timeout."""
    try:
        info = await client.info("memory")
        keys = await client.dbsize()
    except Exception:  # a missed sample is recorded as empty, the run goes on
        return None, None
    return int(info["used_memory"]), int(keys)


CSV_FIELDS = [
    "t_s",
    "time",
    "sent",
    "answered",
    "errors",
    *(f"err_{k}" for k in ERROR_KINDS),
    "p50_ms",
    "p99_ms",
    "max_ms",
    "gen_lag_max_ms",
    "in_flight",
    "connections",
    "service_rss_kib",
    "service_rss_anon_kib",
    "service_fds",
    "service_cpu_pct",
    "loadgen_cpu_pct",
    "redis_used_memory",
    "redis_keys",
    "devices",
    "loadavg_1m",
    "cpu_pressure_ms",
    "io_pressure_ms",
    "steal_pct",
]


class Soak:
    def __init__(self, args: argparse.Namespace, base_host: str, port: int, service_pid: int, redis_url: str) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.port = port
        self.mix = Mix(self.rng, f"{base_host}:{port}")
        self.pool = Pool(base_host, port, self.rng)
        self.service = Proc(service_pid)
        self.redis_url = redis_url
        self.totals = Totals()
        self.seconds: dict[int, Second] = {}
        self.rows: list[dict[str, Any]] = []
        self.in_flight = 0
        self.start = 0.0
        self.tasks: set[asyncio.Task[None]] = set()
        self.redis_after_seed: tuple[int | None, int | None] = (None, None)
        self.redis_latency: dict[str, list[list[float]]] = {}
        self.bursts_sent = 0
        self.in_flight_burst = 0  # a burst's requests do not count against --max-in-flight
        self.start_wall = 0.0
        self.sampled = 0  # seconds before this one have their row already
        self.abort: BaseException | None = None  # set by the sampler when it cannot go on

    def _second(self, now: float) -> Second:
        index = max(int(now - self.start), self.sampled)  # a late event goes into the first open second
        sec = self.seconds.get(index)
        if sec is None:
            sec = self.seconds[index] = Second()
        return sec

    def _error(self, kind: str, detail: str) -> None:
        self._second(time.monotonic()).errors[kind] += 1
        self.totals.errors[kind] += 1
        if len(self.totals.error_examples) < 20:
            self.totals.error_examples.append(f"{time.monotonic() - self.start:.1f}s {kind}: {detail[:200]}")

    async def seed(self) -> None:
        """The starting pool: `--devices` consents, `SEED_CONCURRENCY` at a time; any failure stops the run."""
        semaphore = asyncio.Semaphore(SEED_CONCURRENCY)

        async def one() -> None:
            raw, visitor = self.mix.seed_request()
            async with semaphore, asyncio.timeout(self.args.timeout):
                status, body = await send(self.pool, raw)
            if status != 200:
                raise SoakError(f"seeding a device failed: {status} {body[:300]!r}")
            self.mix.add(json.loads(body)["device"], visitor, seeded=True)

        await asyncio.gather(*(one() for _ in range(self.args.devices)))

    async def request(
        self, endpoint: str, raw: bytes, new_visitor: Visitor | None, scheduled: float, *, burst: bool = False
    ) -> None:
        """One request and its checks; a burst's requests count as requests and errors, not in the latencies."""
        self.in_flight += 1
        self.in_flight_burst += burst
        try:
            async with asyncio.timeout(self.args.timeout):
                status, body = await send(self.pool, raw)
        except TimeoutError:
            self._error("timeout", f"{endpoint} no answer within {self.args.timeout} s")
            return
        except ConnectFailed as exc:
            self._error("connect", f"{endpoint} {exc}")
            return
        except Disconnected as exc:
            self._error("disconnect", f"{endpoint} {exc}")
            return
        finally:
            self.in_flight -= 1
            self.in_flight_burst -= burst
        done = time.monotonic()
        latency_ms = (done - scheduled) * 1000
        self.totals.statuses[f"{endpoint} {status}"] += 1
        if not 200 <= status < 300:
            self._error("status", f"{endpoint} {status} {body[:200]!r}")
            return
        if b'"decisions"' not in body:
            self._error("bad_body", f"{endpoint} {body[:200]!r}")
            return
        if b"store_unavailable" in body:
            self._error("store_unavailable", f"{endpoint} {body[:200]!r}")
            return
        if new_visitor is not None:
            try:
                token = json.loads(body)["device"]
            except ValueError:
                self._error("bad_body", f"{endpoint} {body[:200]!r}")
                return
            except KeyError:
                self._error("no_device", f"{endpoint} {body[:200]!r}")
                return
            self.mix.add(token, new_visitor)
        sec = self._second(done)
        sec.answered += 1
        self.totals.answered[endpoint] += 1
        if not burst:
            sec.latencies_ms.append(latency_ms)
            if scheduled - self.start >= self.args.warmup:  # the run's figures leave the warm-up (and its bursts) out
                self.totals.latencies_ms[endpoint].append(latency_ms)

    async def generate(self, duration: float) -> None:
        """Open loop: request i starts at start + i/rate, answered or not (up to --max-in-flight at once)."""
        interval = 1.0 / self.args.rate
        total = int(duration * self.args.rate)
        bursts = burst_times(self.args)
        i = 0
        while i < total:
            if self.abort is not None:
                raise self.abort
            now = time.monotonic()
            if bursts and self.start + bursts[0] <= now:
                bursts.pop(0)
                self.burst(now)
            while i < total and self.start + i * interval <= now:
                scheduled = self.start + i * interval
                i += 1
                endpoint, raw, new_visitor = self.mix.next()
                sec = self._second(scheduled)
                sec.sent += 1
                self.totals.sent[endpoint] += 1
                lag_ms = (now - scheduled) * 1000
                sec.lag_max_ms = max(sec.lag_max_ms, lag_ms)
                self.totals.lags_ms.append(lag_ms)
                if self.in_flight - self.in_flight_burst >= self.args.max_in_flight:
                    self._error("overload", f"{endpoint} not sent: {self.in_flight} requests in flight")
                    continue
                task = asyncio.create_task(self.request(endpoint, raw, new_visitor, scheduled))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
            if i < total:
                await asyncio.sleep(max(0.0, self.start + i * interval - time.monotonic()))

    def burst(self, now: float) -> None:
        """`--burst` requests of the mix at once, on as many connections (as after a stall, when a backlog of
        requests arrives together): the first, in the warm-up, takes the service to the memory high-water mark
        of that concurrency, so that a later pile-up of no more requests does not show as growth."""
        self.bursts_sent += self.args.burst
        for _ in range(self.args.burst):
            endpoint, raw, new_visitor = self.mix.next()
            while endpoint == "decision" and new_visitor is not None:
                # Not a new GPC browser: its sighting is written within the decision's 100 ms, which a backlog of
                # this size can miss (and then rightly counts as an error); a burst is about memory, not deadlines.
                endpoint, raw, new_visitor = self.mix.next()
            self._second(now).sent += 1
            self.totals.sent[endpoint] += 1
            task = asyncio.create_task(self.request(endpoint, raw, new_visitor, now, burst=True))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def sample(self, stop: asyncio.Event, redis_client: Any, printer: Callable[[dict[str, Any]], None]) -> None:
        """A row per second, taken just after the second ended, until `stop` is set."""
        k = 1
        machine = MachineStall()
        gen_cpu_prev = self_cpu()
        self.service.cpu_delta()
        while True:
            await asyncio.sleep(max(0.0, self.start + k + 0.02 - time.monotonic()))
            self.sampled = k
            sec = self.seconds.pop(k - 1, Second())
            lat = sorted(sec.latencies_ms)
            try:
                memory = self.service.memory_kib()
                fds = self.service.fds()
                cpu = self.service.cpu_delta()
            except OSError as exc:
                self.abort = SoakError(f"cannot read the service's /proc figures (did it exit?): {exc}")
                return
            used, keys = await redis_figures(redis_client)
            gen_cpu = self_cpu()
            row = {
                "t_s": k,
                "time": time.strftime("%H:%M:%S"),
                "sent": sec.sent,
                "answered": sec.answered,
                "errors": sum(sec.errors.values()),
                **{f"err_{kind}": sec.errors.get(kind, 0) for kind in ERROR_KINDS},
                "p50_ms": round(percentile(lat, 50), 2) if lat else "",
                "p99_ms": round(percentile(lat, 99), 2) if lat else "",
                "max_ms": round(lat[-1], 2) if lat else "",
                "gen_lag_max_ms": round(sec.lag_max_ms, 2),
                "in_flight": self.in_flight,
                "connections": self.pool.open_now(self.in_flight),
                "service_rss_kib": memory.get("VmRSS"),
                "service_rss_anon_kib": memory.get("RssAnon"),
                "service_fds": fds,
                "service_cpu_pct": round(100 * cpu, 1),
                "loadgen_cpu_pct": round(100 * (gen_cpu - gen_cpu_prev), 1),
                "redis_used_memory": used,
                "redis_keys": keys,
                "devices": len(self.mix.pool),
                "loadavg_1m": loadavg()[0],
                **machine.delta(),
            }
            gen_cpu_prev = gen_cpu
            self.rows.append(row)
            printer(row)
            k += 1
            if stop.is_set() and not self.in_flight:
                return

    async def run(self) -> None:
        import redis.asyncio  # noqa: PLC0415 - third-party imports wait until `_script_setup` picked the venv

        redis_client = redis.asyncio.Redis.from_url(self.redis_url, socket_timeout=2, socket_connect_timeout=2)
        try:
            t0 = time.monotonic()
            await self.seed()
            print(f"soak: seeded {self.mix.seeded} devices in {time.monotonic() - t0:.1f} s", flush=True)
            self.redis_after_seed = await redis_figures(redis_client)
            # Redis's own latency monitor: every stall of its main thread (e.g. an fsync, as appendfsync is
            # "always") of LATENCY_THRESHOLD_MS or more, with its time, to tell Redis stalls from machine stalls.
            with contextlib.suppress(Exception):
                await redis_client.config_set("latency-monitor-threshold", LATENCY_THRESHOLD_MS)
                await redis_client.execute_command("LATENCY", "RESET")
            duration = self.args.seconds
            self.start, self.start_wall = time.monotonic(), time.time()
            stop = asyncio.Event()
            sampler = asyncio.create_task(self.sample(stop, redis_client, self._print_row))
            try:
                await self.generate(duration)
                # Drain: every request still out gets its own timeout, so this wait is bounded.
                if self.tasks:
                    await asyncio.wait(set(self.tasks), timeout=self.args.timeout + 2)
                stop.set()
                await asyncio.wait_for(sampler, timeout=self.args.timeout + 5)
                if self.abort is not None:
                    raise self.abort
            finally:
                stop.set()
                sampler.cancel()
                for task in list(self.tasks):
                    task.cancel()
                with contextlib.suppress(BaseException):
                    await asyncio.gather(sampler, *self.tasks, return_exceptions=True)
        finally:
            self.pool.close_all()
            with contextlib.suppress(Exception):
                self.redis_latency = await asyncio.wait_for(self._redis_latency(redis_client), 5)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(redis_client.aclose(), 2)

    async def _redis_latency(self, client: Any) -> dict[str, list[list[float]]]:
        """LATENCY HISTORY of every event Redis recorded: [second of the run, ms] pairs (last 160 per event)."""
        events: dict[str, list[list[float]]] = {}
        for latest in await client.execute_command("LATENCY", "LATEST"):
            name = latest[0].decode() if isinstance(latest[0], bytes) else str(latest[0])
            history = await client.execute_command("LATENCY", "HISTORY", name)
            events[name] = [[round(int(at) - self.start_wall, 1), int(ms)] for at, ms in history]
        return events

    def _print_row(self, row: dict[str, Any]) -> None:
        every = 1 if self.args.seconds <= 60 else 10
        if row["t_s"] % every and row["errors"] == 0:
            return
        p50 = row["p50_ms"] if row["p50_ms"] != "" else "-"
        p99 = row["p99_ms"] if row["p99_ms"] != "" else "-"
        used = row["redis_used_memory"]
        print(
            f"  {row['t_s']:>4}s sent {row['sent']:>4} ok {row['answered']:>4} err {row['errors']:>3}  "
            f"p50 {p50} p99 {p99} ms  RSS {row['service_rss_kib'] / 1024:.1f} MiB  fds {row['service_fds']}  "
            f"svc CPU {row['service_cpu_pct']:.0f}%  gen CPU {row['loadgen_cpu_pct']:.0f}%  redis "
            f"{(used or 0) / 2**20:.1f} MiB {row['redis_keys']} keys  load {row['loadavg_1m']}",
            flush=True,
        )


def burst_times(args: argparse.Namespace) -> list[float]:
    """Seconds of the run at which a burst starts: a third and two thirds into the warm-up (one burst does not
    reach the high-water mark: measured, a second one added 0.7 MiB, later ones nothing), then every
    --burst-every s."""
    if args.burst <= 0:
        return []
    times = [args.warmup / 3, 2 * args.warmup / 3]
    if args.burst_every > 0:
        start = args.warmup + args.burst_every
        times += list(itertools.takewhile(lambda t: t < args.seconds, itertools.count(start, args.burst_every)))
    return times


class SoakError(Exception):
    """Something the soak cannot run around; the message says what."""


# ---- report -----------------------------------------------------------------------------------


def sparkline(values: list[float], lo: float, hi: float) -> str:
    bars = "▁▂▃▄▅▆▇█"
    span = hi - lo or 1.0
    return "".join(bars[min(len(bars) - 1, max(0, int((v - lo) / span * len(bars))))] for v in values)


def summarize(
    soak: Soak, args: argparse.Namespace, load_start: list[float], metrics: dict[str, float]
) -> dict[str, Any]:
    rows, totals = soak.rows, soak.totals
    warm = [r for r in rows if r["t_s"] > args.warmup and r["service_rss_kib"] is not None and r["t_s"] <= args.seconds]
    if not warm:
        warm = [r for r in rows if r["service_rss_kib"] is not None]
    all_lat = sorted(x for values in totals.latencies_ms.values() for x in values)
    sent, answered = sum(totals.sent.values()), sum(totals.answered.values())
    errors = sum(totals.errors.values())
    rss = [r["service_rss_kib"] for r in warm]
    anon = [r["service_rss_anon_kib"] for r in warm]
    minutes = [r["t_s"] / 60 for r in warm]
    half = len(warm) // 2
    slope = linear_slope(minutes, rss)
    slope_anon = linear_slope(minutes, anon)
    slope_second_half = linear_slope(minutes[half:], rss[half:])
    post_warmup_s = len(warm)
    judged = post_warmup_s >= 120
    flat = (not judged) or (not math.isnan(slope) and slope <= args.max_rss_slope)
    redis_rows = [r for r in rows if r["redis_used_memory"] is not None]
    fds = [r["service_fds"] for r in rows]
    loads = [r["loadavg_1m"] for r in rows]
    lags = sorted(totals.lags_ms)
    per_minute = []
    for minute in range(0, max(1, math.ceil(args.seconds / 60))):
        chunk = [r for r in rows if minute * 60 < r["t_s"] <= (minute + 1) * 60]
        if not chunk:
            continue
        last = chunk[-1]
        p99s = [r["p99_ms"] for r in chunk if r["p99_ms"] != ""]
        per_minute.append(
            {
                "minute": minute + 1,
                "rss_mib": round(last["service_rss_kib"] / 1024, 2),
                "rss_anon_mib": round(last["service_rss_anon_kib"] / 1024, 2),
                "fds": last["service_fds"],
                "redis_used_mib": round((last["redis_used_memory"] or 0) / 2**20, 2),
                "redis_keys": last["redis_keys"],
                "devices": last["devices"],
                "answered": sum(r["answered"] for r in chunk),
                "errors": sum(r["errors"] for r in chunk),
                "worst_second_p99_ms": max(p99s) if p99s else None,
                "loadavg_1m": last["loadavg_1m"],
            }
        )
    rss_points = [r["service_rss_kib"] / 1024 for r in rows if r["service_rss_kib"] is not None]
    step = max(1, len(rss_points) // 60)
    spark_points = rss_points[::step]
    summary: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, "-m", "bench.soak", *sys.argv[1:]]),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "settings": {
            "seconds": args.seconds,
            "rate_per_s": args.rate,
            "warmup_s": args.warmup,
            "seed_devices": args.devices,
            "max_in_flight": args.max_in_flight,
            "burst": {"size": args.burst, "at_s": burst_times(args)[:20], "requests": soak.bursts_sent},
            "timeout_s": args.timeout,
            "pinned": args.pin,
            "niceness": os.getpriority(os.PRIO_PROCESS, 0),
            "uvicorn": "1 worker, uvloop, httptools (as bench.run)",
            "redis": "EmbeddedRedis, persistent, appendfsync always",
            "rate_limits": "off (CONSENT_RATE_LIMIT_DEVICE=off, CONSENT_RATE_LIMIT_CLIENT=off)",
            "mix": "80% decision / 12% consent / 8% opt-out",
        },
        "machine": {
            "nproc": os.cpu_count(),
            "loadavg_at_start": load_start,
            "loadavg_at_end": loadavg(),
            "loadavg_1m_during": {
                "min": min(loads, default=None),
                "mean": round(sum(loads) / len(loads), 2) if loads else None,
                "max": max(loads, default=None),
            },
        },
        "requests": {
            "sent": sent,
            "answered_ok": answered,
            "achieved_rate_per_s": round(answered / max(1, min(args.seconds, len(rows))), 1),
            "by_endpoint_sent": dict(totals.sent),
            "by_endpoint_ok": dict(totals.answered),
            "statuses": dict(sorted(totals.statuses.items())),
        },
        "errors": {
            "total": errors,
            "by_kind": {k: totals.errors.get(k, 0) for k in ERROR_KINDS},
            "examples": totals.error_examples,
            "service_metrics": metrics,
        },
        "latency_ms": {
            "measured_from": "the request's scheduled start to the end of its answer; requests after the warm-up",
            "p50": round(percentile(all_lat, 50), 2),
            "p90": round(percentile(all_lat, 90), 2),
            "p99": round(percentile(all_lat, 99), 2),
            "p99_9": round(percentile(all_lat, 99.9), 2),
            "max": round(all_lat[-1], 2) if all_lat else None,
            "by_endpoint": {
                e: {
                    "p50": round(percentile(sorted(v), 50), 2),
                    "p99": round(percentile(sorted(v), 99), 2),
                    "max": round(max(v), 2) if v else None,
                }
                for e, v in totals.latencies_ms.items()
            },
            "generator_lag_p99": round(percentile(lags, 99), 2),
            "generator_lag_max": round(lags[-1], 2) if lags else None,
        },
        "service_memory": {
            "rss_kib_after_warmup": rss[0] if rss else None,
            "rss_kib_end": rss[-1] if rss else None,
            "rss_kib_max": max(rss, default=None),
            "rss_kib_min": min(rss, default=None),
            "rss_kib_at_first_sample": rows[0]["service_rss_kib"] if rows else None,
            "rss_slope_kib_per_min": round(slope, 1),
            "rss_slope_second_half_kib_per_min": round(slope_second_half, 1),
            "rss_anon_slope_kib_per_min": round(slope_anon, 1),
            "fit_over_s": post_warmup_s,
            "steps": rss_steps(rows),
            "max_slope_kib_per_min": args.max_rss_slope,
            "flat": flat if judged else None,
            "sparkline_mib": {
                "points": [round(x, 2) for x in spark_points],
                "every_s": step,
                "line": sparkline(spark_points, min(spark_points, default=0), max(spark_points, default=0)),
            },
        },
        "service_fds": {
            "start": fds[0] if fds else None,
            "end": fds[-1] if fds else None,
            "max": max(fds, default=None),
        },
        "service_cpu_pct_mean": round(sum(r["service_cpu_pct"] for r in rows) / len(rows), 1) if rows else None,
        "loadgen_cpu_pct_mean": round(sum(r["loadgen_cpu_pct"] for r in rows) / len(rows), 1) if rows else None,
        "connections_opened": soak.pool.opened,
        "redis": {
            "used_memory_after_seed": soak.redis_after_seed[0],
            "keys_after_seed": soak.redis_after_seed[1],
            "used_memory_end": redis_rows[-1]["redis_used_memory"] if redis_rows else None,
            "keys_end": redis_rows[-1]["redis_keys"] if redis_rows else None,
            "used_memory_growth": (redis_rows[-1]["redis_used_memory"] - soak.redis_after_seed[0])
            if redis_rows and soak.redis_after_seed[0] is not None
            else None,
        },
        "devices": {"seeded": soak.mix.seeded, "new": soak.mix.new_devices, "pool_end": len(soak.mix.pool)},
        "per_minute": per_minute,
        "stalls": stalls(rows, soak.redis_latency),
    }
    return summary


def rss_steps(rows: list[dict[str, Any]], min_kib: int = 64) -> list[dict[str, Any]]:
    """Every second in which RSS moved by `min_kib` or more, with the connections open then: memory that stays after
    a burst of concurrency is the allocator keeping its high-water mark, not a leak."""
    steps = []
    for before, row in itertools.pairwise(rows):
        if before["service_rss_kib"] is None or row["service_rss_kib"] is None:
            continue
        delta = row["service_rss_kib"] - before["service_rss_kib"]
        if abs(delta) >= min_kib:
            peak = max(r["connections"] for r in rows[max(0, row["t_s"] - 5) : row["t_s"]])
            steps.append({"t_s": row["t_s"], "kib": delta, "rss_kib": row["service_rss_kib"], "connections_5s": peak})
    return steps


def stalls(rows: list[dict[str, Any]], redis_latency: dict[str, list[list[float]]]) -> dict[str, Any]:
    """What the machine and Redis were doing in the seconds that had errors or a p99 over 50 ms."""

    def spread(name: str) -> dict[str, float] | None:
        values = [r[name] for r in rows if r[name] != ""]
        if not values:
            return None
        return {"mean": round(sum(values) / len(values), 1), "max": max(values)}

    keep = ("t_s", "time", "errors", "p99_ms", "max_ms", "gen_lag_max_ms", "service_cpu_pct", "loadavg_1m")
    keep += ("cpu_pressure_ms", "io_pressure_ms", "steal_pct")
    bad = [r for r in rows if r["errors"] or (r["p99_ms"] != "" and r["p99_ms"] > 50)]
    redis_stall_s = {int(at) + d for events in redis_latency.values() for at, _ in events for d in (0, 1, 2)}

    def stalled(r: dict[str, Any]) -> bool:
        """The machine or Redis stalled in this second: CPU pressure of a quarter of it or more, the generator (a
        process of its own) 30 ms or more late, or a Redis latency event (>= 20 ms) within a second of it."""
        pressure = r["cpu_pressure_ms"] if r["cpu_pressure_ms"] != "" else 0.0
        return pressure >= STALL_CPU_PRESSURE_MS or r["gen_lag_max_ms"] >= STALL_LAG_MS or r["t_s"] in redis_stall_s

    return {
        "errors_in_stalled_seconds": sum(r["errors"] for r in rows if stalled(r)),
        "errors_elsewhere": sum(r["errors"] for r in rows if not stalled(r)),
        "stalled_seconds": sum(1 for r in rows if stalled(r)),
        "slow_or_failing_seconds": [{k: r[k] for k in keep} for r in bad],
        "redis_latency_events": redis_latency,  # [second of the run, ms] per event, from Redis's latency monitor
        "redis_latency_threshold_ms": LATENCY_THRESHOLD_MS,
        "cpu_pressure_ms_per_s": spread("cpu_pressure_ms"),
        "io_pressure_ms_per_s": spread("io_pressure_ms"),
        "steal_pct": spread("steal_pct"),
    }


def print_summary(s: dict[str, Any]) -> None:
    req, err, lat, mem, red = s["requests"], s["errors"], s["latency_ms"], s["service_memory"], s["redis"]
    mib = 1024
    print()
    print(f"soak: {s['settings']['seconds']} s at {s['settings']['rate_per_s']} req/s ({s['settings']['mix']})")
    print(
        f"  requests   {req['sent']:,} sent, {req['answered_ok']:,} answered OK, "
        f"achieved {req['achieved_rate_per_s']} req/s"
    )
    kinds = ", ".join(f"{k} {v}" for k, v in err["by_kind"].items() if v) or "none"
    print(f"  errors     {err['total']} ({kinds}); service counters {err['service_metrics']}")
    print(
        f"  latency    p50 {lat['p50']} ms, p90 {lat['p90']} ms, p99 {lat['p99']} ms, p99.9 {lat['p99_9']} ms, "
        f"max {lat['max']} ms (generator lag p99 {lat['generator_lag_p99']} ms)"
    )
    for name, e in lat["by_endpoint"].items():
        print(f"    {name:<9} p50 {e['p50']} ms, p99 {e['p99']} ms, max {e['max']} ms")
    if mem["rss_kib_after_warmup"] is not None:
        print(
            f"  service    RSS {mem['rss_kib_after_warmup'] / mib:.1f} MiB after warm-up, "
            f"{mem['rss_kib_end'] / mib:.1f} at end, max {mem['rss_kib_max'] / mib:.1f}; "
            f"slope {mem['rss_slope_kib_per_min']} KiB/min "
            f"(second half {mem['rss_slope_second_half_kib_per_min']}, anon {mem['rss_anon_slope_kib_per_min']}) "
            f"over {mem['fit_over_s']} s; flat: {mem['flat']} (limit {mem['max_slope_kib_per_min']} KiB/min)"
        )
        print(f"    RSS      {mem['sparkline_mib']['line']}  (every {mem['sparkline_mib']['every_s']} s, min→max)")
        steps = ", ".join(f"{x['t_s']}s {x['kib']:+} KiB ({x['connections_5s']} conns)" for x in mem["steps"][:12])
        print(f"    steps    {steps or 'none'} (RSS moves of 64 KiB or more in one second; connections open then)")
    fds = s["service_fds"]
    print(
        f"  service    fds {fds['start']} → {fds['end']} (max {fds['max']}), CPU {s['service_cpu_pct_mean']}% "
        f"(generator {s['loadgen_cpu_pct_mean']}%), {s['connections_opened']} connections opened"
    )
    if red["used_memory_end"] is not None and red["used_memory_after_seed"] is not None:
        print(
            f"  redis      used_memory {red['used_memory_after_seed'] / 2**20:.1f} → "
            f"{red['used_memory_end'] / 2**20:.1f} MiB, "
            f"keys {red['keys_after_seed']:,} → {red['keys_end']:,}; devices {s['devices']['seeded']:,} seeded + "
            f"{s['devices']['new']:,} new"
        )
    st = s["stalls"]
    print(
        f"  stalls     CPU pressure {st['cpu_pressure_ms_per_s']} ms/s, "
        f"I/O pressure {st['io_pressure_ms_per_s']} ms/s, "
        f"steal {st['steal_pct']} %; {st['stalled_seconds']} stalled seconds, with {st['errors_in_stalled_seconds']} "
        f"errors; {st['errors_elsewhere']} errors in the other seconds"
    )
    for r in st["slow_or_failing_seconds"][:15]:
        print(
            f"    {r['t_s']:>4}s errors {r['errors']:>3} p99 {r['p99_ms']} ms, generator lag {r['gen_lag_max_ms']} ms, "
            f"CPU pressure {r['cpu_pressure_ms']} ms, I/O pressure {r['io_pressure_ms']} ms, load {r['loadavg_1m']}"
        )
    for name, events in st["redis_latency_events"].items():
        shown = ", ".join(f"{at:g}s {ms} ms" for at, ms in events[-12:])
        print(f"    redis {name}: {len(events)} stalls >= {st['redis_latency_threshold_ms']} ms: {shown}")
    m = s["machine"]
    print(
        f"  machine    {m['nproc']} cores; loadavg at start {m['loadavg_at_start']}, during (1 min) "
        f"{m['loadavg_1m_during']['min']}–{m['loadavg_1m_during']['max']} (mean {m['loadavg_1m_during']['mean']})"
    )


def no_nan(value: Any) -> Any:
    """NaN (a figure with too few samples) as null, so the JSON stays standard."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [no_nan(v) for v in value]
    return value


def scrape_metrics(base: str) -> dict[str, float]:
    """The service's own error counters from /metrics (store and background errors must stay 0)."""
    from bench.run import http_get  # noqa: PLC0415

    wanted = ("consent_store_errors_total", "consent_background_errors_total")
    out: dict[str, float] = {}
    try:
        status, _, raw = http_get(base + "/metrics", {}, timeout=5.0)
    except OSError:
        status, raw = 0, b""
    if status != 200:
        return {"metrics_unreadable_total": 1.0}  # counted as a failure: the run cannot vouch for the service
    text = raw.decode()
    for line in text.splitlines():
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in wanted:
            out[name] = out.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    return out


# ---- main -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the run (default 10)")
    parser.add_argument("--rate", type=float, default=300.0, help="requests started per second (default 300)")
    parser.add_argument("--smoke", action="store_true", help="a 20 s run (5 s warm-up, 300 seeded devices)")
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds left out of the RSS figures (default 30)")
    parser.add_argument("--devices", type=int, default=3000, help="devices seeded before the run (default 3000)")
    parser.add_argument("--max-in-flight", type=int, default=256, help="requests out at once; more are errors")
    parser.add_argument(
        "--burst",
        type=int,
        default=256,
        help="requests sent at once, twice in the warm-up (0: none), on as many connections (default 256)",
    )
    parser.add_argument(
        "--burst-every", type=float, default=0.0, help="and again every this many seconds after the warm-up (0: no)"
    )
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds before a request counts as timed out")
    parser.add_argument(
        "--max-rss-slope",
        type=float,
        default=64.0,
        help="KiB/min of RSS growth after the warm-up still called flat (default 64; judged with 2+ min)",
    )
    parser.add_argument("--pin", action="store_true", help="service on core 0; Redis and the generator on core 1")
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="run Redis, the service and the generator at this niceness (e.g. -10, needs root): on a machine "
        "shared with other heavy work, so that its CPU stalls do not land on the soak (default 0)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed of the mix")
    parser.add_argument("--output-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    if args.smoke:
        args.minutes, args.warmup, args.devices = 20 / 60, 5.0, min(args.devices, 300)
    args.seconds = round(args.minutes * 60)
    if args.seconds < 5 or args.rate <= 0 or args.warmup >= args.seconds:
        parser.error("need --minutes of 5+ s, a positive --rate and a --warmup shorter than the run")
    return args


def main(argv: list[str] | None = None) -> int:
    from bench.run import BenchError, sigterm_as_interrupt  # noqa: PLC0415 - after `_script_setup`

    args = parse_args(argv)
    try:
        with sigterm_as_interrupt():
            return _run(args)
    except (SoakError, BenchError) as exc:
        print(f"soak: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("soak: interrupted; everything started here was stopped", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    import uvloop  # noqa: PLC0415

    from bench.run import HOST, Server, pin_all_threads  # noqa: PLC0415
    from consent_service.cli.redis_runner import EmbeddedRedis  # noqa: PLC0415

    pin = args.pin and shutil.which("taskset") is not None and len(os.sched_getaffinity(0)) >= 2
    if args.nice:
        try:
            os.nice(args.nice)  # before anything starts: Redis, the service and their threads inherit it
        except PermissionError:
            raise SoakError(f"--nice {args.nice} needs root (or CAP_SYS_NICE)") from None
    args.pin = pin
    load_start = loadavg()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="consent-soak-")))
        redis = EmbeddedRedis(tmp / "redis-data", persistent=True, appendfsync="always")
        stack.callback(redis.stop)
        redis_url = redis.start()
        if pin and redis.pid is not None:
            pin_all_threads(redis.pid, 1)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONSENT_") and k != "PROMETHEUS_MULTIPROC_DIR"}
        env |= {
            "REDIS_URL": redis_url,
            "CONSENT_DATA_DIR": str(tmp / "service-data"),
            "CONSENT_LOG_LEVEL": "warning",
            "CONSENT_SECRET_KEYS": SECRET_KEY,
            "CONSENT_PSEUDONYM_KEY": PSEUDONYM_KEY,
            "CONSENT_ADMIN_KEYS": f"{ADMIN_KEY}:*",
            "CONSENT_RATE_LIMIT_DEVICE": "off",
            "CONSENT_RATE_LIMIT_CLIENT": "off",
        }
        service = Server(
            "service", ["--factory", "consent_service.web.asgi:app_from_env"], env, cpu=0 if pin else None, log_dir=tmp
        )
        stack.callback(service.stop)
        service.start("/readyz")
        assert service.proc is not None
        if pin:
            os.sched_setaffinity(0, {1})
        print(
            f"soak: service pid {service.proc.pid} on {service.base}, redis-server {redis.version} (pid {redis.pid}); "
            f"{args.seconds} s at {args.rate:g} req/s after seeding {args.devices} devices; loadavg {load_start}",
            flush=True,
        )
        soak = Soak(args, HOST, service.port, service.proc.pid, redis_url)
        interrupted = False
        try:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(soak.run())
        except KeyboardInterrupt:
            interrupted = True
        if service.proc is None or service.proc.poll() is not None:
            raise SoakError("the service exited during the run")
        metrics = scrape_metrics(service.base)
        if not soak.rows:
            if interrupted:
                raise KeyboardInterrupt
            raise SoakError("no samples were taken")
        summary = summarize(soak, args, load_start, metrics)
        summary["interrupted"] = interrupted
        args.output_dir.mkdir(parents=True, exist_ok=True)
        csv_path = args.output_dir / f"soak-{stamp}{'-smoke' if args.smoke else ''}.csv"
        json_path = csv_path.with_suffix(".json")
        with csv_path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
            writer.writeheader()
            writer.writerows(soak.rows)
        summary["csv"] = str(csv_path.relative_to(REPO)) if csv_path.is_relative_to(REPO) else str(csv_path)
        json_path.write_text(json.dumps(no_nan(summary), indent=2) + "\n", encoding="utf-8")
        print_summary(summary)
        print(f"\nresults: {csv_path}\n         {json_path}")
        if interrupted:
            raise KeyboardInterrupt
    store_errors = sum(metrics.values())
    failed = []
    if summary["errors"]["total"]:
        failed.append(f"{summary['errors']['total']} requests failed")
    if store_errors:
        failed.append(f"the service counted {store_errors:g} store/background errors")
    if summary["service_memory"]["flat"] is False:
        failed.append(f"RSS grew {summary['service_memory']['rss_slope_kib_per_min']} KiB/min after the warm-up")
    if failed:
        print("soak: FAILED: " + "; ".join(failed), file=sys.stderr)
        return 1
    print("soak: OK (no errors" + (", RSS flat)" if summary["service_memory"]["flat"] else ")"))
    return 0


def _script_setup() -> None:
    """`python bench/soak.py`: use the project's venv if this interpreter lacks the dependencies."""
    sys.path.insert(0, str(REPO))
    if importlib.util.find_spec("uvicorn") is None:
        venv_python = REPO / ".venv" / "bin" / "python"
        if venv_python.exists() and Path(sys.executable).resolve() != venv_python.resolve():
            os.chdir(REPO)
            os.execv(venv_python, [str(venv_python), "-m", "bench.soak", *sys.argv[1:]])


if __name__ == "__main__":
    if __package__ in (None, ""):
        _script_setup()
    raise SystemExit(main())
