"""The statistics dashboard in Chromium: sign in through the form, the charts render under the strict
CSP, the range picker works, the table agrees with the JSON download, and signing out ends it.

Today's numbers come from traffic sent through the API (three device types, seven regions, GPC,
visitors who never choose, bots); the table, the tiles, the GPC share and the rates are checked
against what the test sent. The 13 days before it are counted through the service's own statistics counter and flushed
to the same Redis (the service cannot be sent traffic dated in the past), so the charts have a
history to draw and the screenshot in docs/ something to show.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from playwright.sync_api import Page

from consent_service.cli.redis_runner import EmbeddedRedis
from consent_service.stats.counter import FLUSH_INTERVAL_S
from e2e.conftest import AXE, ContextFactory, Service, new_page
from e2e.helpers import CSP_RECORDER, snap
from tools.sample_stats import COUNTED, count_history, send_traffic

ADMIN_KEY = "e2e-dashboard-admin-key-" + "q" * 32
SHOT_VIEWPORT = {"width": 1200, "height": 1320}
TILES = ("visits", "banners_shown", "choices", "consent_rate", "opt_out_rate", "gpc_share", "bot_requests")
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return {violations: result.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target)})),
          passes: result.passes.length};
}"""


@pytest.fixture
def dashboard_service(tmp_path: Path, e2e_redis: EmbeddedRedis) -> Iterator[Service]:
    """The service under uvicorn, with an admin key for the demo site."""
    # The session's other service process shares this Redis and flushes its statistics every
    # FLUSH_INTERVAL_S: what an earlier test sent can land after conftest's FLUSHALL. So wait out one
    # interval and empty Redis again: the numbers checked here are only this test's.
    quiet_from = time.monotonic() + FLUSH_INTERVAL_S + 0.5
    svc = Service(tmp_path, e2e_redis.url, env={"CONSENT_ADMIN_KEYS": f"{ADMIN_KEY}:demo"})
    time.sleep(max(0.0, quiet_from - time.monotonic()))
    with redis.Redis.from_url(e2e_redis.url) as client:
        client.flushall()
    yield svc
    svc.stop()


def rates(n: dict[str, int]) -> dict[str, float | None]:
    """The rates of counts sent (the definitions of docs/stats.md, from the test's own numbers)."""
    choices = n["accept_all"] + n["reject_all"] + n["custom"] + n["opt_outs"]
    return {
        "gpc_share": n["gpc_visits"] / n["visits"] if n["visits"] else None,
        "consent_rate": n["accept_all"] / choices if choices else None,
        "opt_out_rate": (n["reject_all"] + n["opt_outs"]) / choices if choices else None,
    }


def percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.1f}%"


def sign_in(page: Page, origin: str) -> None:
    page.goto(f"{origin}/admin/sites/demo/stats")
    assert "/admin/login?next=" in page.url  # no session yet
    page.locator("#key").fill(ADMIN_KEY)
    with page.expect_navigation():
        page.locator("#sign-in").click()
    assert page.url == f"{origin}/admin/sites/demo/stats"


CHARTS_JS = """() => [...document.querySelectorAll('svg.chart')].map(svg => {
  const box = svg.getBoundingClientRect();
  const line = svg.querySelector('polyline');
  const bar = svg.querySelector('rect.s-accept_all') || svg.querySelector('rect.bar');
  return {
    name: svg.dataset.chart, width: box.width, height: box.height,
    dots: svg.querySelectorAll('circle.dot').length, bars: svg.querySelectorAll('rect.bar').length,
    lineLength: line ? line.getTotalLength() : 0,
    barFill: bar ? getComputedStyle(bar).fill : null,
    barWidth: bar ? bar.getBoundingClientRect().width : 0,
  };
})"""


