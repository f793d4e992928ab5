"""Consent statistics (issue 6) against real Redis, standalone and cluster: a known mix of visits,
choices, opt-outs and GPC signals through the API, from several device types, regions and a bot;
then every number of the JSON report, the CSV, the keys' spread over shards and masters, and that
the decision path sends no command for them."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis
from starlette.testclient import TestClient

from consent_service import observability, stats
from consent_service.identity import new_device_id
from consent_service.model import DAY_MS
from consent_service.service import Visitor
from consent_service.sites import load_sites
from consent_service.stats import StatsCounter, browser_of, ua_labels
from consent_service.store import Lifetimes, StatsStore, Store
from consent_service.store.stats import STATS_SHARDS, DayCounts, day_number, is_stats_key
from consent_service.vocab import DeviceClass, Regime
from tests.cluster import LocalCluster
from tests.conftest import CA, CHROME, DE, GOOGLEBOT, AppFactory
from tests.test_openapi import conforms

KEY = "s" * 8 + "t" * 32
AUTH = {"Authorization": f"Bearer {KEY}"}
FR = {"CloudFront-Viewer-Country": "FR"}
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Mobile/15E148 Safari/604.1"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 "
    "Mobile/15E148 Safari/604.1"
)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
PURPOSES = ("necessary", "analytics", "advertising", "personalization")
AGENT = {"agent": "Permission Slip", "reference": "PS-1"}


def stats_client(make_client: AppFactory) -> TestClient:
    client = make_client(admin_keys=((KEY, frozenset({"demo"})),), rate_limit_device=None, rate_limit_client=None)
    quiet(client)
    return client


def counter(client: TestClient) -> StatsCounter:
    found = client.app.state.consent.stats  # type: ignore[attr-defined]
    assert isinstance(found, StatsCounter)
    return found


def quiet(client: TestClient) -> None:
    """No periodic flush during the test (the loop's next wait is an hour): flushes happen when the
    test asks, so command counts and "before" states are exact."""
    counter(client).interval_s = 3600
    client.portal.call(counter(client).wake)  # type: ignore[union-attr]


def flush(client: TestClient) -> None:
    assert client.portal.call(counter(client).flush) is True  # type: ignore[union-attr]


def call(client: TestClient, method: str, url: str, ua: str, region: dict[str, str] | None = None, **kw: Any) -> Any:
    """One request from a browser: its User-Agent and region, no cookie (a token only when given)."""
    client.cookies.clear()
    headers = {"user-agent": ua, **(region or {}), **kw.pop("headers", {})}
    r = client.request(method, url, headers=headers, **kw)
    assert r.status_code == 200, (url, r.status_code, r.text)
    return r.json() if r.headers["content-type"].startswith("application/json") else r.text


def token(headers: dict[str, str], device: str) -> dict[str, str]:
    return {**headers, "X-Consent-Device": device}


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match
    return match.group(1)


def report(client: TestClient, **params: str) -> dict[str, Any]:
    r = client.get("/v1/admin/stats", params={"site": "demo", **params}, headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body: dict[str, Any] = r.json()
    conforms(body, "StatsReport")
    return body


# ---- what each step of the mix adds, by hand ----------------------------------------------------


@dataclass
class Adds:
    region: str
    regime: str
    device_class: str
    browser: str
    banners_shown: int = 0
    accept_all: int = 0
    reject_all: int = 0
    custom: int = 0
    opt_outs: dict[str, int] = field(default_factory=dict)
    devices: int = 0  # a new device, or one's first request of the day
    gpc_devices: int = 0
    allowed: tuple[str, ...] = ()
    denied: tuple[str, ...] = ()


def expected(steps: list[Adds], keep: Any = lambda s: True) -> dict[str, Any]:
    """The `Counts` JSON that the steps kept add up to (rates included)."""
    n: Counter[str] = Counter()
    opt_outs = dict.fromkeys(("banner", "no_js_page", "agent"), 0)
    decisions = {p: {"allowed": 0, "denied": 0} for p in PURPOSES}
    for s in filter(keep, steps):
        for name in ("banners_shown", "accept_all", "reject_all", "custom", "devices", "gpc_devices"):
            n[name] += getattr(s, name)
        for channel, k in s.opt_outs.items():
            opt_outs[channel] += k
        for p in s.allowed:
            decisions[p]["allowed"] += 1
        for p in s.denied:
            decisions[p]["denied"] += 1
    total = sum(opt_outs.values())
    banners = n["banners_shown"]
    return {
        "banners_shown": banners,
        "accept_all": n["accept_all"],
        "reject_all": n["reject_all"],
        "custom": n["custom"],
        "opt_outs": opt_outs,
        "opt_outs_total": total,
        "devices": n["devices"],
        "gpc_devices": n["gpc_devices"],
        "decisions": decisions,
        "consent_rate": n["accept_all"] / banners if banners else None,
        "opt_out_rate": (n["reject_all"] + total) / banners if banners else None,
        "gpc_share": n["gpc_devices"] / n["devices"] if n["devices"] else None,
    }


def zero() -> dict[str, Any]:
    return expected([])


def bot_traffic(client: TestClient) -> int:
    """A crawler doing what the people below do; returns how many requests it made."""
    bot = GOOGLEBOT
    call(client, "GET", "/v1/sites/demo/experience", bot, CA)
    call(client, "GET", "/v1/sites/demo/experience", bot, DE, headers={"Sec-GPC": "1"})
    call(client, "GET", "/v1/decision", bot, CA, params={"site": "demo", "purpose": "advertising"})
    call(client, "POST", "/v1/consent", bot, CA, json={"site": "demo", "action": "accept_all"})
    call(client, "POST", "/v1/consent", bot, DE, json={"site": "demo", "action": "reject_all"})
    call(client, "POST", "/v1/opt-out", bot, CA, json={"site": "demo", "source": "banner"})
    page = call(client, "GET", "/privacy/demo/opt-out", bot, CA)
    call(client, "POST", "/privacy/demo/opt-out", bot, CA, data={"csrf": csrf_of(page), "lang": "en"})
    return 8


def human_traffic(client: TestClient) -> list[Adds]:
    """The mix, each step with what it must add."""
    steps: list[Adds] = []
    exp = "/v1/sites/demo/experience"
    ads = {"site": "demo", "purpose": "advertising"}

    # Alice, Chrome on a PC in California (opt_out): the banner, "accept all", then a tag's decision.
    alice = ("US-CA", "opt_out", "pc", "chrome")
    call(client, "GET", exp, CHROME, CA)
    steps.append(Adds(*alice, banners_shown=1, allowed=PURPOSES))  # no token, no GPC: no device yet
    a = call(client, "POST", "/v1/consent", CHROME, CA, json={"site": "demo", "action": "accept_all"})["device"]
    steps.append(Adds(*alice, accept_all=1, devices=1))
    call(client, "GET", "/v1/decision", CHROME, token(CA, a), params=ads)
    steps.append(Adds(*alice, allowed=("advertising",)))  # seen today already

    # Bob, Safari on an iPhone in Germany (opt_in) with Sec-GPC: a device is issued for the signal.
    bob = ("DE", "opt_in", "mobile", "safari")
    b = call(client, "GET", exp, IPHONE, {**DE, "Sec-GPC": "1"})["device"]
    steps.append(Adds(*bob, banners_shown=1, devices=1, gpc_devices=1, allowed=("necessary",), denied=PURPOSES[1:]))
    call(
        client,
        "POST",
        "/v1/consent",
        IPHONE,
        token({**DE, "Sec-GPC": "1"}, b),
        json={"site": "demo", "action": "reject_all"},
    )
    steps.append(Adds(*bob, reject_all=1))
    call(client, "GET", "/v1/decision", IPHONE, token(DE, b), params=ads)  # no header: GPC is on record
    steps.append(Adds(*bob, denied=("advertising",)))

    # Carol, Safari on an iPad in France, whose page passes gpc=1 (no header): custom choices.
    carol = ("FR", "opt_in", "tablet", "safari")
    c = call(client, "GET", exp, IPAD, FR, params={"gpc": "1"})["device"]
    steps.append(Adds(*carol, banners_shown=1, devices=1, gpc_devices=1, allowed=("necessary",), denied=PURPOSES[1:]))
    body = {"site": "demo", "action": "custom", "choices": {"analytics": True}, "gpc": True}
    call(client, "POST", "/v1/consent", IPAD, token(FR, c), json=body)
    steps.append(Adds(*carol, custom=1))

    # Dave, Firefox on a PC, no region known (notice): the banner, then "Do Not Sell" in it.
    dave = ("none", "notice", "pc", "firefox")
    call(client, "GET", exp, FIREFOX)
    steps.append(Adds(*dave, banners_shown=1, allowed=PURPOSES))
    call(client, "POST", "/v1/opt-out", FIREFOX, json={"site": "demo", "source": "banner"})
    steps.append(Adds(*dave, opt_outs={"banner": 1}, devices=1))

    # Erin, Chrome in California, on the page without JavaScript (viewing it shows no banner).
    erin = ("US-CA", "opt_out", "pc", "chrome")
    page = call(client, "GET", "/privacy/demo/opt-out", CHROME, CA)
    call(client, "POST", "/privacy/demo/opt-out", CHROME, CA, data={"csrf": csrf_of(page), "lang": "en"})
    steps.append(Adds(*erin, opt_outs={"no_js_page": 1}, devices=1))

    # Frank accepts; then an authorized agent opts his device out, and another agent an account.
    frank = ("US-CA", "opt_out", "pc", "chrome")
    f = call(client, "POST", "/v1/consent", CHROME, CA, json={"site": "demo", "action": "accept_all"})["device"]
    steps.append(Adds(*frank, accept_all=1, devices=1))
    agents = ("none", "notice", "other", "other")  # no browser: the site's default region (none here)
    call(
        client,
        "POST",
        "/v1/admin/agent-requests",
        CHROME,
        headers=AUTH,
        json={"site": "demo", "type": "opt_out", "device": f, **AGENT},
    )
    steps.append(Adds(*agents, opt_outs={"agent": 1}))
    call(
        client,
        "POST",
        "/v1/admin/agent-requests",
        CHROME,
        headers=AUTH,
        json={"site": "demo", "type": "opt_out", "account_id": "acct-1", **AGENT},
    )
    steps.append(Adds(*agents, opt_outs={"agent": 1}))

    # Grace's tag loader asks with GPC and no token: a device is issued for the signal.
    grace = ("US-CA", "opt_out", "pc", "chrome")
    call(client, "GET", "/v1/decision", CHROME, {**CA, "Sec-GPC": "1"}, params=ads)
    steps.append(Adds(*grace, devices=1, gpc_devices=1, denied=("advertising",)))

    # Refused requests count nothing: a foreign origin, a bad body, an unknown purpose.
    client.cookies.clear()
    evil = {**CA, "Origin": "https://evil.example"}
    assert client.post("/v1/consent", json={"site": "demo", "action": "accept_all"}, headers=evil).status_code == 403
    assert client.post("/v1/consent", content=b"{", headers=CA).status_code == 400
    assert client.get("/v1/decision", params={"site": "demo", "purpose": "sale"}, headers=CA).status_code == 422
    return steps


def test_a_known_mix_is_counted_exactly(
    make_client: AppFactory, redis_client: redis.Redis, redis_kind: str, request: pytest.FixtureRequest
) -> None:
    client = stats_client(make_client)
    today = dt.datetime.now(dt.UTC).date()
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    span = {"from": yesterday, "to": today.isoformat()}

    # A bot first: it changes nothing but bot_requests.
    bots = bot_traffic(client)
    flush(client)
    only_bots = report(client, **span)
    assert only_bots["bot_requests"] == bots and only_bots["totals"] == zero()
    assert [d["bot_requests"] for d in only_bots["days"]] == [0, bots]
    assert all(d["humans"] == zero() for d in only_bots["days"])
    for split in ("by_region", "by_regime", "by_device_class", "by_browser"):
        assert all(counts == zero() for counts in only_bots[split].values()), split
    assert only_bots["by_region"] == {}
    assert not list(redis_client.scan_iter(match="*:hll:*"))  # no device of a bot in any HyperLogLog

    steps = human_traffic(client)
    flush(client)
    got = report(client, **span)

    assert got["site"] == "demo" and (got["first_day"], got["last_day"]) == (yesterday, today.isoformat())
    assert got["bot_requests"] == bots  # the people added no bot request
    assert [d["day"] for d in got["days"]] == [yesterday, today.isoformat()]
    assert got["days"][0] == {"day": yesterday, "humans": zero(), "bot_requests": 0}
    assert got["days"][1] == {"day": today.isoformat(), "humans": expected(steps), "bot_requests": bots}
    # Over the range: the same (the union of unique devices over two days, one of them empty).
    assert got["totals"] == expected(steps)
    assert got["totals"]["devices"] == 7 and got["totals"]["gpc_devices"] == 3  # exact: HLL is exact this small
    assert got["totals"]["consent_rate"] == 0.5 and got["totals"]["opt_out_rate"] == 1.25

    assert list(got["by_region"]) == ["DE", "FR", "US-CA", "none"]  # sorted, "none" last
    for region in got["by_region"]:
        assert got["by_region"][region] == expected(steps, lambda s, r=region: s.region == r), region
    assert list(got["by_regime"]) == ["opt_in", "opt_out", "notice"]
    for regime in got["by_regime"]:
        assert got["by_regime"][regime] == expected(steps, lambda s, r=regime: s.regime == r), regime
    assert list(got["by_device_class"]) == ["pc", "mobile", "tablet", "other"]
    for kind in got["by_device_class"]:
        assert got["by_device_class"][kind] == expected(steps, lambda s, k=kind: s.device_class == k), kind
    assert list(got["by_browser"]) == ["chrome", "safari", "firefox", "edge", "samsung", "opera", "other"]
    for browser in got["by_browser"]:
        assert got["by_browser"][browser] == expected(steps, lambda s, b=browser: s.browser == b), browser
    # Spot checks of the hand-made table, so that a slip in it cannot hide a slip in the code.
    assert got["by_region"]["US-CA"]["accept_all"] == 2 and got["by_region"]["none"]["opt_outs"]["agent"] == 2
    assert got["by_browser"]["safari"]["decisions"]["advertising"] == {"allowed": 0, "denied": 3}
    assert got["totals"]["decisions"]["advertising"] == {"allowed": 3, "denied": 4}

    # The CSV: one row per day, the same numbers.
    r = client.get("/v1/admin/stats", params={"site": "demo", "format": "csv", **span}, headers=AUTH)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == f'attachment; filename="stats-demo-{yesterday}-{today}.csv"'
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert list(rows[0]) == [
        *stats.CSV_COLUMNS,
        *(f"decisions_{p}_{kind}" for p in PURPOSES for kind in ("allowed", "denied")),
    ]
    assert [row["date"] for row in rows] == [yesterday, today.isoformat()]
    want = expected(steps)
    day = rows[1]
    assert {k: int(day[k]) for k in ("banners_shown", "accept_all", "reject_all", "custom", "devices")} == {
        k: want[k] for k in ("banners_shown", "accept_all", "reject_all", "custom", "devices")
    }
    assert int(day["opt_outs_no_js_page"]) == 1 and int(day["opt_outs_agent"]) == 2 and int(day["gpc_devices"]) == 3
    assert (day["consent_rate"], day["opt_out_rate"], day["gpc_share"]) == ("0.500000", "1.250000", "0.428571")
    assert int(day["bot_requests"]) == bots
    assert int(day["decisions_advertising_denied"]) == 4 and int(day["decisions_necessary_allowed"]) == 4
    assert rows[0]["consent_rate"] == "" and rows[0]["banners_shown"] == "0"  # no banner: no rate

    # Keys: several shards, each with a retention TTL; on the cluster, more than one master.
    keys = [k for k in redis_client.scan_iter(match="cs1:{demo.s*") if is_stats_key(k)]
    counters = [k for k in keys if ":stats:2" in k]
    assert len(counters) >= 8, counters
    assert all(0 < redis_client.ttl(k) <= 401 * 86_400 for k in keys)
    if redis_kind == "cluster":
        cluster: LocalCluster = request.getfixturevalue("redis_cluster")
        holding = 0
        for node in cluster.node_clients():
            with node:
                holding += any(":stats:2" in k for k in node.scan_iter(match="cs1:{demo.s*"))
        assert holding >= 2


def test_the_decision_path_sends_no_command_for_statistics(make_client: AppFactory, redis_client: redis.Redis) -> None:
    client = stats_client(make_client)
    device = call(client, "POST", "/v1/consent", CHROME, CA, json={"site": "demo", "action": "reject_all"})["device"]
    call(client, "GET", "/v1/decision", CHROME, token(CA, device), params={"site": "demo", "purpose": "advertising"})
    flush(client)  # the first decision's daily refresh is done; what was counted so far is in Redis

    def commands() -> Counter[str]:
        found = redis_client.info("commandstats")
        return Counter({name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in found.items()})

    before = commands()
    n = 25
    for _ in range(n):
        r = call(
            client, "GET", "/v1/decision", CHROME, token(CA, device), params={"site": "demo", "purpose": "advertising"}
        )
        assert r["decisions"]["advertising"]["reason"] == "opt_out"
    sent = commands() - before
    del sent["info"]  # ours (once per master)
    assert sent == Counter({"hgetall": n}), sent  # one read per decision, nothing else
    flush(client)
    assert (commands() - before)["evalsha"] >= 1  # the counts went out in the flush, later
    assert report(client)["totals"]["decisions"]["advertising"]["denied"] == n + 1


def test_a_flush_spreads_over_shards_and_a_retried_batch_counts_once(redis_url: str) -> None:
    async def main() -> None:
        store = Store.from_url(redis_url, Lifetimes(400 * DAY_MS, 750 * DAY_MS), timeout_s=2.0)
        try:
            stats_store = StatsStore.of(store, 400)
            day = day_number(dt.datetime.now(dt.UTC).date())
            devices = {new_device_id() for _ in range(200)}
            fields = {f"bs|r=US-{n:02d}": 1 for n in range(64)} | {"bs": 64}
            batch = {("demo", day): DayCounts(fields, devices, set(list(devices)[:50]))}
            await stats_store.add("w1", 1, batch, 2.0)
            await stats_store.add("w1", 1, batch, 2.0)  # a retry after a timeout: the marker refuses it
            raw = await stats_store.read("demo", day, day, 5.0)
            assert raw.days[day].counts == fields
            # HyperLogLog: about 0.8% per shard; 200 devices in 16 disjoint shards sum to within a few.
            assert abs(raw.devices - 200) <= 4 and abs(raw.gpc_devices - 50) <= 2
            assert raw.days[day].devices == raw.devices
            await stats_store.add("w1", 2, batch, 2.0)  # the next batch adds
            assert (await stats_store.read("demo", day, day, 5.0)).days[day].counts["bs"] == 128
        finally:
            await store.close()

    asyncio.run(main())


def test_regions_are_capped_per_site_and_day(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stats, "MAX_REGIONS", 3)
    site = load_sites(None).sites["demo"]

    async def main() -> dict[str, Any]:
        store = Store.from_url(redis_url, Lifetimes(400 * DAY_MS, 750 * DAY_MS), timeout_s=2.0)
        try:
            counter = StatsCounter(StatsStore.of(store, 400), {"demo": site}, timeout_s=2.0)
            now = dt.datetime.now(dt.UTC)
            for region in ("US-CA", "US-NY", "DE", "FR", "NL", "US-CA"):
                visitor = Visitor(site, region, Regime.OPT_OUT, False, None, None, CHROME, int(now.timestamp() * 1000))
                counter.banner(visitor, True)
            got = await counter.report("demo", now.date(), now.date())
            return {k: v.banners_shown for k, v in got.by_region.items()}
        finally:
            await store.close()

    assert asyncio.run(main()) == {"DE": 1, "US-CA": 2, "US-NY": 1, "other": 2}


def test_a_failed_flush_keeps_its_batch_and_drops_the_oldest_past_the_bound(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis unreachable: batches wait for the next flush, at most PENDING_BATCHES of them (the oldest
    goes, counted as a background error); when Redis is back, the rest arrive once."""
    monkeypatch.setattr(stats, "PENDING_BATCHES", 2)
    site = load_sites(None).sites["demo"]
    dead = "redis://127.0.0.1:1/0"

    async def main() -> tuple[int, int]:
        errors = observability.current().background_errors
        before = errors._value.get()
        down = Store.from_url(dead, Lifetimes(400 * DAY_MS, 750 * DAY_MS), timeout_s=0.2)
        up = Store.from_url(redis_url, Lifetimes(400 * DAY_MS, 750 * DAY_MS), timeout_s=2.0)
        try:
            counter = StatsCounter(StatsStore.of(down, 400), {"demo": site}, timeout_s=0.2)
            now = dt.datetime.now(dt.UTC)
            visitor = Visitor(site, "DE", Regime.OPT_IN, False, None, None, CHROME, int(now.timestamp() * 1000))
            for _ in range(3):  # three flushes fail: the first batch is dropped
                counter.banner(visitor, True)
                assert await counter.flush() is False
            counter._store = StatsStore.of(up, 400)  # Redis is back
            assert await counter.flush() is True
            got = await counter.report("demo", now.date(), now.date())
            return got.totals.banners_shown, int(errors._value.get() - before)
        finally:
            await down.close()
            await up.close()

    assert asyncio.run(main()) == (2, 1)


def test_bad_ranges_and_formats_are_refused(make_client: AppFactory) -> None:
    client = stats_client(make_client)
    today = dt.datetime.now(dt.UTC).date()
    for params in [
        {"from": "2026-13-01"},
        {"from": "20260101"},
        {"from": "2026-W01-1"},
        {"to": "２０２６-01-01"},
        {"from": "1999-01-01", "to": "1999-01-02"},
        {"from": today.isoformat(), "to": (today - dt.timedelta(days=1)).isoformat()},
        {"from": (today - dt.timedelta(days=400)).isoformat(), "to": today.isoformat()},
        {"format": "xml"},
    ]:
        r = client.get("/v1/admin/stats", params={"site": "demo", **params}, headers=AUTH)
        assert (r.status_code, r.json()["error"]) == (400, "invalid_body"), params
    assert client.get("/v1/admin/stats", params={"site": "demo"}).status_code == 401
    assert client.get("/v1/admin/stats", params={"site": "nope"}, headers=AUTH).status_code == 404
    default = report(client)  # the last 30 days, up to today
    assert len(default["days"]) == 30 and default["last_day"] == today.isoformat()
    longest = {"from": (today - dt.timedelta(days=399)).isoformat(), "to": today.isoformat()}
    assert len(report(client, **longest)["days"]) == 400


def test_user_agents_map_to_bounded_labels() -> None:
    assert ua_labels(CHROME) == (DeviceClass.PC, "chrome")
    assert ua_labels(IPHONE) == (DeviceClass.MOBILE, "safari")
    assert ua_labels(IPAD) == (DeviceClass.TABLET, "safari")
    assert ua_labels(FIREFOX) == (DeviceClass.PC, "firefox")
    assert ua_labels(GOOGLEBOT)[0] is DeviceClass.BOT
    assert ua_labels(None) == (DeviceClass.OTHER, "other")
    families = {
        "Chrome Mobile iOS": "chrome",
        "Chrome Mobile WebView": "chrome",
        "Mobile Safari UI/WKWebView": "safari",
        "Firefox iOS": "firefox",
        "Edge": "edge",
        "Samsung Internet": "samsung",
        "Opera Mini": "opera",
        "CanaryBrowser": "other",
        "Other": "other",
    }
    assert {family: browser_of(family) for family in families} == families
    assert {browser_of(f) for f in families} <= set(stats.BROWSERS)
    assert STATS_SHARDS == 16
