"""Structured logs: one JSON object per line, and no personal data or secrets in any of them."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
from pathlib import Path

import httpx2 as httpx
import pytest

from consent_service.obs.logs import JsonFormatter, TextFormatter, logging_config, resolve_format
from tests.conftest import CA
from tests.serving import BOUND_S, Served

ADMIN_KEY = "adminkey-" + "7" * 40
ACCOUNT_ID = "acct-555-private-person"
CLIENT_IP = "203.0.113.77"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) LeakProbe/31.337 Chrome/156.0.0.0 Safari/537.36"
QUERY_SECRET = "q-secret-9c1f7e"


def _record(msg: str, *args: object, exc: BaseException | None = None, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("consent_service.test", logging.ERROR, __file__, 1, msg, args, None)
    if exc is not None:
        record.exc_info = (type(exc), exc, exc.__traceback__)
    record.__dict__.update(extra)
    return record


def test_json_lines_carry_safe_fields_only() -> None:
    line = JsonFormatter().format(
        _record("GET %s %d", "/v1/decision", 200, route="/v1/decision", status=200, client="203.0.113.9", token="t")
    )
    entry = json.loads(line)
    assert set(entry) == {"time", "level", "logger", "message", "route", "status"}
    assert entry["message"] == "GET /v1/decision 200" and entry["level"] == "error"
    assert entry["time"].endswith("Z") and "\n" not in line


def test_exceptions_are_logged_without_their_message() -> None:
    try:
        raise KeyError("cs_device=secret-token-value")
    except KeyError as exc:
        caught = exc
    for formatter in (JsonFormatter(), TextFormatter()):
        out = formatter.format(_record("unexpected", exc=caught))
        assert "KeyError" in out and "test_logs.py" in out
        assert "secret-token-value" not in out


def test_auto_is_json_unless_a_terminal() -> None:
    assert resolve_format("auto", io.StringIO()) == "json"
    assert resolve_format("text", io.StringIO()) == "text"

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert resolve_format("auto", Tty()) == "text"


def test_uvicorn_access_log_has_no_handler() -> None:
    config = logging_config("json", "info")
    assert config["loggers"]["uvicorn.access"]["handlers"] == []
    assert config["loggers"]["uvicorn.access"]["propagate"] is False


@pytest.fixture
def env() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CONSENT_", "PROMETHEUS_")) and k != "REDIS_URL"}
    return {**clean, "CONSENT_LOG_LEVEL": "debug", "CONSENT_ADMIN_KEYS": f"{ADMIN_KEY}:*"}


def test_a_real_server_logs_no_personal_data(tmp_path: Path, env: dict[str, str]) -> None:
    """`consent-service serve` at debug level with its access log on: requests carrying a device
    token (header and cookie), an admin key, an account id in the path, a client address in
    X-Forwarded-For (which uvicorn trusts from 127.0.0.1), a distinctive User-Agent and a query
    string leave none of them in the output."""
    served = Served(tmp_path, env, "--access-log", "--log-format", "json")
    try:
        headers = {"user-agent": USER_AGENT, "x-forwarded-for": CLIENT_IP, **CA}
        with httpx.Client(base_url=served.base, headers=headers, timeout=BOUND_S) as c:
            ask = {"site": "demo", "purpose": "advertising"}
            token = c.get("/v1/decision", params=ask, headers={"Sec-GPC": "1"}).json()["device"]
            c.cookies.set("cs_device_demo", token)
            assert c.get("/v1/decision", params=ask, headers={"X-Consent-Device": token}).status_code == 200
            admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
            link = {"site": "demo", "account_id": ACCOUNT_ID, "device": token}
            assert c.post("/v1/admin/accounts/link", json=link, headers=admin).status_code == 200
            assert c.get(f"/v1/admin/accounts/{ACCOUNT_ID}", params={"site": "demo"}, headers=admin).status_code == 200
            assert c.get(f"/v1/admin/accounts/{ACCOUNT_ID}", params={"site": "demo"}).status_code == 401
            assert c.get(f"/nowhere/{ACCOUNT_ID}", params={"t": QUERY_SECRET}).status_code == 404
            assert c.get("/healthz", params={"probe": QUERY_SECRET}).status_code == 200
            assert c.post("/v1/consent", content=b'{"site": "demo", "x": "' + QUERY_SECRET.encode()).status_code == 400
        served.proc.send_signal(signal.SIGTERM)
        assert served.proc.wait(timeout=BOUND_S) == 0
    finally:
        output = served.stop()

    for secret in (token, ADMIN_KEY, ACCOUNT_ID, CLIENT_IP, USER_AGENT, "LeakProbe", QUERY_SECRET):
        assert secret not in output, f"{secret!r} reached the log"
    entries = [json.loads(line) for line in output.splitlines() if line.strip()]  # every line is JSON
    access = [e for e in entries if e["logger"] == "consent_service.access"]
    assert {(e["method"], e["route"], e["status"]) for e in access} >= {
        ("GET", "/v1/decision", 200),
        ("POST", "/v1/admin/accounts/link", 200),
        ("GET", "/v1/admin/accounts/{account_id}", 200),
        ("GET", "/v1/admin/accounts/{account_id}", 401),
        ("GET", "<unmatched>", 404),
        ("POST", "/v1/consent", 400),
    }
    assert all(
        set(e) == {"time", "level", "logger", "message", "route", "method", "status", "duration_ms"} for e in access
    )
    assert any(e["logger"].startswith("uvicorn") for e in entries)  # uvicorn's own lines are JSON too
