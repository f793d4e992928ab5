"""The statistics dashboard (issue 6): one `StatsReport` rendered as an HTML page with SVG charts.

Everything is drawn on the server: the charts are plain inline `<svg>` elements coloured by classes from
the service's own stylesheet (`/admin/admin.css`; the dashboard's rules are static/dashboard.css), so the
page works under the same strict CSP as the privacy pages (no script, no `style` attribute, no `<style>`
element). Every string is escaped.

Every number carries data attributes (`data-metric`, `data-day` or `data-group`, `data-value` with the
exact value; `data-rate` on the chart points), so tests and scripts can read the page by machine.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from html import escape
from importlib import resources

from consent_service.stats.model import DEVICE_CLASSES, Counts, Day, StatsReport

TABLE_DAYS = 30  # the daily table shows the range's last 30 days (the charts show all of it)
MAX_GROUPS = 12  # bars per chart; the chart's data table lists every group
CHOICES = (("accept_all", "Accept all"), ("reject_all", "Reject all"), ("custom", "Custom"), ("opt_outs", "Opt-outs"))
RATES = (("consent_rate", "Consent rate"), ("opt_out_rate", "Opt-out rate"))
CHANNELS = {"banner": "banner", "no_js_page": "no-JS page", "agent": "authorized agent"}
WIDTH, LEFT, RIGHT, TOP, BOTTOM = 560, 44, 12, 12, 30
PLOT_H = 180
# The dashboard's rules, served after the privacy pages' as /admin/admin.css (web/admin/pages.py); read once.
STYLESHEET = resources.files("consent_service").joinpath("static", "dashboard.css").read_bytes()


# ---- numbers --------------------------------------------------------------------------------------


def count(n: int) -> str:
    return f"{n:,}"


def percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.1f}%"


def metric(counts: Counts, name: str) -> int | float | None:
    """A count or rate of `Counts` by its column name (`opt_outs` is the total over every channel)."""
    value: int | float | None = counts.opt_outs_total if name == "opt_outs" else getattr(counts, name)
    return value


def _cell(value: int | float | None, attrs: str) -> str:
    """A table cell: the formatted number, and its exact value in `data-value` (absent for "no rate")."""
    if isinstance(value, int):
        return f'<td class="num" {attrs} data-value="{value}">{count(value)}</td>'
    exact = "" if value is None else f' data-value="{value!r}"'
    return f'<td class="num" {attrs}{exact}>{percent(value)}</td>'


def _attr(value: str) -> str:
    return escape(value, quote=True)


# ---- the page ---------------------------------------------------------------------------------------


def admin_document(title: str, main: str, *, dash: bool = False) -> str:
    """A whole admin page around `main` (already HTML): no script, only the service's own stylesheet."""
    extra = " dash" if dash else ""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{escape(title)}</title>
<link rel="stylesheet" href="/admin/admin.css">
</head>
<body>
<main class="wide{extra}">
{main}
</main>
</body>
</html>
"""


def message_page(title: str, message: str, *, link: tuple[str, str] | None = None) -> str:
    """A short page that says one thing (not found, forbidden, unavailable), with an optional way on."""
    more = f'<p><a href="{_attr(link[0])}">{escape(link[1])}</a></p>' if link else ""
    return admin_document(title, f'<h1>{escape(title)}</h1>\n<p id="message">{escape(message)}</p>\n{more}')


def render_dashboard(
    report: StatsReport, *, logout_csrf: str, sites: Sequence[str] = (), problem: str | None = None
) -> str:
    """The whole dashboard for one report; `sites` are the session's other sites (links to them)."""
    s, first, last = escape(report.site), escape(report.first_day), escape(report.last_day)
    base = f"/admin/sites/{_attr(report.site)}/stats"
    query = f"from={first}&amp;to={last}"
    note = f'<p class="problem" role="alert" id="problem">{escape(problem)}</p>' if problem else ""
    main = f"""<header class="top">
<div><h1>Consent statistics: <span id="site">{s}</span></h1>
<p class="meta" id="range">{first} to {last} (UTC days). Bots are counted apart and left out of every rate.</p></div>
<form method="post" action="/admin/logout"><input type="hidden" name="csrf" value="{_attr(logout_csrf)}">
<button type="submit" class="quiet" id="logout">Sign out</button></form>
</header>
{_site_links(sites, report.site)}{note}
<form method="get" action="{base}" class="range" id="range-form">
<label>From <input type="date" name="from" id="from" value="{first}" required></label>
<label>To <input type="date" name="to" id="to" value="{last}" required></label>
<button type="submit" id="show">Show</button>
<span class="export">Download: <a id="csv" href="{base}.csv?{query}">CSV</a> ·
<a id="json" href="{base}.json?{query}">JSON</a></span>
</form>
{_summary(report)}
<div class="charts">
{_rates_chart(report.days)}
{_gpc_chart(report.days)}
{_choices_chart("region", "Choices by region", _by_size(report.by_region))}
{_choices_chart("device", "Choices by device type", _by_order(report.by_device_class, DEVICE_CLASSES))}
</div>
{_daily_table(report)}"""
    return admin_document(f"Consent statistics: {report.site}", main, dash=True)


