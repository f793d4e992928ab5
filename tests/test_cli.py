"""`consent-service serve` as a user runs it: a real uvicorn, a Redis it starts itself, restarts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx2 as httpx

from tests.conftest import CA, CHROME
from tests.serving import BOUND_S, Served


def test_serve_starts_redis_keeps_choices_across_restarts(
    tmp_path: Path, env: dict[str, str], served: list[Served]
) -> None:
    first = Served(tmp_path, env)
    served.append(first)
    with httpx.Client(base_url=first.base, headers={"user-agent": CHROME, **CA}) as c:
        r = c.post("/v1/consent", json={"site": "demo", "action": "custom", "choices": {"analytics": False}})
        assert r.status_code == 200
        token = r.json()["device"]
        gpc = c.get("/v1/decision", params={"site": "demo", "purpose": "advertising"}, headers={"Sec-GPC": "1"})
        assert gpc.json()["decisions"]["advertising"]["reason"] == "gpc"
        gpc_token = gpc.json()["device"]
    out = first.stop()
    assert "Redis:" in out and "started here" in out and str(tmp_path / ".consent-data") in out
    keys_file = tmp_path / ".consent-data" / "secret-keys.json"
    assert keys_file.stat().st_mode & 0o777 == 0o600
    secret = keys_file.read_text()
    assert not any(part in out for part in secret.split('"') if len(part) > 20)  # keys never printed
    assert not _redis_alive(tmp_path)  # Redis stopped with the service

    second = Served(tmp_path, env)
    served.append(second)
    with httpx.Client(base_url=second.base, headers={"user-agent": CHROME, **CA}) as c:
        params = {"site": "demo", "purpose": ["analytics", "advertising"]}
        again = c.get("/v1/decision", params=params, headers={"X-Consent-Device": token}).json()
        assert again["decisions"]["analytics"] == {"allowed": False, "reason": "opt_out"}
        later = c.get("/v1/decision", params=params, headers={"X-Consent-Device": gpc_token}).json()
        assert later["decisions"]["advertising"] == {"allowed": False, "reason": "gpc"} and later["usp"] == "1YYN"


def test_invalid_config_stops_the_start_naming_file_and_field(tmp_path: Path, env: dict[str, str]) -> None:
    bad = tmp_path / "site.toml"
    bad.write_text('[[sites]]\nid = "shop"\n[[sites.purposes]]\nid = "ads"\nkind = "adverts"\ntext.en.label = "Ads"\n')
    result = subprocess.run(
        [sys.executable, "-m", "consent_service.cli.main", "serve", "--config", str(bad)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=BOUND_S,
        check=False,
    )
    assert result.returncode == 2
    assert str(bad) in result.stderr and "sites[0].purposes[0].kind" in result.stderr and "'adverts'" in result.stderr
    assert not (tmp_path / ".consent-data").exists()  # nothing started


def test_redis_url_given_starts_no_redis(
    tmp_path: Path, env: dict[str, str], served: list[Served], redis_url: str
) -> None:
    s = Served(tmp_path, {**env, "REDIS_URL": redis_url})
    served.append(s)
    assert httpx.get(f"{s.base}/readyz").json()["status"] == "ready"
    assert "REDIS_URL (not started here)" in s.stop()
    assert not (tmp_path / ".consent-data" / "redis").exists()


def test_check_config(tmp_path: Path, env: dict[str, str]) -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "consent_service.cli", "check-config"],  # the package runs as the script
        env=env,
        capture_output=True,
        text=True,
        timeout=BOUND_S,
        check=False,
    )
    assert ok.returncode == 0 and "demo" in ok.stdout


def _redis_alive(data: Path) -> bool:
    pidfile = data / ".consent-data" / "redis" / "redis.pid"
    if not pidfile.exists():
        return False
    try:
        os.kill(int(pidfile.read_text().strip()), 0)
    except (ProcessLookupError, ValueError):
        return False
    return True
