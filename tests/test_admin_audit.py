"""The audit export behind admin keys: merged across buckets in time order, streamed, JSONL and CSV."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator

import pytest
import redis
from starlette.testclient import TestClient

from consent_service.rights.audit_export import audit_csv, audit_jsonl, primed
from consent_service.store import StoreUnavailable, trail
from tests.conftest import CA, DE, TWO_SITES, AppFactory

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


# Values a client can put in policy_version (printable text) that spreadsheets would run as formulas.
HOSTILE_VERSIONS = ["＝1+1", "  =1+1", "－1+1", "＠SUM(A1)", "+1", "@x", "-", "=1+1", "＋cmd|' /C calc'!A0"]


def test_formula_like_cells_are_neutralised_in_the_audit_csv(make_client: AppFactory) -> None:
    client = admin(make_client)
    for version in HOSTILE_VERSIONS:
        client.cookies.clear()
        r = client.post("/v1/consent", json={"site": "demo", "action": "accept_all", "policy_version": version})
        assert r.status_code == 200, (version, r.text)
    for version in ("\u3000=1", "\t=1", "\u00a0=1", "\r=1"):  # not printable: refused, never stored
        r = client.post("/v1/consent", json={"site": "demo", "action": "accept_all", "policy_version": version})
        assert (r.status_code, r.json()["error"]) == (400, "invalid_body"), repr(version)
    auth = {"Authorization": f"Bearer {DEMO_KEY}"}
    as_csv = client.get("/v1/admin/audit", params={"site": "demo", "format": "csv"}, headers=auth).text
    rows = list(csv.DictReader(io.StringIO(as_csv)))
    assert sorted(row["policy_version"] for row in rows) == sorted("'" + v for v in HOSTILE_VERSIONS)
    for row in rows:  # every other cell of ours is plain: times, ids, references, choices
        assert all(not value.startswith("'") for name, value in row.items() if name != "policy_version"), row
    as_jsonl = client.get("/v1/admin/audit", params={"site": "demo"}, headers=auth).text  # JSON: data, not cells
    assert sorted(json.loads(line)["policy_version"] for line in as_jsonl.splitlines()) == sorted(HOSTILE_VERSIONS)


def test_admin_keys_are_required_and_scoped(make_client: AppFactory) -> None:
    client = admin(make_client)
    url = "/v1/admin/audit"
    assert client.get(url, params={"site": "demo"}).status_code == 401
    assert (
        client.get(url, params={"site": "demo"}, headers={"Authorization": "Bearer " + "x" * 40}).json()["error"]
        == "unauthorized"
    )
    assert client.get(url, params={"site": "demo"}, headers={"Authorization": f"Basic {DEMO_KEY}"}).status_code == 401
    other = make_client(TWO_SITES, admin_keys=((DEMO_KEY, frozenset({"demo"})),))
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


def test_the_merge_pages_through_busy_buckets(
    make_client: AppFactory, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trail, "FIRST_PAGE", 1)
    monkeypatch.setattr(trail, "AUDIT_PAGE", 3)
    client = admin(make_client)
    for _ in range(3):  # three devices, each with many entries in its own bucket
        client.cookies.clear()
        for i in range(7):
            client.post("/v1/consent", json={"site": "demo", "action": "custom", "choices": {"analytics": i % 2 == 0}})
    r = client.get("/v1/admin/audit", params={"site": "demo"}, headers={"Authorization": f"Bearer {DEMO_KEY}"})
    ids = [json.loads(line)["id"] for line in r.text.splitlines()]
    assert len(ids) == 21 and ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-"))))
    assert len(set(ids)) == 21


def test_dates_before_1970_are_answered_not_crashed(make_client: AppFactory) -> None:
    client = admin(make_client)
    client.post("/v1/opt-out", json={"site": "demo"})
    auth = {"Authorization": f"Bearer {DEMO_KEY}"}
    r = client.get("/v1/admin/audit", params={"site": "demo", "from": "1969-12-31"}, headers=auth)
    assert r.status_code == 200 and len(r.text.splitlines()) == 1
    r = client.get("/v1/admin/audit", params={"site": "demo", "to": "1969-12-31"}, headers=auth)
    assert r.status_code == 200 and r.text == ""


def test_an_export_that_fails_half_way_says_so() -> None:
    async def rows() -> AsyncIterator[dict[str, str]]:
        yield {"id": "1-0", "time": "t", "action": "opt_out"}
        raise StoreUnavailable("gone")

    async def collect(fmt: str) -> bytes:
        primed_rows = await primed(rows())
        body = audit_csv(primed_rows) if fmt == "csv" else audit_jsonl(primed_rows)
        return b"".join([chunk async for chunk in body])

    jsonl = asyncio.run(collect("jsonl")).decode().splitlines()
    assert len(jsonl) == 2 and json.loads(jsonl[-1]) == {"error": "store_unavailable", "truncated": "true"}
    assert asyncio.run(collect("csv")).decode().splitlines()[-1].startswith("# truncated")

    async def failing() -> AsyncIterator[dict[str, str]]:
        raise StoreUnavailable("down")
        yield {}  # pragma: no cover (makes this an async generator)

    with pytest.raises(StoreUnavailable):  # before the answer starts: the route answers 503
        asyncio.run(primed(failing()))  # type: ignore[arg-type]