def _site_links(sites: Sequence[str], current: str) -> str:
    others = [s for s in sites if s != current]
    if not others:
        return ""
    links = " · ".join(f'<a href="/admin/sites/{_attr(s)}/stats">{escape(s)}</a>' for s in others)
    return f'<nav class="links" id="sites">Other sites: {links}</nav>\n'


def _summary(report: StatsReport) -> str:
    t = report.totals
    tiles = [
        ("visits", "Page views", count(t.visits)),
        ("banners_shown", "Banners shown", count(t.banners_shown)),
        ("choices", "Choices made", count(t.choices)),
        ("consent_rate", "Consent rate", percent(t.consent_rate)),
        ("opt_out_rate", "Opt-out rate", percent(t.opt_out_rate)),
        ("gpc_share", "Page views with GPC", percent(t.gpc_share)),
        ("bot_requests", "Bot requests (apart)", count(report.bot_requests)),
    ]
    items = "".join(f'<div><dt>{label}</dt><dd data-summary="{k}">{v}</dd></div>' for k, label, v in tiles)
    channels = " · ".join(
        f'{escape(CHANNELS.get(c, c))} <span data-channel="{_attr(c)}">{count(n)}</span>' for c, n in t.opt_outs.items()
    )
    by_channel = f'<p class="meta" id="channels">Do-Not-Sell opt-outs by channel: {channels}</p>' if channels else ""
    return f'<dl class="tiles" id="summary">{items}</dl>\n{by_channel}'


# ---- charts ---------------------------------------------------------------------------------------


def _figure(name: str, title: str, desc: str, height: int, body: str, *, legend: str = "", after: str = "") -> str:
    return f"""<figure class="chart" id="chart-{name}">
<figcaption id="{name}-title">{escape(title)}</figcaption>
{legend}<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" \
aria-labelledby="{name}-svg-title {name}-desc" data-chart="{name}">
<title id="{name}-svg-title">{escape(title)}</title>
<desc id="{name}-desc">{escape(desc)}</desc>
{body}
</svg>
{after}</figure>"""


def _legend(items: Sequence[tuple[str, str]]) -> str:
    keys = "".join(f'<li><span class="key s-{k}"></span>{escape(label)}</li>' for k, label in items)
    return f'<ul class="legend" aria-hidden="true">{keys}</ul>\n'


def _band(days: Sequence[Day]) -> Callable[[int], float]:
    """The x of day `i`'s centre: the range split into equal bands, one per day."""
    width = (WIDTH - LEFT - RIGHT) / max(len(days), 1)
    return lambda i: LEFT + (i + 0.5) * width


def _rate_top(rates: Iterable[float | None]) -> float:
    """The y axis' top: 100% (rates are shares of choices or of page views, so never more; the
    steps of 25% above it only guard the drawing against a report built some other way)."""
    highest = max((r for r in rates if r is not None), default=0.0)
    return max(1.0, math.ceil(highest * 4) / 4)


