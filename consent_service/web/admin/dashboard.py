"""The statistics dashboard (issue 6): one `StatsReport` rendered as an HTML page with SVG charts.

Everything is drawn on the server: the charts are plain inline SVG coloured by classes from the
service's own stylesheet (`/admin/admin.css`; the dashboard's rules are static/dashboard.css), so the
page works under the same strict CSP as the privacy pages (no script, no `style` attribute, no style
element). This module puts the report's numbers in order (tiles, charts, tables) and formats them;
the charts' geometry is charts.py; the templates (web/templates/admin/) mark it all up, every string
escaped.

Every number carries data attributes (`data-metric`, `data-day` or `data-group`, `data-value` with the
exact value; `data-rate` on the chart points), so tests and scripts can read the page by machine. Those
are exact and the same in every language; the page's texts and its numbers as shown are in the
reader's language (`Words`, web/admin/words.py: the `admin` gettext domain, CLDR number formats).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from consent_service.stats.model import DEVICE_CLASSES, Counts, StatsReport
from consent_service.web.admin.charts import (
    CHOICES,
    RATES,
    choices_chart,
    gpc_chart,
    group_names,
    labels,
    metric,
    rates_chart,
)
from consent_service.web.admin.words import N_, Words, page, words_for
from consent_service.web.validation import STATS_DEFAULT_DAYS

TABLE_DAYS = 30  # the daily table shows the range's last 30 days (the charts show all of it)
# Translators: where an opt-out came from: the banner, the opt-out page that works without JavaScript,
# or an authorized agent acting for the person (CCPA).
CHANNELS = {"banner": N_("banner"), "no_js_page": N_("no-JS page"), "agent": N_("authorized agent")}
TILES = (
    ("visits", N_("Page views")),
    ("banners_shown", N_("Banners shown")),
    ("choices", N_("Choices made")),
    ("consent_rate", N_("Consent rate")),
    ("opt_out_rate", N_("Opt-out rate")),
    ("gpc_share", N_("Page views with GPC")),
    # Translators: bots are counted apart from every other number of the page.
    ("bot_requests", N_("Bot requests (apart)")),
)
GROUP_COLUMNS = (
    ("visits", N_("Page views")),
    ("banners_shown", N_("Banners shown")),
    *CHOICES,
    ("consent_rate", N_("Consent rate")),
    ("opt_out_rate", N_("Opt-out rate")),
    ("gpc_share", N_("GPC share")),
)
DAY_COLUMNS = (
    ("visits", N_("Page views")),
    ("banners_shown", N_("Banners shown")),
    *CHOICES,
    ("gpc_share", N_("GPC share")),
    *RATES,
    ("bot_requests", N_("Bot requests")),
)


@dataclass(frozen=True, slots=True)
class Number:
    """A table's number: as shown, and exactly (`data-value`; None for "no rate")."""

    text: str
    exact: str | None


def number(value: int | float | None, words: Words) -> Number:
    if isinstance(value, int):
        return Number(words.count(value), str(value))
    return Number(words.percent(value), None if value is None else repr(value))


def message_page(words: Words, title: str, message: str, *, link: tuple[str, str] | None = None) -> str:
    """A short page that says one thing (not found, forbidden, unavailable), with an optional way on
    (`link`: its href and text); `title`, `message` and the link's text in `words`' language."""
    return page("admin/message.html", words, title=title, message=message, link=link)


def render_dashboard(
    report: StatsReport,
    *,
    logout_csrf: str,
    sites: Sequence[str] = (),
    range_error: str | None = None,
    words: Words | None = None,
) -> str:
    """The whole dashboard for one report; `sites` are the session's other sites (links to them);
    `range_error` says why the asked range was not shown (the default range is), in `words`' language
    (English without `words`)."""
    words = words or words_for()
    t = report.totals
    days = report.days[-TABLE_DAYS:][::-1]  # the range's last 30 days, newest first
    regions, devices = _by_size(report.by_region), _by_order(report.by_device_class, DEVICE_CLASSES)
    by_region = choices_chart("region", words.gettext("Choices by region"), regions, words)
    by_device = choices_chart("device", words.gettext("Choices by device type"), devices, words)
    return page(
        "admin/dashboard.html",
        words,
        site=report.site,
        first=report.first_day,
        last=report.last_day,
        logout_csrf=logout_csrf,
        other_sites=[s for s in sites if s != report.site],
        range_error=range_error,
        default_days=STATS_DEFAULT_DAYS,
        tiles=[(key, words.gettext(label), _summary(report, key, words)) for key, label in TILES],
        channels=[
            (c, words.gettext(CHANNELS[c]) if c in CHANNELS else c, words.count(n)) for c, n in t.opt_outs.items()
        ],
        rates=rates_chart(report.days, words),
        gpc=gpc_chart(report.days, words),
        by_region=by_region,
        by_device=by_device,
        group_columns=labels(GROUP_COLUMNS, words),
        region_rows=_group_rows(regions, group_names("region", words), words),
        device_rows=_group_rows(devices, group_names("device", words), words),
        day_columns=labels(DAY_COLUMNS, words),
        day_rows=[(d.day, _day_cells(d.humans, d.bot_requests, words)) for d in days],
        totals=_day_cells(report.totals, report.bot_requests, words),
        all_days=len(report.days) <= TABLE_DAYS,
        table_days=TABLE_DAYS,
    )


def _summary(report: StatsReport, key: str, words: Words) -> str:
    """A tile's number, over the whole range (bot requests: those counted apart)."""
    return number(report.bot_requests if key == "bot_requests" else metric(report.totals, key), words).text


def _by_size(groups: Mapping[str, Counts]) -> list[tuple[str, Counts]]:
    """Regions, most choices first (then by name)."""
    return sorted(groups.items(), key=lambda g: (-g[1].choices, g[0]))


def _by_order(groups: Mapping[str, Counts], order: Sequence[str]) -> list[tuple[str, Counts]]:
    """Device classes in their fixed order, any unknown ones after."""
    known = [(k, groups[k]) for k in order if k in groups]
    return known + sorted((k, v) for k, v in groups.items() if k not in order)


def _group_rows(
    groups: list[tuple[str, Counts]], names: Mapping[str, str], words: Words
) -> list[tuple[str, str, list[tuple[str, Number]]]]:
    """Every group of a chart (also those past the bars drawn): its key, its name as shown (`names`,
    else the key), a number per column."""
    return [
        (group, names.get(group, group), [(k, number(metric(counts, k), words)) for k, _ in GROUP_COLUMNS])
        for group, counts in groups
    ]


def _day_cells(counts: Counts, bots: int, words: Words) -> list[tuple[str, Number]]:
    return [(k, number(bots if k == "bot_requests" else metric(counts, k), words)) for k, _ in DAY_COLUMNS]
