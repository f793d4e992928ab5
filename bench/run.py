"""Benchmark (not a test): the decision endpoint against a bare Starlette endpoint, driven by wrk.

    .venv/bin/python -m bench.run [--duration 10] [--connections 50] [--rounds 1] [--profile]

In one run it starts a private Redis (EmbeddedRedis, persistent, the service's default appendfsync), the
consent service and `bench/bare_app.py`, each under uvicorn with ONE worker (uvloop + httptools) pinned to
one core, seeds a device, then drives every scenario with wrk pinned to the other core (a discarded
warm-up run first), and prints req/s, p50, p99 and the ratio to the bare endpoint. Results go to
`bench/results/latest.json`. With `--profile`, the decision endpoint is then profiled under load into
`bench/results/profile.txt`: py-spy for Python functions and, when installed, perf for C and kernel time
(cProfile inside a fresh server when py-spy cannot attach).

Experiments: `--service-factory bench.variants:<name>` runs a patched service (see bench/variants.py);
`bench.micro` and `bench.redis_client` measure single steps of the decision path.

Redis is pinned to the load generator's core, so the service has a core to itself. Every server binds
127.0.0.1 only and is stopped on exit, error or Ctrl-C; every wait is bounded in time.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "bench" / "results"
HOST = "127.0.0.1"
DECISION_PATH = "/v1/decision?site=demo&purpose=advertising"
REGION_HEADERS = {"CloudFront-Viewer-Country": "US", "CloudFront-Viewer-Country-Region": "CA"}
# For our own setup requests: urllib's default "Python-urllib" is classed as a bot, and bots get no device.
BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
PORT_ATTEMPTS = 3
UVICORN_FLAGS = [
    "--host",
    HOST,
    "--workers",
    "1",
    "--loop",
    "uvloop",  # what uvicorn's "auto" picks when uvloop is installed; explicit, so a missing one fails
    "--http",
    # The service's protocol as `serve` runs it (uvicorn's httptools one with the head cap and read
    # deadlines, here with their defaults); the bare app runs on it too, so the ratio stays the app's.
    "consent_service.web.protocol:LimitedHttpToolsProtocol",
    "--no-access-log",
    "--no-server-header",
    "--log-level",
    "warning",
]


class BenchError(Exception):
    """Something the benchmark cannot measure around; the message says what."""


# ---- processes ------------------------------------------------------------------------------


def pin_prefix(cpu: int | None) -> list[str]:
    return ["taskset", "-c", str(cpu)] if cpu is not None else []


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """One uvicorn process (ONE worker, so its pid is the server) on 127.0.0.1 and a free port."""

    def __init__(self, name: str, app_args: list[str], env: dict[str, str], *, cpu: int | None, log_dir: Path) -> None:
        self.name = name
        self._app_args = app_args
        self._env = env
        self._cpu = cpu
        self._log_path = log_dir / f"{name}.log"
        self._wrap: list[str] = []
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def with_cprofile(self, out: Path) -> Server:
        self._wrap = ["-m", "cProfile", "-o", str(out)]
        return self

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, ready_path: str) -> None:
        for attempt in range(1, PORT_ATTEMPTS + 1):
            self.port = free_port()
            cmd = [*pin_prefix(self._cpu), sys.executable, *self._wrap, "-m", "uvicorn", *self._app_args]
            cmd += [*UVICORN_FLAGS, "--port", str(self.port), "--app-dir", str(REPO)]
            with self._log_path.open("ab") as log:
                # Same process group as us: a Ctrl-C in the terminal reaches the server too.
                self.proc = subprocess.Popen(cmd, cwd=REPO, env=self._env, stdout=log, stderr=log)
            problem = self._wait_ready(ready_path, time.monotonic() + READY_TIMEOUT_S)
            if problem is None:
                return
            self.stop()
            tail = self._log_tail()
            if "address already in use" in tail.lower() and attempt < PORT_ATTEMPTS:
                continue  # another process took the port between our probe and uvicorn's bind
            raise BenchError(f"{self.name} server {problem}; log {self._log_path}:\n{tail}")

    def _wait_ready(self, path: str, deadline: float) -> str | None:
        assert self.proc is not None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return f"exited with status {self.proc.returncode} during startup"
            with contextlib.suppress(OSError):
                status, _, _ = http_get(self.base + path, {}, timeout=1.0)
                if status == 200:
                    return None
            time.sleep(0.05)
        return f"did not answer {path} within {READY_TIMEOUT_S:.0f} s"

    def _log_tail(self) -> str:
        try:
            return "\n".join(self._log_path.read_text("utf-8", errors="replace").splitlines()[-20:])
        except OSError:
            return "(no log)"

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process (all threads) so far."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """SIGINT (uvicorn shuts down cleanly and cProfile writes its file), then SIGKILL; safe to repeat."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(STOP_TIMEOUT_S)


