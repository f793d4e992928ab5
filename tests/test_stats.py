"""Consent statistics (issue 6) against real Redis, standalone and cluster: a known mix of page
views, choices (some sent twice), opt-outs and GPC signals through the API, from several device
types, regions and a bot, with visitors who never choose; then every number of the JSON report, the
CSV, the keys' spread over shards and masters, and that the decision path sends no command for them."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import datetime as dt
import io
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis
from starlette.testclient import TestClient

from consent_service.config.sites import load_sites
from consent_service.core.clock import DAY_MS
from consent_service.core.identity import Verified, new_device_id
from consent_service.core.model import DeviceRecord
from consent_service.core.signals import browser_of, ua_labels
from consent_service.core.visitor import Visitor
from consent_service.core.vocab import DeviceClass, Regime
from consent_service.obs import metrics
from consent_service.stats import counter as stats
from consent_service.stats import report as stats_report
from consent_service.stats.counter import StatsCounter
from consent_service.stats.model import BROWSERS, Counts, Day, StatsReport
from consent_service.store import Lifetimes, StatsStore, Store
from consent_service.store.stats import STATS_SHARDS, DayCounts, day_number, is_stats_key, stats_keys
from tests.cluster import LocalCluster
from tests.conftest import CA, CHROME, DE, GOOGLEBOT, AppFactory
from tests.test_openapi import conforms

KEY = "s" * 8 + "t" * 32
AUTH = {"Authorization": f"Bearer {KEY}"}
FR = {"CloudFront-Viewer-Country": "FR"}
JP = {"CloudFront-Viewer-Country": "JP"}
VA = {"CloudFront-Viewer-Country": "US", "CloudFront-Viewer-Country-Region": "VA"}
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
NECESSARY = ("necessary",)  # allowed in opt_in without consent (the others denied)
NOT_SALE = ("necessary", "analytics", "personalization")  # allowed with GPC and no choice (advertising denied)
AGENT = {"agent": "Permission Slip", "reference": "PS-1"}
EXPERIENCE = "/v1/sites/demo/experience"
ACCEPT = {"site": "demo", "action": "accept_all"}
REJECT = {"site": "demo", "action": "reject_all"}
OPT_OUT = {"site": "demo", "source": "banner"}


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
    visits: int = 0  # a page view: an experience answer
    gpc_visits: int = 0  # one whose request carried GPC
    banners_shown: int = 0
    accept_all: int = 0
    reject_all: int = 0
    custom: int = 0
    opt_outs: dict[str, int] = field(default_factory=dict)
    devices: int = 0  # a new device, or one's first request of the day
    gpc_devices: int = 0
    allowed: tuple[str, ...] = ()
    denied: tuple[str, ...] = ()


SUMMED = ("visits", "gpc_visits", "banners_shown", "accept_all", "reject_all", "custom", "devices", "gpc_devices")


def expected(steps: list[Adds], keep: Any = lambda s: True) -> dict[str, Any]:
    """The `Counts` JSON that the steps kept add up to (rates included)."""
    n: Counter[str] = Counter()
    opt_outs = dict.fromkeys(("banner", "no_js_page", "agent"), 0)
    decisions = {p: {"allowed": 0, "denied": 0} for p in PURPOSES}
    for s in filter(keep, steps):
        for name in SUMMED:
            n[name] += getattr(s, name)
        for channel, k in s.opt_outs.items():
            opt_outs[channel] += k
        for p in s.allowed:
            decisions[p]["allowed"] += 1
        for p in s.denied:
            decisions[p]["denied"] += 1
    total = sum(opt_outs.values())
    choices = n["accept_all"] + n["reject_all"] + n["custom"] + total
    return {
        **{name: n[name] for name in SUMMED},
        "opt_outs": opt_outs,
        "opt_outs_total": total,
        "choices": choices,
        "decisions": decisions,
        "consent_rate": n["accept_all"] / choices if choices else None,
        "opt_out_rate": (n["reject_all"] + total) / choices if choices else None,
        "gpc_share": n["gpc_visits"] / n["visits"] if n["visits"] else None,
        "over_limit": {"opt_out": 0, "gpc": 0},  # the mix stays under the rate limits
    }


def zero() -> dict[str, Any]:
    return expected([])


def bot_traffic(client: TestClient) -> int:
    """A crawler doing what the people below do; returns how many requests it made."""
    bot = GOOGLEBOT
    call(client, "GET", EXPERIENCE, bot, CA)
    call(client, "GET", EXPERIENCE, bot, DE, headers={"Sec-GPC": "1"})
    call(client, "GET", "/v1/decision", bot, CA, params={"site": "demo", "purpose": "advertising"})
    call(client, "POST", "/v1/consent", bot, CA, json=ACCEPT)
    call(client, "POST", "/v1/consent", bot, DE, json=REJECT)
    call(client, "POST", "/v1/opt-out", bot, CA, json=OPT_OUT)
    page = call(client, "GET", "/privacy/demo/opt-out", bot, CA)
    call(client, "POST", "/privacy/demo/opt-out", bot, CA, data={"csrf": csrf_of(page), "lang": "en"})
    return 8


def view(client: TestClient, ua: str, headers: dict[str, str] | None, *, show: bool, **kw: Any) -> dict[str, Any]:
    """A page view: the banner's experience request. Whether it asks is known in advance (no choice
    yet: opt_in always asks, opt_out and notice unless GPC already opted out; after a choice: no)."""
    body: dict[str, Any] = call(client, "GET", EXPERIENCE, ua, headers, **kw)
    assert body["show"] is show, (ua, headers, body["show"])
    return body


def human_traffic(client: TestClient) -> list[Adds]:
    """The mix, each step with what it must add."""
    steps: list[Adds] = []
    ads = {"site": "demo", "purpose": "advertising"}
    gpc = {"Sec-GPC": "1"}

    # Alice, Chrome on a PC in California (opt_out): the banner, "accept all" (her banner sends it
    # twice: one choice), another page (no banner: she chose), a tag's decision.
    alice = ("US-CA", "opt_out", "pc", "chrome")
    assert "device" not in view(client, CHROME, CA, show=True)  # nothing to record: no device yet
    steps.append(Adds(*alice, visits=1, banners_shown=1, allowed=PURPOSES))
    a = call(client, "POST", "/v1/consent", CHROME, CA, json=ACCEPT)["device"]
    steps.append(Adds(*alice, accept_all=1, devices=1))
    call(client, "POST", "/v1/consent", CHROME, token(CA, a), json=ACCEPT)
    steps.append(Adds(*alice))  # the same choice again changes nothing
    view(client, CHROME, token(CA, a), show=False)
    steps.append(Adds(*alice, visits=1, allowed=PURPOSES))  # seen today already
    call(client, "GET", "/v1/decision", CHROME, token(CA, a), params=ads)
    steps.append(Adds(*alice, allowed=("advertising",)))

    # Bob, Safari on an iPhone in Germany (opt_in) with Sec-GPC: a device is issued for the signal.
    # "Reject all"; then a tag's decision and another page without the header (GPC is on record for
    # the device, but that page view did not send it).
    bob = ("DE", "opt_in", "mobile", "safari")
    b = view(client, IPHONE, {**DE, **gpc}, show=True)["device"]
    steps.append(
        Adds(
            *bob,
            visits=1,
            gpc_visits=1,
            banners_shown=1,
            devices=1,
            gpc_devices=1,
            allowed=NECESSARY,
            denied=PURPOSES[1:],
        )
    )
    call(client, "POST", "/v1/consent", IPHONE, token({**DE, **gpc}, b), json=REJECT)
    steps.append(Adds(*bob, reject_all=1))
    call(client, "GET", "/v1/decision", IPHONE, token(DE, b), params=ads)  # no header: GPC is on record
    steps.append(Adds(*bob, denied=("advertising",)))
    view(client, IPHONE, token(DE, b), show=False)  # he refused: not asked again for 12 months
    steps.append(Adds(*bob, visits=1, allowed=NECESSARY, denied=PURPOSES[1:]))

    # Carol, Safari on an iPad in France, whose page passes gpc=1 (no header): custom choices.
    carol = ("FR", "opt_in", "tablet", "safari")
    c = view(client, IPAD, FR, show=True, params={"gpc": "1"})["device"]
    steps.append(
        Adds(
            *carol,
            visits=1,
            gpc_visits=1,
            banners_shown=1,
            devices=1,
            gpc_devices=1,
            allowed=NECESSARY,
            denied=PURPOSES[1:],
        )
    )
    body = {"site": "demo", "action": "custom", "choices": {"analytics": True}, "gpc": True}
    call(client, "POST", "/v1/consent", IPAD, token(FR, c), json=body)
    steps.append(Adds(*carol, custom=1))

    # Dave, Firefox on a PC, no region known (notice): the banner, then "Do Not Sell" in it, twice.
    dave = ("none", "notice", "pc", "firefox")
    view(client, FIREFOX, None, show=True)
    steps.append(Adds(*dave, visits=1, banners_shown=1, allowed=PURPOSES))
    d = call(client, "POST", "/v1/opt-out", FIREFOX, json=OPT_OUT)["device"]
    steps.append(Adds(*dave, opt_outs={"banner": 1}, devices=1))
    call(client, "POST", "/v1/opt-out", FIREFOX, token({}, d), json=OPT_OUT)
    steps.append(Adds(*dave))  # a second click: already opted out

    # Erin, Chrome in California, on the opt-out page without JavaScript; her browser submits the
    # form a second time (a reload), with the cookie the first answer set: one opt-out.
    erin = ("US-CA", "opt_out", "pc", "chrome")
    form = {"csrf": client.app.state.consent.forms.issue("demo", "opt-out"), "lang": "en"}  # type: ignore[attr-defined]
    call(client, "POST", "/privacy/demo/opt-out", CHROME, CA, data=form)
    steps.append(Adds(*erin, opt_outs={"no_js_page": 1}, devices=1))
    first = device_in_cookie(client)
    again = client.post("/privacy/demo/opt-out", data=form, headers={"user-agent": CHROME, **CA})
    assert again.status_code == 200 and device_in_cookie(client) == first  # the same device
    steps.append(Adds(*erin))

    # Frank accepts; then an authorized agent opts his device out (its request sent twice: once),
    # and another agent an account.
    frank = ("US-CA", "opt_out", "pc", "chrome")
    f = call(client, "POST", "/v1/consent", CHROME, CA, json=ACCEPT)["device"]
    steps.append(Adds(*frank, accept_all=1, devices=1))
    agents = ("none", "notice", "other", "other")  # no browser: the site's default region (none here)
    for _ in range(2):
        agent_opt_out(client, {"device": f})
    steps.append(Adds(*agents, opt_outs={"agent": 1}))
    agent_opt_out(client, {"account_id": "acct-1"})
    steps.append(Adds(*agents, opt_outs={"agent": 1}))

    # Grace's tag loader asks with GPC and no token: a device is issued for the signal, no page view.
    grace = ("US-CA", "opt_out", "pc", "chrome")
    call(client, "GET", "/v1/decision", CHROME, {**CA, **gpc}, params=ads)
    steps.append(Adds(*grace, devices=1, gpc_devices=1, denied=("advertising",)))

    # Henry, Safari on an iPhone in Virginia (opt_out), reads two pages and never chooses: two page
    # views and two banners, and no device (nothing to record).
    henry = ("US-VA", "opt_out", "mobile", "safari")
    for _ in range(2):
        assert "device" not in view(client, IPHONE, VA, show=True)
        steps.append(Adds(*henry, visits=1, banners_shown=1, allowed=PURPOSES))

    # Ivy, Safari on an iPad in California with GPC, reads two pages and never chooses: no banner
    # (GPC is her opt-out: no pop-up), a device for the signal, one device-day.
    ivy = ("US-CA", "opt_out", "tablet", "safari")
    i = view(client, IPAD, {**CA, **gpc}, show=False)["device"]
    steps.append(
        Adds(*ivy, visits=1, gpc_visits=1, devices=1, gpc_devices=1, allowed=NOT_SALE, denied=("advertising",))
    )
    view(client, IPAD, token({**CA, **gpc}, i), show=False)
    steps.append(Adds(*ivy, visits=1, gpc_visits=1, allowed=NOT_SALE, denied=("advertising",)))

    # Jack, Chrome on a PC in Germany with GPC: the banner (opt_in asks anyway), and no choice.
    jack = ("DE", "opt_in", "pc", "chrome")
    view(client, CHROME, {**DE, **gpc}, show=True)
    steps.append(
        Adds(
            *jack,
            visits=1,
            gpc_visits=1,
            banners_shown=1,
            devices=1,
            gpc_devices=1,
            allowed=NECESSARY,
            denied=PURPOSES[1:],
        )
    )

    # Kim, Safari on an iPhone in Japan (notice): one page, no choice.
    kim = ("JP", "notice", "mobile", "safari")
    view(client, IPHONE, JP, show=True)
    steps.append(Adds(*kim, visits=1, banners_shown=1, allowed=PURPOSES))

    # Liam, Firefox on a PC in France: "accept all", then he changes his mind: "reject all". Two choices.
    liam = ("FR", "opt_in", "pc", "firefox")
    li = call(client, "POST", "/v1/consent", FIREFOX, FR, json=ACCEPT)["device"]
    steps.append(Adds(*liam, accept_all=1, devices=1))
    call(client, "POST", "/v1/consent", FIREFOX, token(FR, li), json=REJECT)
    steps.append(Adds(*liam, reject_all=1))

    # Refused requests count nothing: a foreign origin, a bad body, an unknown purpose.
    client.cookies.clear()
    evil = {**CA, "Origin": "https://evil.example"}
    assert client.post("/v1/consent", json=ACCEPT, headers=evil).status_code == 403
    assert client.post("/v1/consent", content=b"{", headers=CA).status_code == 400
    assert client.get("/v1/decision", params={"site": "demo", "purpose": "sale"}, headers=CA).status_code == 422
    return steps


def agent_opt_out(client: TestClient, whom: dict[str, str]) -> None:
    body = {"site": "demo", "type": "opt_out", **whom, **AGENT}
    call(client, "POST", "/v1/admin/agent-requests", CHROME, headers=AUTH, json=body)


def device_in_cookie(client: TestClient) -> str:
    """The device id in the `cs_device_demo` cookie the last answer set."""
    cookie = client.cookies.get("cs_device_demo")
    assert cookie
    verified = client.app.state.consent.tokens.verify(cookie, "demo")  # type: ignore[attr-defined]
    assert verified is not None
    return str(verified.device_id)


SPLITS = (
    ("region", "by_region"),
    ("regime", "by_regime"),
    ("device_class", "by_device_class"),
    ("browser", "by_browser"),
)


def csv_row(scope: str, key: str, counts: dict[str, Any], bots: object) -> dict[str, str]:
    """The CSV row that a JSON `Counts` must come out as."""
    rates = {k: "" if counts[k] is None else f"{counts[k]:.6f}" for k in ("consent_rate", "opt_out_rate", "gpc_share")}
    plain = ("visits", "gpc_visits", "banners_shown", "accept_all", "reject_all", "custom", "choices", "devices")
    return {
        "scope": scope,
        "key": key,
        **{k: str(counts[k]) for k in (*plain, "gpc_devices")},
        **{f"opt_outs_{channel}": str(n) for channel, n in counts["opt_outs"].items()},
        **rates,
        "bot_requests": str(bots),
        **{f"over_limit_{kind}": str(n) for kind, n in counts["over_limit"].items()},
        **{
            f"decisions_{p}_{kind}": str(counts["decisions"].get(p, {}).get(kind, 0))
            for p in PURPOSES
            for kind in ("allowed", "denied")
        },
    }


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

    assert list(got["by_region"]) == ["DE", "FR", "JP", "US-CA", "US-VA", "none"]  # sorted, "none" last
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

    # Spot checks counted from the story above, not from the table, so that a slip in the table
    # cannot hide a slip in the code.
    t = got["totals"]
    assert (t["visits"], t["gpc_visits"], t["banners_shown"]) == (12, 5, 8)  # Ivy's two views asked nothing
    assert t["gpc_share"] == 5 / 12  # Bob's second view carried no GPC: on record is not sent
    assert (t["accept_all"], t["reject_all"], t["custom"]) == (3, 2, 1)  # Alice's resend: once; Liam: both
    assert t["opt_outs"] == {"banner": 1, "no_js_page": 1, "agent": 2}  # every repeat once
    assert t["choices"] == 10 and t["consent_rate"] == 0.3 and t["opt_out_rate"] == 0.6
    assert (t["devices"], t["gpc_devices"]) == (10, 5)  # exact: HyperLogLog is exact this small
    assert t["decisions"]["advertising"] == {"allowed": 7, "denied": 8}
    ca, de, va, none = (got["by_region"][r] for r in ("US-CA", "DE", "US-VA", "none"))
    assert (ca["visits"], ca["gpc_visits"], ca["gpc_share"], ca["choices"]) == (4, 2, 0.5, 3)
    assert (ca["consent_rate"], ca["opt_out_rate"], ca["devices"], ca["gpc_devices"]) == (2 / 3, 1 / 3, 5, 2)
    assert (de["visits"], de["gpc_visits"], de["choices"], de["consent_rate"], de["opt_out_rate"]) == (3, 2, 1, 0, 1)
    assert (va["visits"], va["banners_shown"], va["choices"], va["devices"]) == (2, 2, 0, 0)
    assert (va["consent_rate"], va["opt_out_rate"], va["gpc_share"]) == (None, None, 0)  # viewed, never chose
    assert none["opt_outs"] == {"banner": 1, "no_js_page": 0, "agent": 2} and none["opt_out_rate"] == 1
    pc, mobile, tablet, other = (got["by_device_class"][k] for k in ("pc", "mobile", "tablet", "other"))
    assert (pc["visits"], pc["gpc_visits"], pc["choices"], pc["devices"], pc["gpc_devices"]) == (4, 1, 6, 7, 2)
    assert (pc["consent_rate"], pc["opt_out_rate"], pc["gpc_share"]) == (0.5, 0.5, 0.25)
    assert (mobile["visits"], mobile["gpc_visits"], mobile["banners_shown"], mobile["choices"]) == (5, 1, 4, 1)
    assert (mobile["gpc_share"], mobile["opt_out_rate"], mobile["devices"]) == (0.2, 1, 1)
    assert (tablet["visits"], tablet["gpc_visits"], tablet["gpc_share"], tablet["devices"]) == (3, 3, 1, 2)
    assert (tablet["choices"], tablet["consent_rate"], tablet["opt_out_rate"]) == (1, 0, 0)  # Carol's custom
    assert (other["visits"], other["gpc_share"], other["choices"], other["opt_out_rate"]) == (0, None, 2, 1)
    assert got["by_browser"]["safari"]["decisions"]["advertising"] == {"allowed": 3, "denied": 6}

    # The CSV: a row per day, the range's total, a row per group of each split; the JSON's numbers.
    r = client.get("/v1/admin/stats", params={"site": "demo", "format": "csv", **span}, headers=AUTH)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == f'attachment; filename="stats-demo-{yesterday}-{today}.csv"'
    header = [*stats_report.CSV_COLUMNS, *(f"decisions_{p}_{kind}" for p in PURPOSES for kind in ("allowed", "denied"))]
    assert header[:2] == ["scope", "key"] and r.text.startswith(",".join(header) + "\r\n")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    want = [csv_row("day", d["day"], d["humans"], d["bot_requests"]) for d in got["days"]]
    want.append(csv_row("total", f"{yesterday}/{today}", got["totals"], got["bot_requests"]))
    want += [csv_row(scope, key, counts, "") for scope, split in SPLITS for key, counts in got[split].items()]
    assert [(row["scope"], row["key"]) for row in rows] == [(row["scope"], row["key"]) for row in want]
    assert rows == want
    by_key = {(row["scope"], row["key"]): row for row in rows}
    total = by_key["total", f"{yesterday}/{today}"]
    assert (total["visits"], total["gpc_visits"], total["choices"], total["bot_requests"]) == ("12", "5", "10", "8")
    assert (total["consent_rate"], total["opt_out_rate"], total["gpc_share"]) == ("0.300000", "0.600000", "0.416667")
    assert by_key["day", today.isoformat()] | {"scope": "total", "key": total["key"]} == total  # one day of two
    assert by_key["day", yesterday]["consent_rate"] == "" and by_key["day", yesterday]["visits"] == "0"
    assert by_key["region", "US-VA"]["consent_rate"] == "" and by_key["region", "US-VA"]["bot_requests"] == ""
    assert by_key["device_class", "tablet"]["gpc_share"] == "1.000000"

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


@pytest.mark.standalone_only  # no Redis command of its own: once is enough
def test_our_own_opt_out_page_is_no_page_view(make_client: AppFactory) -> None:
    """The no-JS opt-out page reads the experience for itself: that shows no banner and is not a page
    view of the banner (its opt-out is counted when it is sent)."""
    client = stats_client(make_client)
    call(client, "GET", "/privacy/demo/opt-out", CHROME, CA)
    call(client, "GET", "/privacy/demo/opt-out", IPHONE, {**DE, "Sec-GPC": "1"})
    flush(client)
    t = report(client)["totals"]
    assert (t["visits"], t["gpc_visits"], t["banners_shown"], t["choices"]) == (0, 0, 0, 0)
    assert (t["devices"], t["gpc_devices"]) == (1, 1)  # a device issued for the GPC signal


def test_gpc_devices_are_the_devices_that_sent_it_that_day(redis_url: str) -> None:
    """A device with GPC on record from an earlier day that does not send it today is no GPC device
    today; another one is, from its first request with GPC (in the splits once, as a device-day)."""
    site = load_sites(None).sites["demo"]
    now = int(time.time() * 1000)
    today = now // DAY_MS
    on_record = DeviceRecord(gpc_first_seen_ms=now - 3 * DAY_MS, gpc_last_day=today - 3, refreshed_day=today - 1)

    async def main() -> tuple[int, ...]:
        store = Store.from_url(redis_url, Lifetimes(400 * DAY_MS, 750 * DAY_MS), timeout_s=2.0)
        try:
            counter = StatsCounter(StatsStore.of(store, 400), {"demo": site}, timeout_s=2.0)
            quiet, sender = Verified(new_device_id(), now // 1000), Verified(new_device_id(), now // 1000)

            def visit(device: Verified, gpc: bool, record: DeviceRecord) -> None:
                counter.seen(Visitor(site, "US-CA", Regime.OPT_OUT, gpc, device, None, CHROME, now), record, False)

            refreshed = dataclasses.replace(on_record, refreshed_day=today)  # the first request's refresh
            visit(quiet, False, on_record)  # its first request today: no GPC
            visit(quiet, False, refreshed)
            visit(sender, False, on_record)  # first without GPC, then with it: a GPC device from then on
            visit(sender, True, refreshed)
            visit(sender, True, dataclasses.replace(refreshed, gpc_last_day=today))
            day = dt.datetime.fromtimestamp(now / 1000, dt.UTC).date()
            got = await counter.report("demo", day, day)
            ca = got.by_region["US-CA"]
            return got.totals.devices, got.totals.gpc_devices, ca.devices, ca.gpc_devices
        finally:
            await store.close()

    assert asyncio.run(main()) == (2, 1, 2, 1)


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
        errors = metrics.current().background_errors
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
        {"from": "2026-02-30"},
        {"from": "20260101"},
        {"from": "2026-W01-1"},  # an ISO week date: fromisoformat takes it, we do not
        {"from": "2026-W01"},
        {"from": "2026-001"},  # an ordinal date
        {"from": "2026-01-01T00:00"},
        {"from": "2026-01-01\n"},
        {"from": "2026-1-01"},
        {"to": "２０２６-01-01"},
        {"to": "2026-01-0１"},
        {"from": "1999-01-01", "to": "1999-01-02"},
        {"from": today.isoformat(), "to": (today - dt.timedelta(days=1)).isoformat()},
        {"from": (today - dt.timedelta(days=400)).isoformat(), "to": today.isoformat()},
        {"format": "xml"},
    ]:
        r = client.get("/v1/admin/stats", params={"site": "demo", **params}, headers=AUTH)
        assert (r.status_code, r.json()["error"]) == (400, "invalid_body"), params
    assert client.get("/v1/admin/stats", params={"site": "demo"}).status_code == 401
    for missing in ({}, {"site": ""}, {"format": "csv"}):  # no site: 400 (with a key), as DESIGN says
        r = client.get("/v1/admin/stats", params=missing, headers=AUTH)
        assert (r.status_code, r.json()["error"]) == (400, "invalid_body"), missing
        assert "`site`" in r.json()["detail"]
    assert client.get("/v1/admin/stats").status_code == 401  # without a key: the key is checked first
    r = client.get("/v1/admin/stats", params={"site": "nope"}, headers=AUTH)
    assert (r.status_code, r.json()["error"]) == (404, "unknown_site")
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
    assert {browser_of(f) for f in families} <= set(BROWSERS)
    assert STATS_SHARDS == 16


def test_damaged_counters_are_skipped_not_a_500(make_client: AppFactory, redis_client: redis.Redis) -> None:
    """Counters read back go through digits.ascii_int: `"--5".lstrip("-").isdigit()` and
    `"-²".lstrip("-").isdigit()` are True, and int() refuses both (a 500 on the report)."""
    client = stats_client(make_client)
    today = day_number(dt.datetime.now(dt.UTC).date())
    for shard in range(STATS_SHARDS):
        counters, _, _ = stats_keys("demo", shard, today)
        redis_client.hset(counters, mapping={"visits": "--5", "accept_all": "-²", "reject_all": "١٢"})
    r = client.get("/v1/admin/stats", params={"site": "demo"}, headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.json()["totals"]["visits"] == 0 and r.json()["totals"]["reject_all"] == 0


def test_formula_like_cells_are_neutralised_in_the_stats_csv_and_numbers_stay_numbers(
    make_client: AppFactory,
) -> None:
    """The stats CSV goes through csv_cells.csv_cell like the audit's. Its text cells (region and
    browser keys, purposes) are validated on the way in, so hostile ones cannot arrive through
    requests today; the writer neutralises them anyway. Its numbers are ours and stay numbers."""
    hostile = ["＝1+1", "  =1+1", "\u3000=1", "\t=1", "－1+1", "＠SUM(A1)", "+1", "@x", "-"]
    counts = Counts(visits=-3, accept_all=1, reject_all=1)  # a negative count (a damaged counter) is a number
    day = Day("2026-11-30", counts, bot_requests=2)
    split = dict.fromkeys(hostile, counts)
    report = StatsReport("demo", day.day, day.day, (day,), counts, split, {}, {}, split)
    rows = list(csv.DictReader(io.StringIO(stats_report.report_csv(report))))
    keys = [row["key"] for row in rows if row["scope"] in ("region", "browser")]
    assert keys == ["'" + k for k in hostile] * 2
    for row in rows:
        assert row["visits"] == "-3" and row["consent_rate"] == "0.500000" and row["opt_out_rate"] == "0.500000"
        assert float(row["gpc_share"]) == 0 and row["bot_requests"] in ("2", "0", "")  # 0 of -3: "-0.000000", a number
    # Through the API, after real traffic: every count and rate cell is a plain number.
    client = stats_client(make_client)
    client.post("/v1/consent", json=ACCEPT, headers=CA)
    client.cookies.clear()
    client.post("/v1/opt-out", json=OPT_OUT, headers=DE)
    flush(client)
    r = client.get("/v1/admin/stats", params={"site": "demo", "format": "csv"}, headers=AUTH)
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert table and all(not cell.startswith("'") for row in table for cell in row.values())
    for row in table:
        assert all(float(v) >= 0 for name, v in row.items() if name not in ("scope", "key") and v != ""), row