def _rate_axes(days: Sequence[Day], top: float) -> str:
    """Five gridlines from 0 to `top`, and about seven day labels (MM-DD) under the bands."""
    lines = []
    for k in range(5):
        rate = top * k / 4
        y = TOP + PLOT_H * (1 - rate / top)
        lines.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        lines.append(f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{rate * 100:.0f}%</text>')
    x, step = _band(days), max(1, math.ceil(len(days) / 7))
    shown = list(range(0, len(days), step))
    if shown and shown[-1] != len(days) - 1:  # always the last day; it replaces a label too close to it
        shown[-1 if len(days) - 1 - shown[-1] < step / 2 else len(shown) :] = [len(days) - 1]
    for i in shown:
        label = escape(days[i].day[5:])
        lines.append(f'<text class="tick" x="{x(i):.1f}" y="{TOP + PLOT_H + 18}" text-anchor="middle">{label}</text>')
    return "\n".join(lines)


def _rates_chart(days: Sequence[Day]) -> str:
    """(a) The consent rate and the opt-out rate per day: a line each, broken where a day has no choice."""
    top = _rate_top(metric(d.humans, k) for d in days for k, _ in RATES)
    x, parts, dot = _band(days), [_rate_axes(days, top)], 3.5 if len(days) <= 62 else 1.5

    def y(rate: float) -> float:
        return TOP + PLOT_H * (1 - rate / top)

    for key, label in RATES:
        points = [(i, metric(d.humans, key)) for i, d in enumerate(days)]
        segments: list[list[str]] = [[]]
        for i, rate in points:
            if rate is None:
                segments.append([])
            else:
                segments[-1].append(f"{x(i):.1f},{y(rate):.1f}")
        for seg in (s for s in segments if len(s) > 1):
            parts.append(f'<polyline class="line s-{key}" points="{" ".join(seg)}"/>')
        for i, rate in points:
            if rate is not None:
                tip = f"{days[i].day}: {label.lower()} {percent(rate)}"
                parts.append(
                    f'<circle class="dot s-{key}" cx="{x(i):.1f}" cy="{y(rate):.1f}" r="{dot}" data-series="{key}" '
                    f'data-day="{_attr(days[i].day)}" data-rate="{rate!r}"><title>{escape(tip)}</title></circle>'
                )
    what = "Daily consent rate (accept all / choices) and opt-out rate ((reject all + opt-outs) / choices)"
    title, height = "Consent rate and opt-out rate per day", TOP + PLOT_H + BOTTOM
    return _figure("rates", title, _range_desc(days, what), height, "\n".join(parts), legend=_legend(RATES))


def _gpc_chart(days: Sequence[Day]) -> str:
    """(b) The share of page views whose browser sent GPC, per day: one column a day."""
    x, parts = _band(days), [_rate_axes(days, 1.0)]
    width = (WIDTH - LEFT - RIGHT) / max(len(days), 1) * 0.7
    for i, d in enumerate(days):
        share = d.humans.gpc_share
        if share is None:
            continue
        tip = f"{d.day}: {percent(share)} of {count(d.humans.visits)} page views sent GPC"
        parts.append(
            f'<rect class="bar s-gpc" x="{x(i) - width / 2:.1f}" y="{TOP + PLOT_H * (1 - share):.1f}" '
            f'width="{width:.1f}" height="{PLOT_H * share:.1f}" data-series="gpc_share" data-day="{_attr(d.day)}" '
            f'data-rate="{share!r}"><title>{escape(tip)}</title></rect>'
        )
    desc = _range_desc(days, "Daily share of page views whose browser sent Global Privacy Control (Sec-GPC: 1)")
    height = TOP + PLOT_H + BOTTOM
    return _figure("gpc", "Page views with GPC per day", desc, height, "\n".join(parts))


def _range_desc(days: Sequence[Day], what: str) -> str:
    span = f"from {days[0].day} to {days[-1].day}" if days else "for an empty range"
    return f"{what}, {span}. The numbers are in the daily table below."


def _by_size(groups: Mapping[str, Counts]) -> list[tuple[str, Counts]]:
    """Regions, most choices first (then by name)."""
    return sorted(groups.items(), key=lambda g: (-g[1].choices, g[0]))


def _by_order(groups: Mapping[str, Counts], order: Sequence[str]) -> list[tuple[str, Counts]]:
    """Device classes in their fixed order, any unknown ones after."""
    known = [(k, groups[k]) for k in order if k in groups]
    return known + sorted((k, v) for k, v in groups.items() if k not in order)


def _nice_ticks(top: int) -> list[int]:
    """0 and about four round steps (1, 2 or 5 × 10^k) up to at least `top`."""
    rough = max(top, 1) / 4
    magnitude = 10 ** math.floor(math.log10(rough)) if rough >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= rough)
    return list(range(0, math.ceil(max(top, 1) / step) * step + 1, step))


