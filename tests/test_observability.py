"""/metrics (Prometheus): exact counts after a known mix of requests, bounded labels, the optional
key, store errors by kind, several processes, and a graceful SIGTERM of `consent-service serve`."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from consent_service.cli.redis_runner import EmbeddedRedis
from consent_service.config.settings import Settings
from consent_service.config.sites import load_sites
from consent_service.obs.metrics import UNMATCHED, Metrics
from consent_service.store.errors import error_kind
from consent_service.store.reader import ReaderError
from consent_service.web.app import create_app
from consent_service.web.asgi import Instrumented
from tests.conftest import CA, CHROME, TEST_KEYS
from tests.serving import BOUND_S, Served

ACCOUNT_ID = "acct-4242-do-not-log"
METRICS_KEY = "m" * 40
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def make_app(standalone_redis_url: str, tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    opened: list[TestClient] = []

    def factory(redis_url: str = standalone_redis_url, **overrides: object) -> TestClient:
        settings = Settings(redis_url=redis_url, data_dir=tmp_path / "data", **overrides)  # type: ignore[arg-type]
        app = Instrumented(create_app(settings, load_sites(None), TEST_KEYS), Metrics())
        client = TestClient(app, base_url="http://consent.test", headers={"user-agent": CHROME})
        client.__enter__()
        opened.append(client)
        return client

    yield factory
    for client in opened:
        client.__exit__(None, None, None)


def scrape(client: TestClient, **headers: str) -> Samples:
    r = client.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=")
    samples: Samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def named(samples: Samples, name: str) -> dict[tuple[str, ...], float]:
    """The samples of one series name, keyed by their label values (in label-name order), non-zero."""
    return {tuple(v for _, v in labels): value for (n, labels), value in samples.items() if n == name and value}


def test_a_known_mix_of_requests_gives_exact_counts(make_app: Callable[..., TestClient]) -> None:
    client = make_app()
    ask = {"site": "demo", "purpose": "advertising"}
    assert client.get("/v1/decision", params=ask, headers=CA).json()["decisions"]["advertising"]["reason"] == "default"
    first = client.get("/v1/decision", params=ask, headers={**CA, "Sec-GPC": "1"}).json()
    assert first["decisions"]["advertising"]["reason"] == "gpc"
    token = first["device"]
    again = client.get("/v1/decision", params=ask, headers={**CA, "Sec-GPC": "1", "X-Consent-Device": token})
    assert again.json()["decisions"]["advertising"]["reason"] == "gpc"
    client.cookies.clear()
    consent = client.post("/v1/consent", json={"site": "demo", "action": "reject_all"}, headers=CA)
    assert consent.status_code == 200
    client.cookies.clear()
    assert client.get("/no/such/path").status_code == 404
    assert client.get("/v1/decision", params={"site": "demo", "purpose": "sale"}).status_code == 422
    assert client.get(f"/v1/admin/accounts/{ACCOUNT_ID}", params={"site": "demo"}).status_code == 401

    samples = scrape(client)

    assert named(samples, "consent_http_requests_total") == {
        ("GET", "/v1/decision", "200"): 3,
        ("POST", "/v1/consent", "200"): 1,
        ("GET", UNMATCHED, "404"): 1,
        ("GET", "/v1/decision", "422"): 1,
        ("GET", "/v1/admin/accounts/{account_id}", "401"): 1,
    }
    assert named(samples, "consent_http_request_duration_seconds_count") == {
        ("GET", "/v1/decision"): 4,
        ("POST", "/v1/consent"): 1,
        ("GET", UNMATCHED): 1,
        ("GET", "/v1/admin/accounts/{account_id}"): 1,
    }
    assert named(samples, "consent_decisions_total") == {
        ("advertising", "default", "demo"): 1,
        ("advertising", "gpc", "demo"): 2,
        ("necessary", "necessary", "demo"): 1,
        ("analytics", "opt_out", "demo"): 1,
        ("advertising", "opt_out", "demo"): 1,
        ("personalization", "opt_out", "demo"): 1,
    }
    # The first GPC request recorded it for a new device; the second found it on record.
    assert named(samples, "consent_gpc_signals_total") == {("true", "demo"): 1, ("false", "demo"): 1}
    assert named(samples, "consent_store_errors_total") == {}
    assert named(samples, "consent_background_errors_total") == {}
    assert ("consent_store_errors_total", (("kind", "timeout"),)) in samples  # every kind exported, at 0
    assert any(name == "process_cpu_seconds_total" for name, _ in samples)

    # Labels stay bounded: templates, never a raw path or an account id.
    templates = {r.path_format for r in client.app.app.routes} | {UNMATCHED}  # type: ignore[attr-defined]
    for (_name, labels), _ in samples.items():
        for label, value in labels:
            assert ACCOUNT_ID not in value and "no/such" not in value
            if label == "route":
                assert value in templates

    # The scrape itself is counted once it is answered.
    assert named(scrape(client), "consent_http_requests_total")[("GET", "/metrics", "200")] == 1


def test_metrics_key_when_configured(make_app: Callable[..., TestClient]) -> None:
    client = make_app(metrics_key=METRICS_KEY)
    for headers in ({}, {"Authorization": "Bearer " + "x" * 40}, {"Authorization": METRICS_KEY}):
        r = client.get("/metrics", headers=headers)
        assert r.status_code == 401 and r.json()["error"] == "unauthorized"
        assert "consent_" not in r.text
    assert (
        "consent_http_requests_total" in client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_KEY}"}).text
    )


def test_metrics_are_open_without_a_key(make_app: Callable[..., TestClient]) -> None:
    assert make_app().get("/metrics").status_code == 200


def test_apps_in_one_process_keep_their_own_counts(make_app: Callable[..., TestClient]) -> None:
    one, two = make_app(), make_app()
    one.get("/healthz")
    one.get("/healthz")
    two.get("/healthz")
    assert named(scrape(one), "consent_http_requests_total") == {("GET", "/healthz", "200"): 2}
    assert named(scrape(two), "consent_http_requests_total") == {("GET", "/healthz", "200"): 1}


def test_unknown_methods_share_one_label() -> None:
    metrics = Metrics(process_metrics=False)
    for method in ("BREW", "PROPFIND", "GET"):
        metrics.observe_request("/healthz", method, 405, 0.001)
    values = {
        s.labels["method"]: s.value
        for f in text_string_to_metric_families(metrics.exposition().decode())
        for s in f.samples
        if s.name == "consent_http_requests_total"
    }
    assert values == {"OTHER": 2, "GET": 1}


def test_work_failing_after_the_answer_is_a_background_error() -> None:
    async def boom() -> None:
        raise RuntimeError("after the answer")

    async def endpoint(request: Request) -> Response:
        return Response("ok", background=BackgroundTask(boom))

    metrics = Metrics(process_metrics=False)
    app = Instrumented(Starlette(routes=[Route("/work", endpoint)]), metrics)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/work").status_code == 200
    text = metrics.exposition().decode()
    assert 'consent_http_requests_total{method="GET",route="/work",status="200"} 1.0' in text
    assert "consent_background_errors_total 1.0" in text


# ---- store errors ------------------------------------------------------------------------------


def test_error_kinds() -> None:
    def raised_from(cause: BaseException) -> BaseException:
        try:
            try:
                raise cause
            except BaseException as inner:
                raise ReaderError(str(inner)) from inner
        except ReaderError as outer:
            return outer

    assert error_kind(TimeoutError()) == "timeout"
    assert error_kind(redis.exceptions.TimeoutError("Timeout reading from socket")) == "timeout"
    assert error_kind(raised_from(TimeoutError())) == "timeout"
    assert error_kind(ConnectionRefusedError(111, "refused")) == "connection"
    assert error_kind(redis.exceptions.ConnectionError("Error 111 connecting")) == "connection"
    assert error_kind(ReaderError("connection to Redis lost")) == "connection"
    assert error_kind(raised_from(ConnectionResetError())) == "connection"
    assert error_kind(redis.exceptions.ResponseError("NOSCRIPT")) == "other"
    assert error_kind(ReaderError("Redis error: WRONGTYPE")) == "other"


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "r", persistent=False)
    server.start()
    yield server
    if server.pid is not None:
        os.kill(server.pid, signal.SIGCONT)  # never leave a stopped process behind
    server.stop()


def test_a_stalled_and_a_missing_redis_are_counted(
    make_app: Callable[..., TestClient], own_redis: EmbeddedRedis
) -> None:
    client = make_app(own_redis.url)
    ask = {"site": "demo", "purpose": "advertising"}
    token = client.get("/v1/decision", params=ask, headers={**CA, "Sec-GPC": "1"}).json()["device"]
    assert own_redis.pid is not None
    os.kill(own_redis.pid, signal.SIGSTOP)
    try:
        r = client.get("/v1/decision", params=ask, headers={**CA, "X-Consent-Device": token})
        assert r.json()["decisions"]["advertising"]["reason"] == "store_unavailable"
    finally:
        os.kill(own_redis.pid, signal.SIGCONT)
    assert named(scrape(client), "consent_store_errors_total") == {("timeout",): 1}

    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{s.getsockname()[1]}/0"
    gone = make_app(dead)
    r = gone.get("/v1/decision", params=ask, headers={**CA, "X-Consent-Device": token})
    assert r.json()["decisions"]["advertising"]["reason"] == "store_unavailable"
    assert named(scrape(gone), "consent_store_errors_total") == {("connection",): 1}


# ---- several processes -------------------------------------------------------------------------

_WORKER = """
import sys
from consent_service.core.model import Decision
from consent_service.obs.metrics import Metrics
from consent_service.core.vocab import Reason
metrics = Metrics(multiprocess_dir=sys.argv[1])
for _ in range(int(sys.argv[2])):
    metrics.observe_request("/v1/decision", "GET", 200, 0.002)
    metrics.count_decisions("demo", {"advertising": Decision(False, Reason.GPC)})
