"""What `consent-service serve` prints at start, as a user runs it (a real process, its own Redis):
each site with its origins and the tag to paste, the demo only when it is on, the dashboard, and the
development admin key only in the development case (issue 14)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx2 as httpx

from tests.serving import BOUND_S, Served

PAGE = "http://localhost:5500"
ADMIN_KEY = "configured-admin-key-" + "4" * 32


def _start(served: list[Served], cwd: Path, env: dict[str, str], *args: str) -> Served:
    cwd.mkdir(parents=True, exist_ok=True)
    s = Served(cwd, env, *args)
    served.append(s)
    return s


def test_own_site_start_prints_its_tag_and_a_development_admin_key(
    tmp_path: Path, env: dict[str, str], served: list[Served]
) -> None:
    s = _start(served, tmp_path, env, "--site", "mysite", "--origin", PAGE, "--log-format", "text")
    base = f"http://localhost:{s.port}"
    with httpx.Client(base_url=s.base, timeout=BOUND_S) as c:
        assert c.get("/demo").status_code == 404  # the demo is off with an own site
        assert c.get("/v1/sites/demo/experience").json()["error"] == "unknown_site"
        exp = c.get("/v1/sites/mysite/experience", headers={"Origin": PAGE})
        assert exp.status_code == 200 and exp.headers["access-control-allow-origin"] == PAGE
        key_file = tmp_path / ".consent-data" / "admin-key"
        key = key_file.read_text().strip()
        auth = {"Authorization": f"Bearer {key}"}
        assert c.get("/v1/admin/stats", params={"site": "mysite"}, headers=auth).status_code == 200
        assert c.get("/v1/admin/stats", params={"site": "mysite"}).status_code == 401
    out = s.stop()
    assert key_file.stat().st_mode & 0o777 == 0o600 and len(key) >= 32
    assert re.search(rf"Site mysite: +origins {re.escape(PAGE)} ", out)
    assert f'<script src="{base}/v1/banner.js" data-site="mysite"></script>' in out
    assert "/demo" not in out and "Demo page:        off with your own sites" in out
    assert f"Dashboard:        {base}/admin/login" in out
    assert f"admin key:      {key}   (for development; kept in {key_file}" in out
    assert out.count(key) == 1  # printed once, in the start-up lines only

    again = _start(served, tmp_path, env, "--site", "mysite", "--origin", PAGE, "--log-format", "text")
    assert key_file.read_text().strip() == key  # kept: the same key on a later start
    assert f"admin key:      {key}" in again.stop()


def test_json_output_never_carries_the_key_and_the_demo_is_announced_only_when_served(
    tmp_path: Path, env: dict[str, str], served: list[Served]
) -> None:
    s = _start(served, tmp_path, env, "--site", "mysite", "--origin", PAGE, "--demo", "--log-format", "json")
    base = f"http://localhost:{s.port}"
    with httpx.Client(base_url=s.base, timeout=BOUND_S) as c:
        assert c.get("/demo").status_code == 200  # --demo adds the demo beside the own site
        assert c.get("/v1/sites/mysite/experience").status_code == 200
    out = s.stop()
    key = (tmp_path / ".consent-data" / "admin-key").read_text().strip()
    assert key not in out
    messages = [json.loads(line)["message"] for line in out.splitlines() if line.startswith("{")]
    assert f"Demo page: {base}/demo (try {base}/demo?region=DE)" in messages
    assert any(m.startswith("Site demo: origins http://127.0.0.1:8000") for m in messages)
    assert any(m.startswith(f"Site mysite: origins {PAGE}") for m in messages)
    assert f"admin key: for development, in {tmp_path / '.consent-data' / 'admin-key'}" in messages


def test_no_configuration_serves_the_demo_as_before(tmp_path: Path, env: dict[str, str], served: list[Served]) -> None:
    s = _start(served, tmp_path, env, "--log-format", "text")
    base = f"http://localhost:{s.port}"
    assert httpx.get(f"{s.base}/demo", timeout=BOUND_S).status_code == 200
    out = s.stop()
    assert f"Demo page:        {base}/demo" in out
    assert f'<script src="{base}/v1/banner.js" data-site="demo"></script>' in out
    assert "Sites from:       <bundled demo_site.toml>" in out


def test_no_generated_admin_key_with_a_configured_key_or_redis(
    tmp_path: Path, env: dict[str, str], served: list[Served], standalone_redis_url: str
) -> None:
    configured = _start(served, tmp_path / "a", {**env, "CONSENT_ADMIN_KEYS": f"{ADMIN_KEY}:*"}, "--log-format", "text")
    assert "admin key:      one of CONSENT_ADMIN_KEYS" in configured.stop()
    assert not (tmp_path / "a" / ".consent-data" / "admin-key").exists()

    remote = _start(served, tmp_path / "b", {**env, "REDIS_URL": standalone_redis_url}, "--log-format", "text")
    out = remote.stop()
    assert "admin key:      none configured: set CONSENT_ADMIN_KEYS" in out
    assert not (tmp_path / "b" / ".consent-data" / "admin-key").exists()
