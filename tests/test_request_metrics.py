"""§7102 request metrics from the audit trail: a known mix of requests through every channel,
then the counts, the denials and the median days to answer."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pytest
import redis

from consent_service.rights.request_metrics import median
from tests.conftest import CA, DE, AppFactory
from tests.test_accounts import AUTH, admin_client, device

URL = "/v1/admin/request-metrics"


def test_median_of_a_histogram() -> None:
    assert median(Counter()) is None
    assert median(Counter({0: 1})) == 0
    assert median(Counter({0: 2, 3: 1})) == 0
    assert median(Counter({0: 1, 4: 1})) == 2
    assert median(Counter({1: 3, 10: 3})) == 5.5
    assert median(Counter({2: 1, 5: 1, 9: 1})) == 5


def test_metrics_count_every_channel(make_client: AppFactory, redis_client: redis.Redis) -> None:
    client = admin_client(make_client)
    year = dt.datetime.now(dt.UTC).year
    # GPC: two browsers, first seen (a repeated signal is not a new request).
    for _ in range(2):
        client.cookies.clear()
        client.get("/v1/decision", params={"site": "demo", "purpose": "advertising"}, headers={**CA, "Sec-GPC": "1"})
        client.get("/v1/decision", params={"site": "demo", "purpose": "advertising"}, headers={**CA, "Sec-GPC": "1"})
    # Banner or link: a one-click opt-out, a reject-all in California; a reject-all in Germany is no
    # opt-out request (opt-in law: declining is the absence of consent).
    client.cookies.clear()
    client.post("/v1/opt-out", json={"site": "demo", "source": "banner"}, headers=CA)
    client.cookies.clear()
    client.post("/v1/consent", json={"site": "demo", "action": "reject_all", "source": "banner"}, headers=CA)
    client.cookies.clear()
    client.post("/v1/consent", json={"site": "demo", "action": "reject_all", "source": "banner"}, headers=DE)
    # The page without JavaScript.
    client.cookies.clear()
    page = client.get("/privacy/demo/opt-out", headers=CA)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    client.post("/privacy/demo/opt-out", data={"csrf": csrf.group(1), "lang": "en"}, headers=CA)
    # Agents: an opt-out received 4 days ago, one received 2 days ago, and a refused deletion.
    now = dt.datetime.now(dt.UTC)
    for days in (4, 2):
        received = (now - dt.timedelta(days=days)).isoformat()
        body = {"site": "demo", "type": "opt_out", "account_id": f"a{days}", "agent": "A", "reference": "r"}
        assert (
            client.post("/v1/admin/agent-requests", json={**body, "received": received}, headers=AUTH).status_code
            == 200
        )
    refused = {"site": "demo", "type": "delete", "device": "forged", "agent": "A", "reference": "r"}
    assert client.post("/v1/admin/agent-requests", json=refused, headers=AUTH).status_code == 404
    # The person's own access and deletion.
    token = device(client)
    client.get("/v1/me", params={"site": "demo"}, headers={"X-Consent-Device": token})
    client.get("/v1/me", params={"site": "demo"}, headers={"X-Consent-Device": token})
    client.delete("/v1/me", params={"site": "demo"}, headers={"X-Consent-Device": token})

    r = client.get(URL, params={"site": "demo", "year": str(year)}, headers=AUTH)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    got = r.json()["requests"]
    opt_out = got["opt_out"]
    assert (opt_out["received"], opt_out["complied"], opt_out["denied"]) == (7, 7, 0)
    assert {name: c["received"] for name, c in opt_out["channels"].items()} == {
        "gpc": 2,
        "banner_or_link": 2,
        "no_js_page": 1,
        "agent": 2,
    }
    assert opt_out["channels"]["agent"]["median_days"] == 3  # (2 + 4) / 2
    assert opt_out["channels"]["gpc"]["median_days"] == 0 and opt_out["median_days"] == 0
    assert got["access"] == {
        "received": 2,
        "complied": 2,
        "denied": 0,
        "median_days": 0,
        "channels": {
            "self": {"received": 2, "complied": 2, "denied": 0, "median_days": 0},
            "agent": {"received": 0, "complied": 0, "denied": 0, "median_days": None},
        },
    }
    delete = got["delete"]
    assert (delete["received"], delete["complied"], delete["denied"]) == (2, 1, 1)
    assert delete["channels"]["agent"] == {"received": 1, "complied": 0, "denied": 1, "median_days": 0}
    # Another year holds nothing.
    empty = client.get(URL, params={"site": "demo", "year": str(year - 1)}, headers=AUTH).json()["requests"]
    assert all(v["received"] == 0 and v["median_days"] is None for v in empty.values())


@pytest.mark.parametrize("year", ["1999", "20x6", "99999", "-1"])
def test_metrics_reject_bad_years(make_client: AppFactory, year: str) -> None:
    client = admin_client(make_client)
    r = client.get(URL, params={"site": "demo", "year": year}, headers=AUTH)
    assert r.status_code == 400 and r.json()["error"] == "invalid_body"


def test_metrics_need_a_key_for_the_site(make_client: AppFactory) -> None:
    client = admin_client(make_client)
    assert client.get(URL, params={"site": "demo"}).status_code == 401
    assert client.get(URL, params={"site": "nope"}, headers=AUTH).status_code == 404
