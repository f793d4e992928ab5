"""The ways in a newcomer tries first (issue 14): `/admin` leads to the dashboard's login, and the
service has a favicon instead of a 404 in every page's console."""

from __future__ import annotations

import runpy
import struct
from pathlib import Path

import pytest
from starlette.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("path", ["/admin", "/admin/"])
def test_admin_leads_to_the_login(client: TestClient, path: str) -> None:
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin/login"
    login = client.get(path)  # followed
    assert login.status_code == 200 and login.url.path == "/admin/login" and "<form" in login.text


def test_favicon_is_a_small_cached_icon(client: TestClient) -> None:
    r = client.get("/favicon.ico", headers={"Accept-Encoding": "identity"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/vnd.microsoft.icon"
    assert r.headers["cache-control"] == "public, max-age=604800" and r.headers["etag"]
    assert r.headers["x-content-type-options"] == "nosniff"
    icon = r.content
    assert icon == (ROOT / "consent_service" / "static" / "favicon.ico").read_bytes() and len(icon) < 2048
    reserved, kind, count = struct.unpack("<HHH", icon[:6])
    assert (reserved, kind, count) == (0, 1, 2)  # an icon file with two images
    sizes = [icon[6 + 16 * i] for i in range(count)]
    assert sizes == [16, 32]
    assert client.get("/favicon.ico", headers={"If-None-Match": r.headers["etag"]}).status_code == 304


def test_favicon_is_drawn_by_the_committed_tool() -> None:
    tool = runpy.run_path(str(ROOT / "tools" / "favicon.py"))
    assert tool["ico"]() == (ROOT / "consent_service" / "static" / "favicon.ico").read_bytes()