def test_the_dashboard_in_chromium(
    dashboard_service: Service, e2e_redis: EmbeddedRedis, make_context: ContextFactory
) -> None:
    api = dashboard_service.origin
    history = count_history(e2e_redis.url)
    sent = send_traffic(api)
    context = make_context(viewport=SHOT_VIEWPORT)
    context.add_init_script(CSP_RECORDER)
    page = new_page(context)
    sign_in(page, api)
    session = next(c for c in context.cookies(f"{api}/admin/") if c["name"] == "cs_admin")
    assert session["httpOnly"] and session["sameSite"] == "Strict" and session["path"] == "/admin"
    assert ADMIN_KEY not in session["value"] and session["expires"] > time.time() + 7 * 3600

    charts = {c["name"]: c for c in page.evaluate(CHARTS_JS)}
    assert set(charts) == {"rates", "gpc", "region", "device"}
    for name, chart in charts.items():
        assert chart["width"] > 300 and chart["height"] > 80, (name, chart)
    assert charts["rates"]["dots"] >= 2 * 14 and charts["rates"]["lineLength"] > 100
    assert charts["gpc"]["bars"] == 14 and charts["region"]["bars"] > 10 and charts["device"]["bars"] >= 9
    assert charts["region"]["barFill"] == "rgb(0, 114, 178)"  # coloured by the stylesheet, not by inline style
    assert all(charts[name]["barWidth"] > 0 for name in ("gpc", "region", "device"))
    assert page.evaluate("() => window.__csp") == []
    assert page.evaluate("() => document.scripts.length") == 0
    snap(page, "dashboard")

    today = dt.datetime.now(dt.UTC).date().isoformat()
    row = page.locator(f'#days-table tr[data-day="{today}"]')
    shown = {key: row.locator(f'td[data-metric="{key}"]').inner_text() for key in sent if key != "gpc_visits"}
    assert shown == {key: f"{n:,}" for key, n in sent.items() if key != "gpc_visits"}  # what was sent through the API
    for key, rate in rates(sent).items():  # GPC share and rates, from the mix sent
        cell = row.locator(f'td[data-metric="{key}"]')
        assert (cell.inner_text(), cell.get_attribute("data-value")) == (percent(rate), repr(rate)), key
    whole = {key: history[key] + sent[key] for key in COUNTED}
    choices = sum(whole[key] for key in ("accept_all", "reject_all", "custom", "opt_outs"))
    tiles = {key: page.locator(f'#summary dd[data-summary="{key}"]').inner_text() for key in TILES}
    assert tiles == {
        "visits": f"{whole['visits']:,}",
        "banners_shown": f"{whole['banners_shown']:,}",
        "choices": f"{choices:,}",
        "bot_requests": f"{whole['bot_requests']:,}",
        **{key: percent(rate) for key, rate in rates(whole).items()},
    }
    download = context.request.get(f"{api}/admin/sites/demo/stats.json")  # the page's session
    assert download.status == 200
    report = download.json()
    assert report["days"][-1]["day"] == today and report["days"][-1]["humans"]["accept_all"] == sent["accept_all"]
    assert report["totals"]["gpc_visits"] == whole["gpc_visits"] and report["totals"]["choices"] == choices
    total = page.locator('#days-table tr[data-day="total"] td[data-metric="consent_rate"]')
    assert total.get_attribute("data-value") == repr(report["totals"]["consent_rate"])
    assert total.inner_text() == f"{report['totals']['consent_rate'] * 100:.1f}%"
    for day in report["days"][-14:]:
        for key in ("visits", "banners_shown"):
            cell = page.locator(f'#days-table td[data-day="{day["day"]}"][data-metric="{key}"]')
            assert cell.get_attribute("data-value") == str(day["humans"][key])

    week_ago = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=6)).isoformat()
    page.locator("#from").fill(week_ago)
    with page.expect_navigation():
        page.locator("#show").click()
    assert f"from={week_ago}" in page.url and page.locator("#days-table tbody tr").count() == 7
    assert page.locator('svg[data-chart="gpc"] rect.bar').count() == 7
    assert page.evaluate("() => window.__csp") == []

    with page.expect_navigation():
        page.locator("#logout").click()
    assert page.url.endswith("/admin/login")
    assert not any(c["name"] == "cs_admin" for c in context.cookies(f"{api}/admin/"))
    page.goto(f"{api}/admin/sites/demo/stats")
    assert "/admin/login?next=" in page.url


def test_the_dashboard_has_no_axe_violations(
    dashboard_service: Service, e2e_redis: EmbeddedRedis, make_context: ContextFactory
) -> None:
    # The page carries no script; axe is injected by the test (bypassing the page's CSP for that alone).
    api = dashboard_service.origin
    count_history(e2e_redis.url, days=3)
    send_traffic(api)
    page = new_page(make_context(viewport=SHOT_VIEWPORT, bypass_csp=True))
    page.goto(f"{api}/admin/login")
    for step in ("login", "dashboard"):
        if step == "dashboard":
            sign_in(page, api)
            page.locator("details").first.locator("summary").click()  # an opened data table too
        page.evaluate(AXE.read_text())
        result = page.evaluate(AXE_RUN)
        assert result["passes"] > 0 and result["violations"] == [], (step, result["violations"])
