"""The audit export behind admin keys: merged across buckets in time order, streamed, JSONL and CSV."""

from __future__ import annotations

import csv
import io
import json

import redis
from starlette.testclient import TestClient

from tests.conftest import CA, DE, AppFactory

DEMO_KEY = "d" * 40
ALL_KEY = "a" * 40


def admin(make_client: AppFactory) -> TestClient:
    return make_client(admin_keys=((DEMO_KEY, frozenset({"demo"})), (ALL_KEY, frozenset({"*"}))))


def test_audit_export_merges_buckets_in_time_order(make_client: AppFactory, redis_client: redis.Redis) -> None:
    client = admin(make_client)
    for i in range(30):  # 30 devices: their entries land in many buckets
        client.cookies.clear()
        client.post(
            "/v1/opt-out" if i % 2 else "/v1/consent",
            json={"site": "demo", "action": "accept_all"} if not i % 2 else {"site": "demo"},
            headers=CA if i % 3 else DE,
        )
    assert len(list(redis_client.scan_iter(match="*:audit"))) > 5
    r = client.get("/v1/admin/audit", params={"site": "demo"}, headers={"Authorization": f"Bearer {DEMO_KEY}"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    rows = [json.loads(line) for line in r.text.splitlines()]
    assert len(rows) == 30 and [r["id"] for r in rows] == sorted(
        (r["id"] for r in rows), key=lambda i: tuple(map(int, i.split("-")))
    )
    assert {r["action"] for r in rows} == {"opt_out", "accept_all"} and all(r["ref"] for r in rows)
    assert {r["region"] for r in rows} == {"US-CA", "DE"}
    first = rows[0]["id"].split("-")[0]
    window = client.get(
        "/v1/admin/audit",
        params={"site": "demo", "from": first, "to": first},
        headers={"Authorization": f"Bearer {ALL_KEY}"},
    )
    expected = [r["id"] for r in rows if r["id"].split("-")[0] == first]
    assert [json.loads(line)["id"] for line in window.text.splitlines()] == expected  # the range is exact
    later = client.get(
        "/v1/admin/audit",
        params={"site": "demo", "from": str(int(rows[-1]["id"].split("-")[0]) + 1)},
        headers={"Authorization": f"Bearer {DEMO_KEY}"},
    )
    assert later.text == ""
    as_csv = client.get(
        "/v1/admin/audit", params={"site": "demo", "format": "csv"}, headers={"Authorization": f"Bearer {DEMO_KEY}"}
    )
    table = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert len(table) == 30 and table[0]["action"] in ("opt_out", "accept_all")


def test_admin_keys_are_required_and_scoped(make_client: AppFactory) -> None:
    client = admin(make_client)
    url = "/v1/admin/audit"
    assert client.get(url, params={"site": "demo"}).status_code == 401
    assert (
        client.get(url, params={"site": "demo"}, headers={"Authorization": "Bearer " + "x" * 40}).json()["error"]
        == "unauthorized"
    )
    assert client.get(url, params={"site": "demo"}, headers={"Authorization": f"Basic {DEMO_KEY}"}).status_code == 401
    other = make_client(_TWO_SITES, admin_keys=((DEMO_KEY, frozenset({"demo"})),))
    r = other.get(url, params={"site": "shop"}, headers={"Authorization": f"Bearer {DEMO_KEY}"})
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    bad = client.get(url, params={"site": "demo", "from": "yesterday"}, headers={"Authorization": f"Bearer {DEMO_KEY}"})
    assert bad.status_code == 400
    assert (
        client.get(
            url, params={"site": "demo", "format": "xml"}, headers={"Authorization": f"Bearer {DEMO_KEY}"}
        ).status_code
        == 400
    )


_TWO_SITES = """
[[sites]]
id = "demo"
[[sites.purposes]]
id = "necessary"
kind = "necessary"
text.en.label = "Necessary"
[[sites]]
id = "shop"
[[sites.purposes]]
id = "necessary"
kind = "necessary"
text.en.label = "Necessary"
"""
