"""Limits at the protocol level (consent_service/web/protocol.py), seen from a raw socket against a real
`consent-service serve` on 127.0.0.1: a bounded request head (431 `headers_too_large`), a total
deadline on reading the head and the body, and a dropped connection that is neither a 500 nor an
error in the log.

The read timeout is short here (1 s; 2 s for the healthy connections); every wait is bounded by
that timeout plus a generous slack, never a claim about speed."""

from __future__ import annotations

import http.client
import os
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import orjson
import pytest

from tests.serving import Served

TIMEOUT_S = 1.0  # CONSENT_READ_TIMEOUT_S for these tests
SLACK_S = 10.0  # a busy machine: the server's close may come this long after its deadline
CAP = 32 * 1024  # the default CONSENT_MAX_HEADER_BYTES
CONSENT_BODY = b'{"site": "demo", "action": "reject_all"}'
Start = Callable[..., Served]


@pytest.fixture
def start(tmp_path: Path, standalone_redis_url: str) -> Iterator[Start]:
    """Start `consent-service serve` (one worker, JSON logs at info) on a free port of 127.0.0.1,
    with the test's settings; every server is stopped at the end."""
    started: list[Served] = []
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CONSENT_") and k != "REDIS_URL"}

    def run(*args: str, **settings: str) -> Served:
        env = {
            **clean,
            "REDIS_URL": standalone_redis_url,
            "CONSENT_LOG_LEVEL": "info",
            "CONSENT_LOG_FORMAT": "json",
            "CONSENT_READ_TIMEOUT_S": str(TIMEOUT_S),
            "PYTHONWARNINGS": "always::ResourceWarning",  # an unclosed transport or socket would show
            **settings,
        }
        server = Served(tmp_path, env, *args)
        started.append(server)
        return server

    yield run
    for server in started:
        server.stop()


def _connect(server: Served) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT_S + SLACK_S)


