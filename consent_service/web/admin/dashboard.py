"""The statistics dashboard (issue 6): one `StatsReport` rendered as an HTML page with SVG charts.

Everything is drawn on the server: the charts are plain inline SVG coloured by classes from the
service's own stylesheet (`/admin/admin.css`; the dashboard's rules are static/dashboard.css), so the
page works under the same strict CSP as the privacy pages (no script, no `style` attribute, no style
element). This module puts the report's numbers in order (tiles, charts, tables) and formats them;
the charts' geometry is charts.py; the templates (web/templates/admin/) mark it all up, every string
escaped.

Every number carries data attributes (`data-metric`, `data-day` or `data-group`, `data-value` with the
exact value; `data-rate` on the chart points), so tests and scripts can read the page by machine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from consent_service.stats.model import DEVICE_CLASSES, Counts, StatsReport
from consent_service.web.admin.charts import (
    CHOICES,
    RATES,
    choices_chart,
    count,
    gpc_chart,
    metric,
    percent,
    rates_chart,
)
from consent_service.web.templating import render

TABLE_DAYS = 30  # the daily table shows the range's last 30 days (the charts show all of it)
CHANNELS = {"banner": "banner", "no_js_page": "no-JS page", "agent": "authorized agent"}
GROUP_COLUMNS = (
    ("visits", "Page views"),
    ("banners_shown", "Banners shown"),
    *CHOICES,
    ("consent_rate", "Consent rate"),
    ("opt_out_rate", "Opt-out rate"),
    ("gpc_share", "GPC share"),
)
DAY_COLUMNS = (
    ("visits", "Page views"),
    ("banners_shown", "Banners shown"),
    *CHOICES,
    ("gpc_share", "GPC share"),
    *RATES,
    ("bot_requests", "Bot requests"),
)


@dataclass(frozen=True, slots=True)
class Number:
    """A table's number: as shown, and exactly (`data-value`; None for "no rate")."""

    text: str
    exact: str | None


def number(value: int | float | None) -> Number:
    if isinstance(value, int):
        return Number(count(value), str(value))
    return Number(percent(value), None if value is None else repr(value))


def message_page(title: str, message: str, *, link: tuple[str, str] | None = None) -> str:
    """A short page that says one thing (not found, forbidden, unavailable), with an optional way on
    (`link`: its href and text)."""
    return render("admin/message.html", title=title, message=message, link=link)


def render_dashboard(
    report: StatsReport, *, logout_csrf: str, sites: Sequence[str] = (), range_error: str | None = None
) -> str:
    """The whole dashboard for one report; `sites` are the session's other sites (links to them);
    `range_error` says why the asked range was not shown (the default range is)."""
    t = report.totals
    days = report.days[-TABLE_DAYS:][::-1]  # the range's last 30 days, newest first
    regions, devices = _by_size(report.by_region), _by_order(report.by_device_class, DEVICE_CLASSES)
    return render(
        "admin/dashboard.html",
        site=report.site,
        first=report.first_day,
        last=report.last_day,
        logout_csrf=logout_csrf,
        other_sites=[s for s in sites if s != report.site],
        range_error=range_error,
        tiles=[
            ("visits", "Page views", count(t.visits)),
            ("banners_shown", "Banners shown", count(t.banners_shown)),
            ("choices", "Choices made", count(t.choices)),
            ("consent_rate", "Consent rate", percent(t.consent_rate)),
            ("opt_out_rate", "Opt-out rate", percent(t.opt_out_rate)),
            ("gpc_share", "Page views with GPC", percent(t.gpc_share)),
            ("bot_requests", "Bot requests (apart)", count(report.bot_requests)),
        ],
        channels=[(c, CHANNELS.get(c, c), count(n)) for c, n in t.opt_outs.items()],
        rates=rates_chart(report.days),
        gpc=gpc_chart(report.days),
        by_region=choices_chart("region", "Choices by region", regions),
        by_device=choices_chart("device", "Choices by device type", devices),
        group_columns=GROUP_COLUMNS,
        region_rows=_group_rows(regions),
        device_rows=_group_rows(devices),
        day_columns=DAY_COLUMNS,
        day_rows=[(d.day, _day_cells(d.humans, d.bot_requests)) for d in days],
        totals=_day_cells(report.totals, report.bot_requests),
        all_days=len(report.days) <= TABLE_DAYS,
        table_days=TABLE_DAYS,
    )


def _by_size(groups: Mapping[str, Counts]) -> list[tuple[str, Counts]]:
    """Regions, most choices first (then by name)."""
    return sorted(groups.items(), key=lambda g: (-g[1].choices, g[0]))


def _by_order(groups: Mapping[str, Counts], order: Sequence[str]) -> list[tuple[str, Counts]]:
    """Device classes in their fixed order, any unknown ones after."""
    known = [(k, groups[k]) for k in order if k in groups]
    return known + sorted((k, v) for k, v in groups.items() if k not in order)


def _group_rows(groups: list[tuple[str, Counts]]) -> list[tuple[str, list[tuple[str, Number]]]]:
    """Every group of a chart (also those past the bars drawn), a number per column."""
    return [(group, [(k, number(metric(counts, k))) for k, _ in GROUP_COLUMNS]) for group, counts in groups]


def _day_cells(counts: Counts, bots: int) -> list[tuple[str, Number]]:
    return [(k, number(bots if k == "bot_requests" else metric(counts, k))) for k, _ in DAY_COLUMNS]