if len(sys.argv) > 3:
    sys.stdout.write(metrics.exposition().decode())
"""


def test_multiprocess_mode_adds_up_every_worker(tmp_path: Path) -> None:
    directory = tmp_path / "prom"
    directory.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}

    def worker(*args: str) -> str:
        run = subprocess.run(
            [sys.executable, "-c", _WORKER, str(directory), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=BOUND_S,
            check=True,
        )
        return run.stdout

    worker("2")
    worker("3")
    text = worker("1", "expose")
    values = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }
    route = (("method", "GET"), ("route", "/v1/decision"), ("status", "200"))
    assert values[("consent_http_requests_total", route)] == 6
    decision = (("purpose", "advertising"), ("reason", "gpc"), ("site", "demo"))
    assert values[("consent_decisions_total", decision)] == 6


# ---- graceful shutdown of `consent-service serve` ----------------------------------------------


@pytest.fixture
def env() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CONSENT_", "PROMETHEUS_")) and k != "REDIS_URL"}
    return {**clean, "CONSENT_LOG_LEVEL": "info", "CONSENT_LOG_FORMAT": "json"}


def test_sigterm_finishes_the_request_in_flight_then_stops_redis(tmp_path: Path, env: dict[str, str]) -> None:
    served = Served(tmp_path, env)
    try:
        redis_pid = int((tmp_path / ".consent-data" / "redis" / "redis.pid").read_text())
        body = json.dumps({"site": "demo", "action": "reject_all"}).encode()
        head = (
            "POST /v1/consent HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"User-Agent: {CHROME}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", served.port), timeout=BOUND_S) as sock:
            sock.sendall(head + body[:10])  # the request is in flight: half its body sent
            time.sleep(0.2)
            served.proc.send_signal(signal.SIGTERM)
            _wait_port_closed(served.port)  # no new connections once shutting down...
            assert served.proc.poll() is None  # ...while the request in flight is waited for
            sock.sendall(body[10:])
            answer = _read_response(sock)
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        assert b'"device"' in answer
        assert served.proc.wait(timeout=BOUND_S) == 0
    finally:
        output = served.stop()
    assert _gone(redis_pid), "the embedded Redis outlived the service"
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    messages = [line["message"] for line in lines]
    assert "Shutting down" in messages and any("Finished server process" in m for m in messages)


def test_sigterm_while_idle_exits_0(tmp_path: Path, env: dict[str, str]) -> None:
    served = Served(tmp_path, env)
    try:
        redis_pid = int((tmp_path / ".consent-data" / "redis" / "redis.pid").read_text())
        served.proc.send_signal(signal.SIGTERM)
        assert served.proc.wait(timeout=BOUND_S) == 0
        _wait_port_closed(served.port)
    finally:
        served.stop()
    assert _gone(redis_pid)


def _wait_port_closed(port: int) -> None:
    deadline = time.monotonic() + BOUND_S
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                pass
        except OSError:
            return
        time.sleep(0.05)
    pytest.fail(f"port {port} still accepts connections")


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    deadline = time.monotonic() + BOUND_S
    while time.monotonic() < deadline:
        chunk = sock.recv(65536)
        if not chunk:  # the server closes the connection after the answer (it is shutting down)
            return data
        data += chunk
    return data


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie is gone too (its parent, the service, has exited; init reaps it).
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