def _head(method: str, path: str, server: Served, *headers: tuple[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}", *(f"{n}: {v}" for n, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _answer(sock: socket.socket) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One HTTP answer read from the socket (status, headers, body by its Content-Length).

    Read unbuffered, so never past this answer: answers to pipelined requests may arrive together
    (on a busy machine they do), and a buffered reader per answer would swallow the next one. The
    reader is closed whatever happens, or the socket's descriptor would outlive the test."""
    raw = sock.makefile("rb", buffering=0)
    try:
        line = raw.readline(65537)
        if not line:
            raise http.client.RemoteDisconnected("the server closed the connection without an answer")
        status = int(line.split(b" ", 2)[1])
        headers = http.client.parse_headers(raw)
        length = int(headers.get("content-length", "0"))
        body = b""
        while len(body) < length:
            chunk = raw.read(length - len(body))
            if not chunk:
                raise http.client.IncompleteRead(body, length - len(body))
            body += chunk
        return status, headers, body
    finally:
        raw.close()


def _closed_by_server(sock: socket.socket, bound_s: float) -> bool:
    """Whether the server closes the connection within `bound_s` (anything it sends is read and dropped)."""
    deadline = time.monotonic() + bound_s
    while (remaining := deadline - time.monotonic()) > 0:
        sock.settimeout(remaining)
        try:
            if not sock.recv(65536):
                return True
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True
    return False


def _counted(server: Served) -> dict[tuple[str, str, str], float]:
    """`consent_http_requests_total` by (route, method, status), scraped from /metrics."""
    text = httpx.get(f"{server.base}/metrics", timeout=SLACK_S).text
    counts: dict[tuple[str, str, str], float] = {}
    for line in text.splitlines():
        if line.startswith("consent_http_requests_total{"):
            labels, _, value = line.removeprefix("consent_http_requests_total{").partition("} ")
            pairs = dict(part.split("=", 1) for part in labels.split(","))
            key = (pairs["route"].strip('"'), pairs["method"].strip('"'), pairs["status"].strip('"'))
            counts[key] = float(value)
    return counts


def _wait_counted(server: Served, key: tuple[str, str, str]) -> dict[tuple[str, str, str], float]:
    """The counts once `key` is among them (the app finishes a dropped request just after the close)."""
    deadline = time.monotonic() + SLACK_S
    while key not in (counts := _counted(server)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return counts


def _log_lines(output: str) -> list[dict[str, Any]]:
    """The server's JSON log lines (the start-up announcement is JSON lines too)."""
    lines = []
    for line in output.splitlines():
        try:
            lines.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            lines.append({"level": "?", "message": line})  # a traceback or a warning printed raw
    return lines


def _assert_quiet(output: str) -> None:
    """No error (or worse) in the server's log, no traceback, no warning printed by Python."""
    for entry in _log_lines(output):
        assert entry.get("level") in ("info", "warning", "debug"), entry
    assert "Traceback" not in output and "ResourceWarning" not in output and "ClientDisconnect" not in output


def _sized(server: Served, total: int) -> bytes:
    """A GET /healthz whose head counts exactly `total` bytes: its URL, and each header line's name and
    value with the 4 bytes of `: ` and its line end."""
    host = f"127.0.0.1:{server.port}"
    fixed = len("/healthz") + len("host") + len(host) + 4 + len("cookie") + 4
    cookie = "c=" + "x" * (total - fixed - 2)
    return _head("GET", "/healthz", server, ("Cookie", cookie))


# ---- the request head: bounded, 431 over the cap ------------------------------------------------


def test_head_over_the_cap_gets_431_json_and_a_close_and_one_at_the_cap_is_answered(start: Start) -> None:
    server = start()
    with _connect(server) as sock:
        sock.sendall(_sized(server, CAP))
        status, _, body = _answer(sock)
        assert status == 200 and orjson.loads(body) == {"status": "ok"}  # exactly the cap: allowed
    with _connect(server) as sock:
        sock.sendall(_sized(server, CAP + 1))
        status, headers, body = _answer(sock)
        assert status == 431
        assert orjson.loads(body)["error"] == "headers_too_large" and orjson.loads(body)["detail"]
        assert headers["content-type"] == "application/json"
        assert headers["cache-control"] == "no-store" and headers["x-content-type-options"] == "nosniff"
        assert headers["connection"] == "close"
        assert _closed_by_server(sock, SLACK_S)
    _assert_quiet(server.stop())


def test_an_8_mb_header_gets_431_and_the_server_answers_the_next_connection(start: Start) -> None:
    """A header that would take megabytes of buffering (and seconds of parsing) is refused after a
    bounded amount; the client still reads the 431 (the server drains before it closes)."""
    server = start()
    with _connect(server) as sock:
        sock.sendall(_head("GET", "/healthz", server)[:-2])  # the head, open for one more header
        failed: list[BaseException] = []

        def send_big() -> None:
            try:
                sock.sendall(b"Cookie: c=" + b"x" * (8 * 1024 * 1024) + b"\r\n\r\n")
            except OSError as exc:  # the server may close before all of it went out: that is the point
                failed.append(exc)

        sender = threading.Thread(target=send_big)
        sender.start()
        try:
            status, headers, body = _answer(sock)
        finally:
            sender.join(SLACK_S * 3)
        assert status == 431 and orjson.loads(body)["error"] == "headers_too_large"
        assert headers["connection"] == "close"
    answer = httpx.get(f"{server.base}/healthz", timeout=SLACK_S)
    assert answer.status_code == 200
    _assert_quiet(server.stop())


def test_a_flood_of_small_headers_is_over_the_cap_and_pipelined_answers_keep_their_order(start: Start) -> None:
    """Each header line counts with its `: ` and line end, so 10,000 one-letter headers are over 32 KiB.
    A head over the cap behind a pipelined request is refused after that request's answer."""
    server = start()
    with _connect(server) as sock:
        sock.sendall(_head("GET", "/healthz", server, *[("a", "b")] * 10_000))
        status, _, body = _answer(sock)
        assert status == 431 and orjson.loads(body)["error"] == "headers_too_large"
    with _connect(server) as sock:
        sock.sendall(_head("GET", "/healthz", server) + _sized(server, CAP + 1))
        time.sleep(0.5)  # both answers are usually in by now: they must still be read one by one
        assert _answer(sock)[0] == 200
        status, _, body = _answer(sock)
        assert status == 431 and orjson.loads(body)["error"] == "headers_too_large"
        assert _closed_by_server(sock, SLACK_S)
    _assert_quiet(server.stop())


def test_the_limits_are_configured_and_reach_every_worker(start: Start) -> None:
    """With `--workers 2` uvicorn runs the protocol in processes of its own: they get the configured
    cap and timeout too (several connections, so that both workers are likely to take some)."""
    server = start("--workers", "2", CONSENT_MAX_HEADER_BYTES="8192", CONSENT_READ_TIMEOUT_S="1")
    for _ in range(4):
        with _connect(server) as sock:
            sock.sendall(_sized(server, 8193))
            status, _, body = _answer(sock)
            assert status == 431 and orjson.loads(body)["error"] == "headers_too_large"
        with _connect(server) as sock:
            sock.sendall(_sized(server, 8192))
            assert _answer(sock)[0] == 200
        with _connect(server) as sock:
            assert _closed_by_server(sock, TIMEOUT_S + SLACK_S)


# ---- slow clients: total deadlines on the head and on the body ---------------------------------


def test_a_header_trickle_is_cut_off(start: Start) -> None:
    """One header line every 0.3 s: each gap is well under the 1 s timeout, so only a deadline on
    the whole head (not an idle timer) ends it."""
    server = start()
    with _connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        deadline = time.monotonic() + TIMEOUT_S + SLACK_S
        closed = False
        while not closed and time.monotonic() < deadline:
            try:
                sock.sendall(b"X-Trickle: 1\r\n")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if select.select([sock], [], [], 0.3)[0]:
                try:
                    closed = sock.recv(65536) == b""
                except ConnectionResetError:
                    closed = True
        assert closed
    _assert_quiet(server.stop())


def test_a_connection_that_sends_nothing_is_closed(start: Start) -> None:
    server = start()
    with _connect(server) as sock:
        assert _closed_by_server(sock, TIMEOUT_S + SLACK_S)


def test_a_stalled_body_is_cut_off_counted_499_and_not_logged_as_an_error(start: Start) -> None:
    server = start()
    with _connect(server) as sock:
        head = _head("POST", "/v1/consent", server, ("Content-Type", "application/json"), ("Content-Length", "100"))
        sock.sendall(head + b'{"site": "')  # 10 of 100 bytes, then nothing
        assert _closed_by_server(sock, TIMEOUT_S + SLACK_S)
    counts = _wait_counted(server, ("/v1/consent", "POST", "499"))
    assert counts.get(("/v1/consent", "POST", "499")) == 1
    assert not [key for key in counts if key[2] == "500"]
    _assert_quiet(server.stop())


def test_a_client_that_drops_its_body_is_no_500_and_no_error(start: Start) -> None:
    server = start()
    with _connect(server) as sock:
        head = _head("POST", "/v1/consent", server, ("Content-Type", "application/json"), ("Content-Length", "100"))
        sock.sendall(head + b'{"site": "')
    counts = _wait_counted(server, ("/v1/consent", "POST", "499"))
    assert counts.get(("/v1/consent", "POST", "499")) == 1
    assert not [key for key in counts if key[2] == "500"]
    _assert_quiet(server.stop())


def test_the_no_js_form_counts_a_dropped_body_like_the_api(start: Start) -> None:
    server = start()
    with _connect(server) as sock:
        form = ("Content-Type", "application/x-www-form-urlencoded")
        sock.sendall(_head("POST", "/privacy/demo/opt-out", server, form, ("Content-Length", "100")) + b"csrf=")
    counts = _wait_counted(server, ("/privacy/{site}/opt-out", "POST", "499"))
    assert counts.get(("/privacy/{site}/opt-out", "POST", "499")) == 1
    assert not [key for key in counts if key[2] == "500"]
    _assert_quiet(server.stop())


# ---- healthy connections are not cut ------------------------------------------------------------


def test_a_keep_alive_connection_outlives_the_deadline_request_by_request(start: Start) -> None:
    """The deadlines run per request: a connection that lives past the read timeout, idle between
    its requests (under uvicorn's 5 s keep-alive), is answered every time."""
    server = start(CONSENT_READ_TIMEOUT_S="2")
    with _connect(server) as sock:
        for _ in range(3):
            sock.sendall(_head("GET", "/healthz", server))
            status, headers, _ = _answer(sock)
            assert status == 200 and headers.get("connection") != "close"
            time.sleep(1.2)  # three requests: the connection lives over 2.4 s, past the 2 s timeout


def test_a_body_in_two_parts_within_the_deadline_is_answered(start: Start) -> None:
    server = start(CONSENT_READ_TIMEOUT_S="10")  # the pause is far inside it, however busy the machine
    with _connect(server) as sock:
        head = _head(
            "POST",
            "/v1/consent",
            server,
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(CONSENT_BODY))),
            ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"),
        )
        sock.sendall(head + CONSENT_BODY[:10])
        time.sleep(0.3)
        sock.sendall(CONSENT_BODY[10:])
        status, _, body = _answer(sock)
        assert status == 200 and orjson.loads(body)["device"]