def _choices_chart(name: str, title: str, groups: list[tuple[str, Counts]]) -> str:
    """(c) Choices per group (region or device class): one stacked bar each, accept all → opt-outs."""
    label_w, row_h, bar_h = 96, 26, 16
    shown = groups[:MAX_GROUPS]
    ticks = _nice_ticks(max((c.choices for _, c in shown), default=0))
    plot_w = WIDTH - label_w - RIGHT - 40
    scale = plot_w / ticks[-1]
    parts = []
    axis_y = TOP + row_h * max(len(shown), 1)
    for t in ticks:
        tx = label_w + t * scale
        parts.append(f'<line class="grid" x1="{tx:.1f}" x2="{tx:.1f}" y1="{TOP}" y2="{axis_y}"/>')
        parts.append(f'<text class="tick" x="{tx:.1f}" y="{axis_y + 18}" text-anchor="middle">{count(t)}</text>')
    if not shown:
        parts.append(
            f'<text class="empty" x="{WIDTH / 2}" y="{TOP + 18}" text-anchor="middle">No choices in this range</text>'
        )
    for row, (group, counts) in enumerate(shown):
        y, g = TOP + row * row_h + (row_h - bar_h) / 2, _attr(group)
        parts.append(
            f'<text class="label" x="{label_w - 8}" y="{y + bar_h - 3:.1f}" text-anchor="end">{escape(group)}</text>'
        )
        offset = float(label_w)
        for key, label in CHOICES:
            value = metric(counts, key)
            assert isinstance(value, int)
            if value:
                w = value * scale
                parts.append(
                    f'<rect class="bar s-{key}" x="{offset:.1f}" y="{y:.1f}" width="{w:.1f}" height="{bar_h}" '
                    f'data-group="{g}" data-metric="{key}" data-value="{value}">'
                    f"<title>{escape(f'{group}: {label.lower()} {count(value)}')}</title></rect>"
                )
                offset += w
        total = counts.choices
        parts.append(
            f'<text class="total" x="{offset + 6:.1f}" y="{y + bar_h - 3:.1f}" data-group="{g}" '
            f'data-metric="choices" data-value="{total}">{count(total)}</text>'
        )
    more = len(groups) - len(shown)
    desc = (
        f"{title}, stacked: accept all, reject all, custom, opt-outs. "
        + (f"The {len(shown)} largest of {len(groups)} are drawn; " if more else "")
        + "the numbers are in the table under the chart."
    )
    after = _group_table(name, title, groups)
    return _figure(name, title, desc, axis_y + BOTTOM, "\n".join(parts), legend=_legend(CHOICES), after=after)


GROUP_COLUMNS = (
    ("visits", "Page views"),
    ("banners_shown", "Banners shown"),
    *CHOICES,
    ("consent_rate", "Consent rate"),
    ("opt_out_rate", "Opt-out rate"),
    ("gpc_share", "GPC share"),
)


def _group_table(name: str, title: str, groups: list[tuple[str, Counts]]) -> str:
    head = "".join(f'<th scope="col" class="num">{label}</th>' for _, label in GROUP_COLUMNS)
    rows = []
    for group, counts in groups:
        attrs = f'data-group="{_attr(group)}"'
        cells = "".join(_cell(metric(counts, k), f'{attrs} data-metric="{k}"') for k, _ in GROUP_COLUMNS)
        rows.append(f'<tr {attrs}><th scope="row">{escape(group)}</th>{cells}</tr>')
    body = "\n".join(rows) or f'<tr><td colspan="{len(GROUP_COLUMNS) + 1}">No data in this range.</td></tr>'
    kind = "Region" if name == "region" else "Device type"
    return f"""<details><summary>The numbers</summary>
<div class="scroll" tabindex="0" role="region" aria-labelledby="{name}-caption">
<table id="{name}-table"><caption id="{name}-caption">{escape(title)}</caption>
<thead><tr><th scope="col">{kind}</th>{head}</tr></thead>
<tbody>
{body}
</tbody></table></div>
</details>
"""


# ---- the daily table ---------------------------------------------------------------------------------

DAY_COLUMNS = (
    ("visits", "Page views"),
    ("banners_shown", "Banners shown"),
    *CHOICES,
    ("gpc_share", "GPC share"),
    *RATES,
    ("bot_requests", "Bot requests"),
)


def _day_cells(counts: Counts, bots: int, day: str) -> str:
    attrs = f'data-day="{_attr(day)}"'
    values = [(k, bots if k == "bot_requests" else metric(counts, k)) for k, _ in DAY_COLUMNS]
    return "".join(_cell(v, f'data-metric="{k}" {attrs}') for k, v in values)


def _daily_table(report: StatsReport) -> str:
    """(d) The range's last 30 days, newest first, and the whole range's totals."""
    days = report.days[-TABLE_DAYS:][::-1]
    head = "".join(f'<th scope="col" class="num">{label}</th>' for _, label in DAY_COLUMNS)
    rows = "\n".join(
        f'<tr data-day="{_attr(d.day)}"><th scope="row">{escape(d.day)}</th>'
        f"{_day_cells(d.humans, d.bot_requests, d.day)}</tr>"
        for d in days
    )
    totals = _day_cells(report.totals, report.bot_requests, "total")
    shown = "Every day of the range" if len(report.days) <= TABLE_DAYS else f"The last {TABLE_DAYS} days of the range"
    return f"""<section id="daily">
<h2 id="daily-title">Day by day</h2>
<p class="meta">{shown}, newest first; the totals row covers the whole range.</p>
<div class="scroll" tabindex="0" role="region" aria-labelledby="daily-title"><table id="days-table">
<thead><tr><th scope="col">Date (UTC)</th>{head}</tr></thead>
<tbody>
{rows}
</tbody>
<tfoot><tr data-day="total"><th scope="row">Whole range</th>{totals}</tr></tfoot>
</table></div>
</section>"""
