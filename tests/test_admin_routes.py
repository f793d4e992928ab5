"""Every `/v1/admin/` route checks the admin key before anything else: without a known key the
answer is 401 `unauthorized` whatever the body, query or path held, and nothing is read or written.
The routes are found from the app itself, so a new one cannot be left out."""

from __future__ import annotations

import re

import pytest
import redis
from starlette.routing import Route
from starlette.testclient import TestClient

from tests.conftest import AppFactory, snapshot

KEY = "admin-routes-test-key-" + "r" * 32
REFUSED = {
    "no key": {},
    "a wrong key": {"Authorization": "Bearer " + "w" * 54},
    "the key with another scheme": {"Authorization": f"Basic {KEY}"},
    "the key alone": {"Authorization": KEY},
}
MALFORMED = [
    b"{oops",  # the replay endpoint parsed this before checking the key: a 400, not a 401
    b"",
    b"[1, 2]",
    b'{"site": "demo", "partner": 7, "x": 1}',
    b"\xff\xfe",
]


def admin_endpoints(client: TestClient) -> list[tuple[str, str]]:
    """(method, URL) of every route under /v1/admin/, path parameters filled in."""
    found = []
    for route in client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, Route) and route.path.startswith("/v1/admin/"):
            url = re.sub(r"\{[^}]+\}", "u1", route.path)
            found += [(method, url) for method in sorted(route.methods or ()) if method != "HEAD"]
    return found


@pytest.fixture
def admin_client(make_client: AppFactory) -> TestClient:
    return make_client(admin_keys=((KEY, frozenset({"*"})),))


def test_every_admin_route_is_found(admin_client: TestClient) -> None:
    found = admin_endpoints(admin_client)
    assert ("POST", "/v1/admin/deliveries/replay") in found and ("GET", "/v1/admin/audit") in found
    assert len(found) >= 10, found  # audit, metrics, stats, accounts (4), agents, deliveries (2)


def test_every_admin_route_answers_401_before_reading_anything(
    admin_client: TestClient, redis_client: redis.Redis
) -> None:
    before = snapshot(redis_client)
    for method, url in admin_endpoints(admin_client):
        for label, auth in REFUSED.items():
            for body in MALFORMED:
                headers = {"content-type": "application/json", **auth}
                r = admin_client.request(method, url, params={"site": "demo"}, content=body, headers=headers)
                assert r.status_code == 401, (method, url, label, body, r.status_code, r.text)
                assert r.headers["content-type"] == "application/json", (method, url)
                assert r.json()["error"] == "unauthorized", (method, url, label, body)
    assert snapshot(redis_client) == before
    # The same malformed body with the key is the body's own 4xx: the key was the only refusal.
    key = {"Authorization": f"Bearer {KEY}", "content-type": "application/json"}
    r = admin_client.post("/v1/admin/deliveries/replay", content=b"{oops", headers=key)
    assert (r.status_code, r.json()["error"]) == (400, "invalid_json")