def pin_all_threads(pid: int, cpu: int) -> None:
    """Pin every thread of `pid` (redis-server has background threads) to one core."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.sched_setaffinity(int(task.name), {cpu})


def http_get(url: str, headers: dict[str, str], *, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    return _http("GET", url, headers, None, timeout)


def _http(
    method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, headers={"User-Agent": BROWSER_UA, **headers}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


# ---- wrk --------------------------------------------------------------------------------------


@dataclass
class WrkResult:
    requests_per_s: float
    requests: int
    seconds: float
    latency_avg_ms: float
    latency_max_ms: float
    p50_ms: float
    p75_ms: float
    p90_ms: float
    p99_ms: float
    socket_errors: dict[str, int] = field(default_factory=dict)
    non_2xx: int = 0
    server_cpu_pct: float | None = None
    server_cpu_us_per_request: float | None = None
    redis_calls_per_request: dict[str, float] = field(default_factory=dict)
    wrk_cpu_pct: float | None = None  # wrk's own user + system time (its core also runs Redis)
    core_busy_pct: dict[str, float] = field(default_factory=dict)  # per core, from /proc/stat
    core_steal_pct: dict[str, float] = field(default_factory=dict)  # time the hypervisor gave elsewhere


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_DURATION = r"([\d.]+)(us|ms|s|m)"


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNIT_MS[unit]


def parse_wrk(text: str) -> WrkResult:
    """The numbers of `wrk --latency` output; BenchError when a line we need is missing."""

    def need(pattern: str) -> re.Match[str]:
        match = re.search(pattern, text, re.MULTILINE)
        if match is None:
            raise BenchError(f"wrk output lacks {pattern!r}:\n{text}")
        return match

    pct = {
        p: _ms(*need(rf"^\s+{p}%\s+{_DURATION}\s*$").groups()[:2])  # type: ignore[arg-type]
        for p in (50, 75, 90, 99)
    }
    latency = need(rf"^\s+Latency\s+{_DURATION}\s+{_DURATION}\s+{_DURATION}")
    total = need(r"^\s+(\d+) requests in ([\d.]+)(us|ms|s|m)")
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return WrkResult(
        requests_per_s=float(need(r"^Requests/sec:\s+([\d.]+)").group(1)),
        requests=int(total.group(1)),
        seconds=_ms(total.group(2), total.group(3)) / 1000,
        latency_avg_ms=_ms(latency.group(1), latency.group(2)),
        latency_max_ms=_ms(latency.group(5), latency.group(6)),
        p50_ms=pct[50],
        p75_ms=pct[75],
        p90_ms=pct[90],
        p99_ms=pct[99],
        socket_errors=dict(zip(("connect", "read", "write", "timeout"), map(int, errors.groups()), strict=True))
        if errors
        else {},
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
    )


def wrk_command(url: str, headers: dict[str, str], args: argparse.Namespace, seconds: float) -> list[str]:
    cmd = [*pin_prefix(args.client_cpu), "wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s"]
    cmd += ["--latency", "--timeout", "5s"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    return [*cmd, url]


def run_wrk(url: str, headers: dict[str, str], args: argparse.Namespace, seconds: float) -> str:
    proc = subprocess.run(
        wrk_command(url, headers, args, seconds), capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if proc.returncode != 0:
        raise BenchError(f"wrk failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


# ---- scenarios --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    server: str  # "bare" or "service"
    path: str
    headers: dict[str, str]
    check: Callable[[dict[str, Any]], bool]  # the JSON answer is the one this scenario means to measure
    note: str


def _advertising(body: dict[str, Any]) -> dict[str, Any]:
    return body.get("decisions", {}).get("advertising", {})  # type: ignore[no-any-return]


def scenarios(token: str, gpc_token: str) -> list[Scenario]:
    """`gpc_token` is a second device: a recorded GPC signal sticks to its device (and would change `token`'s)."""
    with_token = {"X-Consent-Device": token, **REGION_HEADERS}
    return [
        Scenario(
            "bare",
            "bare",
            "/",
            {},
            lambda b: b == {"status": "ok", "site": "demo"},
            "bench/bare_app.py: one route, JSONResponse of a small dict",
        ),
        Scenario(
            "healthz",
            "service",
            "/healthz",
            {},
            lambda b: b == {"status": "ok"},
            "the service's app, no Redis: routing + orjson response + security headers",
        ),
        Scenario(
            "decision (no token)",
            "service",
            DECISION_PATH,
            dict(REGION_HEADERS),
            lambda b: _advertising(b) == {"allowed": True, "reason": "default"} and "device" not in b,
            "no device: no signature check, no Redis",
        ),
        Scenario(
            "decision (token)",
            "service",
            DECISION_PATH,
            with_token,
            lambda b: _advertising(b) == {"allowed": False, "reason": "opt_out"} and b.get("device") == token,
            "valid token + one Redis read of an existing record (the common path)",
        ),
        Scenario(
            "decision (GPC + token)",
            "service",
            DECISION_PATH,
            {"X-Consent-Device": gpc_token, **REGION_HEADERS, "Sec-GPC": "1"},
            lambda b: _advertising(b) == {"allowed": False, "reason": "gpc"} and b.get("device") == gpc_token,
            "another device, Sec-GPC: 1 already recorded today: a read, no write",
        ),
    ]


def _cluster_scenario(
    stack: contextlib.ExitStack,
    tmp: Path,
    env: dict[str, str],
    args: argparse.Namespace,
    servers: dict[str, Server],
    counters: dict[str, RedisCounter],
) -> Scenario:
    """`--cluster`: a 3-master Redis Cluster (tests/cluster.py) and a second service on it, on the same
    core as the first, and the token scenario against it, to compare with standalone in one run."""
    from tests.cluster import LocalCluster  # noqa: PLC0415 - only with --cluster

    cluster = stack.enter_context(LocalCluster(tmp / "cluster"))
    if args.redis_cpu is not None:
        for proc in cluster._procs.values():
            pin_all_threads(proc.pid, args.redis_cpu)
    cluster_env = {**env, "REDIS_URL": cluster.url, "CONSENT_DATA_DIR": str(tmp / "service-cluster-data")}
    service = Server("service-cluster", ["--factory", args.service_factory], cluster_env, cpu=args.server_cpu,
                     log_dir=tmp)  # fmt: skip
    stack.callback(service.stop)
    service.start("/healthz")
    servers[service.name] = service
    counter = RedisCounter(*(f"redis://127.0.0.1:{port}/0" for port in cluster.ports))
    stack.callback(counter.close)
    counters[service.name] = counter
    token = seed_device(service)
    return Scenario(
        "decision (token) on cluster",
        service.name,
        DECISION_PATH,
        {"X-Consent-Device": token, **REGION_HEADERS},
        lambda b: _advertising(b) == {"allowed": False, "reason": "opt_out"} and b.get("device") == token,
        "as `decision (token)`, on a 3-master Redis Cluster (the per-master pipelined reader)",
    )


def seed_device(service: Server) -> str:
    """POST /v1/consent (demo, reject_all) as a server-side caller; the answer carries the device token."""
    body = json.dumps({"site": "demo", "action": "reject_all"}).encode()
    status, _, raw = _http(
        "POST", service.base + "/v1/consent", {"Content-Type": "application/json", **REGION_HEADERS}, body, 10.0
    )
    answer = json.loads(raw or b"{}")
    if status != 200 or not isinstance(answer.get("device"), str):
        raise BenchError(f"seeding a device failed: {status} {raw[:300]!r}")
    return str(answer["device"])


def verify(scenario: Scenario, base: str) -> None:
    """One request before the load: the expected answer, and no Set-Cookie (which would mean a write)."""
    status, headers, raw = http_get(base + scenario.path, scenario.headers)
    body = json.loads(raw or b"null")
    if status != 200 or not scenario.check(body):
        raise BenchError(f"{scenario.name}: unexpected answer {status} {raw[:400]!r}")
    if "set-cookie" in headers:
        raise BenchError(f"{scenario.name}: the answer sets a cookie, so the request wrote to Redis: {raw[:300]!r}")


class RedisCounter:
    """Per-command call counts from INFO commandstats, to show how many Redis commands a request costs."""

    def __init__(self, *urls: str) -> None:
        import redis  # noqa: PLC0415 - third-party imports wait until `_script_setup` picked the venv

        # Several URLs: a cluster's masters, summed (a request's commands land on its slot's master).
        self._clients = [redis.Redis.from_url(url, socket_timeout=5) for url in urls]

    def snapshot(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for client in self._clients:
            for name, v in client.info("commandstats").items():
                if name != "cmdstat_info":
                    key = name.removeprefix("cmdstat_")
                    counts[key] = counts.get(key, 0) + int(v["calls"])
        return counts

    def close(self) -> None:
        for client in self._clients:
            client.close()


def cpu_times() -> dict[str, list[int]]:
    """Per-core jiffies from /proc/stat: user nice system idle iowait irq softirq steal ..."""
    lines = Path("/proc/stat").read_text().splitlines()
    return {line.split()[0]: [int(x) for x in line.split()[1:]] for line in lines if re.match(r"cpu\d", line)}


def core_usage(before: dict[str, list[int]], after: dict[str, list[int]]) -> tuple[dict[str, float], dict[str, float]]:
    busy, steal = {}, {}
    for core, now in after.items():
        delta = [a - b for a, b in zip(now, before.get(core, now), strict=False)]
        total = sum(delta[:8]) or 1
        busy[core] = round(100 * (total - delta[3] - delta[4]) / total, 1)
        steal[core] = round(100 * delta[7] / total, 1)
    return busy, steal


def measure(
    scenario: Scenario, server: Server, counter: RedisCounter, args: argparse.Namespace, *, quiet: bool
) -> WrkResult:
    verify(scenario, server.base)
    url = server.base + scenario.path
    if args.warmup > 0:
        run_wrk(url, scenario.headers, args, args.warmup)
    redis_before, cpu_before, cores_before = counter.snapshot(), server.cpu_seconds(), cpu_times()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    output = run_wrk(url, scenario.headers, args, args.duration)
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_used, cores_after, redis_after = server.cpu_seconds() - cpu_before, cpu_times(), counter.snapshot()
    result = parse_wrk(output)
    wrk_cpu = (children_after.ru_utime - children_before.ru_utime) + (
        children_after.ru_stime - children_before.ru_stime
    )
    result.wrk_cpu_pct = round(100 * wrk_cpu / result.seconds, 1)
    result.core_busy_pct, result.core_steal_pct = core_usage(cores_before, cores_after)
    result.server_cpu_pct = round(100 * cpu_used / result.seconds, 1)
    result.server_cpu_us_per_request = round(1e6 * cpu_used / max(result.requests, 1), 1)
    if scenario.server != "bare":
        result.redis_calls_per_request = {
            name: round((calls - redis_before.get(name, 0)) / max(result.requests, 1), 3)
            for name, calls in redis_after.items()
            if calls - redis_before.get(name, 0) > 0
        }
    if result.non_2xx or any(result.socket_errors.values()):
        print(f"  WARNING {scenario.name}: non-2xx {result.non_2xx}, socket errors {result.socket_errors}")
    if not quiet:
        cores = " ".join(f"{core} {busy:.0f}%" for core, busy in result.core_busy_pct.items())
        print(
            f"  {scenario.name:<24} {result.requests_per_s:>9,.0f} req/s  p50 {result.p50_ms:.2f} ms  server CPU "
            f"{result.server_cpu_pct:.0f}%, wrk CPU {result.wrk_cpu_pct:.0f}%, busy {cores}",
            flush=True,
        )
    return result


# ---- report -----------------------------------------------------------------------------------


def summarize(rounds: list[dict[str, WrkResult]]) -> dict[str, dict[str, Any]]:
    """Per scenario: the median over rounds of req/s, p50, p99; ratio = median of per-round ratios to bare."""
    summary: dict[str, dict[str, Any]] = {}
    for name in rounds[0]:
        results = [r[name] for r in rounds]
        ratios = [r[name].requests_per_s / r["bare"].requests_per_s for r in rounds if "bare" in r]
        summary[name] = {
            "requests_per_s": round(statistics.median(x.requests_per_s for x in results), 1),
            "p50_ms": round(statistics.median(x.p50_ms for x in results), 3),
            "p99_ms": round(statistics.median(x.p99_ms for x in results), 3),
            "ratio_vs_bare": round(statistics.median(ratios), 3) if ratios else None,
            "server_cpu_us_per_request": statistics.median(x.server_cpu_us_per_request or 0.0 for x in results),
            "server_cpu_pct": statistics.median(x.server_cpu_pct or 0.0 for x in results),
            "redis_calls_per_request": results[-1].redis_calls_per_request,
            "all_requests_per_s": [x.requests_per_s for x in results],
        }
    return summary


def table(summary: dict[str, dict[str, Any]]) -> str:
    head = f"{'scenario':<24} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'vs bare':>8} {'CPU µs/req':>11}  redis/req"
    lines = [head, "-" * len(head)]
    for name, s in summary.items():
        ratio = f"{s['ratio_vs_bare']:.2f}" if s["ratio_vs_bare"] is not None else "-"
        calls = ", ".join(f"{c} {n:.2f}" for c, n in s["redis_calls_per_request"].items() if n >= 0.01) or "-"
        lines.append(
            f"{name:<24} {s['requests_per_s']:>9,.0f} {s['p50_ms']:>8.2f} {s['p99_ms']:>8.2f} {ratio:>8} "
            f"{s['server_cpu_us_per_request']:>11.1f}  {calls}"
        )
    return "\n".join(lines)


def machine_info(redis_version: str | None, pinned: bool, args: argparse.Namespace) -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for dist in ("uvicorn", "starlette", "uvloop", "httptools", "redis", "hiredis", "itsdangerous", "orjson"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[dist] = metadata.version(dist)
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, timeout=10, check=False)
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "redis_server": redis_version,
        "wrk": (wrk.stdout or wrk.stderr).splitlines()[0] if (wrk.stdout or wrk.stderr) else "",
        "packages": versions,
        "pinning": ({"server": args.server_cpu, "wrk": args.client_cpu, "redis": args.redis_cpu} if pinned else "none"),
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
    }


# ---- profile ----------------------------------------------------------------------------------


def _pyspy_flags(args: argparse.Namespace) -> str:
    return " --native" if args.native else " --nonblocking"


def _finish(proc: subprocess.Popen[str], timeout: float) -> str:
    """Wait (bounded) for a helper process; kill it if it overstays."""
    try:
        out, _ = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return out or ""


def profile_decision(
    scenario: Scenario, service: Server, args: argparse.Namespace, new_server: Callable[[], Server]
) -> dict[str, Any]:
    """py-spy (Python names) and perf (C and kernel) on the running service during one wrk run.

    cProfile in a fresh server instead when py-spy cannot attach.
    """
    from bench import profiling  # noqa: PLC0415 - importable once `_script_setup` put the repo on sys.path

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    raw_path, txt_path, perf_path = RESULTS_DIR / "profile.raw", RESULTS_DIR / "profile.txt", RESULTS_DIR / "perf.data"
    seconds = args.profile_duration
    spy_bin = profiling.pyspy_binary() if args.profiler in ("auto", "py-spy") else None
    perf_bin = profiling.perf_binary() if args.profiler in ("auto", "py-spy") and not args.no_perf else None
    failure = "" if spy_bin is not None else "py-spy not found"
    if args.profiler == "cprofile":
        failure = "cProfile asked for (--profiler cprofile); it also counts the server's start-up"
    assert service.proc is not None
    pid, pin = service.proc.pid, pin_prefix(args.client_cpu)
    if spy_bin is not None:
        wrk = subprocess.Popen(
            wrk_command(service.base + scenario.path, scenario.headers, args, seconds + 2),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        spy = perf = None
        try:
            time.sleep(1.0)  # let the load ramp up first
            spy = profiling.record_pyspy(
                spy_bin,
                pid,
                seconds,
                raw_path,
                rate=args.profile_rate,
                native=args.native,
                nonblocking=not args.native,
                pin=pin,
            )
            if perf_bin is not None:
                perf = profiling.record_perf(perf_bin, pid, seconds, perf_path, pin=pin)
            spy_out = _finish(spy, seconds + 60)
            perf_out = _finish(perf, seconds + 60) if perf is not None else ""
            wrk_out = _finish(wrk, seconds + 60)
        finally:
            for proc in (spy, perf, wrk):
                if proc is not None and proc.poll() is None:
                    proc.kill()
                    proc.wait()
        if spy.returncode == 0 and raw_path.exists() and raw_path.stat().st_size > 0:
            text, summary = profiling.summarize_collapsed(profiling.read_collapsed(raw_path))
            under = parse_wrk(wrk_out)
            header = (
                f"py-spy record --rate {args.profile_rate}{_pyspy_flags(args)} on the service (pid {pid}) for "
                f"{seconds} s during `{scenario.name}` ({scenario.path}, {args.connections} connections); under the "
                f"profilers wrk saw {under.requests_per_s:,.0f} req/s.\nExpected samples if the server were never "
                f"idle: {seconds * args.profile_rate}. Raw stacks: {raw_path.name} (collapsed format).\n\n"
            )
            report: dict[str, Any] = {
                "tool": "py-spy",
                "file": str(txt_path),
                "under_profile_rps": under.requests_per_s,
            }
            report["py_spy"] = summary
            if perf is not None and perf.returncode == 0 and perf_bin is not None:
                perf_text, report["perf"] = profiling.summarize_perf(perf_bin, perf_path)
                text += "\n" + perf_text
            elif perf is not None:
                text += f"\nperf failed ({perf.returncode}): {perf_out.strip()[-300:]}\n"
            txt_path.write_text(header + text, encoding="utf-8")
            return report
        failure = f"py-spy failed ({spy.returncode}): {spy_out.strip()[-500:]}"
        if args.profiler == "py-spy":
            raise BenchError(failure)
    print(f"  {failure}; profiling with cProfile inside a fresh server", flush=True)
    prof_path = RESULTS_DIR / "profile.pstats"
    server = new_server().with_cprofile(prof_path)
    try:
        server.start("/healthz")
        run_wrk(server.base + scenario.path, scenario.headers, args, seconds)
    finally:
        server.stop()
    text, summary = profiling.summarize_pstats(prof_path)
    txt_path.write_text(f"{failure}\n\n{text}", encoding="utf-8")
    return {"tool": "cProfile", "file": str(txt_path), "why": failure, "cprofile": summary}


# ---- main -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of discarded warm-up per scenario (default 2)")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections (default 50)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--rounds", type=int, default=1, help="measure every scenario this many times (median)")
    parser.add_argument("--only", help="comma-separated scenario names to run (bare is always run)")
    parser.add_argument("--server-cpu", type=int, default=0, help="core for the servers (default 0)")
    parser.add_argument("--client-cpu", type=int, default=1, help="core for wrk (default 1)")
    parser.add_argument(
        "--redis-cpu", type=int, default=None, help="core for redis-server (default: wrk's core; -1: not pinned)"
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin anything to cores")
    parser.add_argument("--cluster", action="store_true", help="also run `decision (token)` on a 3-master cluster")
    parser.add_argument("--profile", action="store_true", help="then profile `decision, token` into results/")
    parser.add_argument("--profiler", choices=("auto", "py-spy", "cprofile"), default="auto")
    parser.add_argument("--profile-duration", type=int, default=10)
    parser.add_argument("--profile-rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument(
        "--native",
        action="store_true",
        help="py-spy --native: C frames too, but it pauses the server per sample, and on this VM the pauses land "
        "on syscall exits, so syscalls (getpid, write) are heavily over-counted; default: --nonblocking, Python "
        "frames only (C time is charged to the Python function that called it)",
    )
    parser.add_argument(
        "--service-factory",
        default="consent_service.web.asgi:app_from_env",
        help="uvicorn factory of the service (experiments: bench.variants:<name>)",
    )
    parser.add_argument("--no-perf", action="store_true", help="do not run `perf record` next to py-spy")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "latest.json")
    args = parser.parse_args(argv)
    if args.redis_cpu is None:
        args.redis_cpu = args.client_cpu
    return args


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM/SIGHUP raise KeyboardInterrupt, so the `finally` blocks stop every child."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench: wrk is not installed (apt install wrk)", file=sys.stderr)
        return 2
    pinned = not args.no_pin and shutil.which("taskset") is not None and len(os.sched_getaffinity(0)) >= 2
    if not pinned:
        args.server_cpu = args.client_cpu = args.redis_cpu = None
        print("bench: not pinning to cores (--no-pin, no taskset, or a single core)")
    elif args.redis_cpu is not None and args.redis_cpu < 0:
        args.redis_cpu = None
    try:
        with sigterm_as_interrupt():
            return _run(args, pinned)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted; everything started here was stopped", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace, pinned: bool) -> int:
    from consent_service.cli.redis_runner import EmbeddedRedis  # noqa: PLC0415 - see RedisCounter

    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="consent-bench-")))
        redis = EmbeddedRedis(tmp / "redis-data", persistent=True)  # the default appendfsync ("always")
        stack.callback(redis.stop)
        redis_url = redis.start()
        if args.redis_cpu is not None and redis.pid is not None:
            pin_all_threads(redis.pid, args.redis_cpu)
        counter = RedisCounter(redis_url)
        stack.callback(counter.close)
        env = {
            **os.environ,
            "REDIS_URL": redis_url,
            "CONSENT_DATA_DIR": str(tmp / "service-data"),
            "CONSENT_LOG_LEVEL": "warning",
        }

        def new_service() -> Server:
            return Server("service", ["--factory", args.service_factory], env, cpu=args.server_cpu, log_dir=tmp)

        service = new_service()
        stack.callback(service.stop)
        bare = Server("bare", ["bench.bare_app:app"], env, cpu=args.server_cpu, log_dir=tmp)
        stack.callback(bare.stop)
        service.start("/healthz")
        bare.start("/")
        servers = {"service": service, "bare": bare}

        token, gpc_token = seed_device(service), seed_device(service)
        plan = scenarios(token, gpc_token)
        counters = {"service": counter, "bare": counter}
        if args.cluster:
            plan.append(_cluster_scenario(stack, tmp, env, args, servers, counters))
        if args.only:
            wanted = {"bare", *(n.strip() for n in args.only.split(","))}
            plan = [s for s in plan if s.name in wanted]
        # The first GPC request records the sighting (one write); afterwards the scenario is read-only.
        gpc = next((s for s in plan if "GPC" in s.name), None)
        if gpc is not None:
            http_get(service.base + gpc.path, gpc.headers)

        info = machine_info(redis.version, pinned, args)
        print(
            f"bench: {info['cpu_model']} x{info['nproc']}; servers on core {args.server_cpu}, wrk on "
            f"{args.client_cpu}, redis on {args.redis_cpu}; {args.connections} connections, "
            f"{args.warmup} s warm-up + {args.duration} s per scenario, {args.rounds} round(s)",
            flush=True,
        )
        rounds: list[dict[str, WrkResult]] = []
        for number in range(1, args.rounds + 1):
            print(f"round {number}/{args.rounds}", flush=True)
            rounds.append({s.name: measure(s, servers[s.server], counters[s.server], args, quiet=False) for s in plan})

        summary = summarize(rounds)
        print()
        print(table(summary))
        report: dict[str, Any] = {
            "command": " ".join([Path(sys.executable).name, "-m", "bench.run", *sys.argv[1:]]),
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "settings": {
                "duration_s": args.duration,
                "warmup_s": args.warmup,
                "connections": args.connections,
                "wrk_threads": args.threads,
                "rounds": args.rounds,
                "uvicorn": UVICORN_FLAGS,
                "service_factory": args.service_factory,
                "redis_appendfsync": "always (service default)",
            },
            "machine": info,
            "scenarios": {s.name: {"path": s.path, "headers": list(s.headers), "note": s.note} for s in plan},
            "summary": summary,
            "rounds": [{name: asdict(r) for name, r in rnd.items()} for rnd in rounds],
        }
        if args.profile:
            target = next(s for s in scenarios(token, gpc_token) if s.name == "decision (token)")
            print(f"\nprofiling `{target.name}` for {args.profile_duration} s ...", flush=True)
            report["profile"] = profile_decision(target, service, args, new_service)
            print(f"profile: {report['profile']['file']}")
            for name, share in report["profile"].get("py_spy", {}).get("components_pct", {}).items():
                print(f"  {share:5.1f}%  {name}")
            perf_summary = report["profile"].get("perf", {})
            for name, share in perf_summary.get("by_library_pct", {}).items():
                print(f"  perf {share:5.1f}%  {name}")
            if perf_summary:
                print(f"  perf  {perf_summary['gc_pct']:5.1f}%  of it CPython's cyclic GC")
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"\nresults: {args.output}")
    return 0


def _script_setup() -> None:
    """`python bench/run.py`: use the project's venv if this interpreter lacks the dependencies."""
    sys.path.insert(0, str(REPO))  # `bench` and `consent_service` importable from the checkout
    if importlib.util.find_spec("uvicorn") is None:
        venv_python = REPO / ".venv" / "bin" / "python"
        if venv_python.exists() and Path(sys.executable).resolve() != venv_python.resolve():
            os.chdir(REPO)
            os.execv(venv_python, [str(venv_python), "-m", "bench.run", *sys.argv[1:]])


if __name__ == "__main__":
    if __package__ in (None, ""):
        _script_setup()
    raise SystemExit(main())
