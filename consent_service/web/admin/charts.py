"""The dashboard's charts (issue 6) as data: the geometry of each SVG chart, computed here, drawn by
the template (web/templates/admin/charts.html) as plain inline SVG coloured by the stylesheet's
classes. No script, no `style` attribute: the strict CSP holds.

A chart is a list of marks in drawing order (gridlines and their ticks first, then the series):
`Grid` lines, `Label` texts, `Line` polylines, `Dot` circles and `Bar` rectangles, each with its
coordinates formatted (one decimal) and, on the marks that carry a number, its exact value in data
attributes (`data-rate` on the points, `data-value` on the bars and totals) so that tests and scripts
read the chart by machine. A point or bar also has a tooltip (its SVG title).

Every text (titles, descriptions, legends, tooltips, the axes' numbers) is in the reader's language
(`Words`, web/admin/words.py); the data attributes are exact and the same in every language.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from consent_service.stats.model import Counts, Day
from consent_service.web.admin.words import N_, Words

MAX_GROUPS = 12  # bars per chart; the chart's data table lists every group
CHOICES = (
    ("accept_all", N_("Accept all")),
    ("reject_all", N_("Reject all")),
    ("custom", N_("Custom")),
    ("opt_outs", N_("Opt-outs")),
)
RATES = (("consent_rate", N_("Consent rate")), ("opt_out_rate", N_("Opt-out rate")))
# The tooltips, a whole text per series: a label lower-cased into a sentence is no word in every language.
RATE_TIPS = {
    # Translators: a chart point's tooltip; %(day)s is a date (YYYY-MM-DD), %(rate)s a percentage.
    "consent_rate": N_("%(day)s: consent rate %(rate)s"),
    "opt_out_rate": N_("%(day)s: opt-out rate %(rate)s"),
}
CHOICE_TIPS = {
    # Translators: a bar's tooltip (and the next three); %(group)s is a region code (US-CA) or a device
    # type, %(count)s the number of such choices.
    "accept_all": N_("%(group)s: accept all %(count)s"),
    "reject_all": N_("%(group)s: reject all %(count)s"),
    "custom": N_("%(group)s: custom %(count)s"),
    "opt_outs": N_("%(group)s: opt-outs %(count)s"),
}
WIDTH, LEFT, RIGHT, TOP, BOTTOM = 560, 44, 12, 12, 30
PLOT_H = 180


def labels(table: Sequence[tuple[str, str]], words: Words) -> list[tuple[str, str]]:
    """A table of (key, English label) with its labels in `words`' language."""
    return [(key, words.gettext(label)) for key, label in table]


def metric(counts: Counts, name: str) -> int | float | None:
    """A count or rate of `Counts` by its column name (`opt_outs` is the total over every channel)."""
    value: int | float | None = counts.opt_outs_total if name == "opt_outs" else getattr(counts, name)
    return value


# ---- marks --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Grid:
    x1: str
    x2: str
    y1: str
    y2: str
    kind: Literal["grid"] = "grid"


@dataclass(frozen=True, slots=True)
class Label:
    """A text: an axis tick, a group's name, a bar's total, or the empty chart's note."""

    css: Literal["tick", "label", "total", "empty"]
    x: str
    y: str
    text: str
    anchor: str | None = None  # text-anchor
    data: Mapping[str, str] = field(default_factory=dict)
    kind: Literal["label"] = "label"


@dataclass(frozen=True, slots=True)
class Line:
    series: str
    points: str
    kind: Literal["line"] = "line"


@dataclass(frozen=True, slots=True)
class Dot:
    series: str
    cx: str
    cy: str
    r: str
    data: Mapping[str, str]
    tip: str
    kind: Literal["dot"] = "dot"


@dataclass(frozen=True, slots=True)
class Bar:
    series: str
    x: str
    y: str
    width: str
    height: str
    data: Mapping[str, str]
    tip: str
    kind: Literal["bar"] = "bar"


Mark = Grid | Label | Line | Dot | Bar


@dataclass(frozen=True, slots=True)
class Chart:
    """One figure: its caption (and SVG title), its description for screen readers, its marks."""

    name: str
    title: str
    desc: str
    height: int
    marks: list[Mark]
    legend: Sequence[tuple[str, str]] = ()  # (series, label)
    width: int = WIDTH


def _f(value: float) -> str:
    return f"{value:.1f}"


# ---- the rates and the GPC share per day ----------------------------------------------------------------


def _band(days: Sequence[Day]) -> Callable[[int], float]:
    """The x of day `i`'s centre: the range split into equal bands, one per day."""
    width = (WIDTH - LEFT - RIGHT) / max(len(days), 1)
    return lambda i: LEFT + (i + 0.5) * width


def _rate_top(rates: Iterable[float | None]) -> float:
    """The y axis' top: 100% (rates are shares of choices or of page views, so never more; the
    steps of 25% above it only guard the drawing against a report built some other way)."""
    highest = max((r for r in rates if r is not None), default=0.0)
    return max(1.0, math.ceil(highest * 4) / 4)


def _rate_axes(days: Sequence[Day], top: float, words: Words) -> list[Mark]:
    """Five gridlines from 0 to `top`, and about seven day labels (MM-DD) under the bands."""
    marks: list[Mark] = []
    for k in range(5):
        rate = top * k / 4
        y = TOP + PLOT_H * (1 - rate / top)
        marks.append(Grid(str(LEFT), str(WIDTH - RIGHT), _f(y), _f(y)))
        marks.append(Label("tick", str(LEFT - 6), _f(y + 4), words.whole_percent(rate), "end"))
    x, step = _band(days), max(1, math.ceil(len(days) / 7))
    shown = list(range(0, len(days), step))
    if shown and shown[-1] != len(days) - 1:  # always the last day; it replaces a label too close to it
        shown[-1 if len(days) - 1 - shown[-1] < step / 2 else len(shown) :] = [len(days) - 1]
    for i in shown:
        marks.append(Label("tick", _f(x(i)), str(TOP + PLOT_H + 18), days[i].day[5:], "middle"))
    return marks


def rates_chart(days: Sequence[Day], words: Words) -> Chart:
    """(a) The consent rate and the opt-out rate per day: a line each, broken where a day has no choice."""
    top = _rate_top(metric(d.humans, k) for d in days for k, _ in RATES)
    x, marks, dot = _band(days), _rate_axes(days, top, words), 3.5 if len(days) <= 62 else 1.5

    def y(rate: float) -> float:
        return TOP + PLOT_H * (1 - rate / top)

    for key, _ in RATES:
        points = [(i, metric(d.humans, key)) for i, d in enumerate(days)]
        segments: list[list[str]] = [[]]
        for i, rate in points:
            if rate is None:
                segments.append([])
            else:
                segments[-1].append(f"{x(i):.1f},{y(rate):.1f}")
        marks += [Line(key, " ".join(seg)) for seg in segments if len(seg) > 1]
        for i, rate in points:
            if rate is not None:
                data = {"data-series": key, "data-day": days[i].day, "data-rate": repr(rate)}
                tip = words.gettext(RATE_TIPS[key], day=days[i].day, rate=words.percent(rate))
                marks.append(Dot(key, _f(x(i)), _f(y(rate)), str(dot), data, tip))
    if days:
        desc = words.gettext(
            "Daily consent rate (accept all / choices) and opt-out rate ((reject all + opt-outs) / choices), "
            "from %(first)s to %(last)s. The numbers are in the daily table below.",
            first=days[0].day,
            last=days[-1].day,
        )
    else:
        desc = words.gettext(
            "Daily consent rate (accept all / choices) and opt-out rate ((reject all + opt-outs) / choices), "
            "for an empty range. The numbers are in the daily table below."
        )
    title = words.gettext("Consent rate and opt-out rate per day")
    return Chart("rates", title, desc, TOP + PLOT_H + BOTTOM, marks, labels(RATES, words))


def gpc_chart(days: Sequence[Day], words: Words) -> Chart:
    """(b) The share of page views whose browser sent GPC, per day: one column a day."""
    x, marks = _band(days), _rate_axes(days, 1.0, words)
    width = (WIDTH - LEFT - RIGHT) / max(len(days), 1) * 0.7
    for i, d in enumerate(days):
        share = d.humans.gpc_share
        if share is None:
            continue
        # Translators: a column's tooltip; %(share)s is a percentage, %(num)s the day's page views.
        tip = words.ngettext(
            "%(day)s: %(share)s of %(num)s page view sent GPC",
            "%(day)s: %(share)s of %(num)s page views sent GPC",
            d.humans.visits,
            day=d.day,
            share=words.percent(share),
            num=words.count(d.humans.visits),
        )
        data = {"data-series": "gpc_share", "data-day": d.day, "data-rate": repr(share)}
        top, height = TOP + PLOT_H * (1 - share), PLOT_H * share
        marks.append(Bar("gpc", _f(x(i) - width / 2), _f(top), _f(width), _f(height), data, tip))
    if days:
        desc = words.gettext(
            "Daily share of page views whose browser sent Global Privacy Control (Sec-GPC: 1), "
            "from %(first)s to %(last)s. The numbers are in the daily table below.",
            first=days[0].day,
            last=days[-1].day,
        )
    else:
        desc = words.gettext(
            "Daily share of page views whose browser sent Global Privacy Control (Sec-GPC: 1), "
            "for an empty range. The numbers are in the daily table below."
        )
    return Chart("gpc", words.gettext("Page views with GPC per day"), desc, TOP + PLOT_H + BOTTOM, marks)


# ---- choices by group -----------------------------------------------------------------------------------


def _nice_ticks(top: int) -> list[int]:
    """0 and about four round steps (1, 2 or 5 × 10^k) up to at least `top`."""
    rough = max(top, 1) / 4
    magnitude = 10 ** math.floor(math.log10(rough)) if rough >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= rough)
    return list(range(0, math.ceil(max(top, 1) / step) * step + 1, step))


def choices_chart(name: str, title: str, groups: list[tuple[str, Counts]], words: Words) -> Chart:
    """(c) Choices per group (region or device class): one stacked bar each, accept all → opt-outs.
    `title` is in `words`' language already; a group is shown by its name (`group_names`)."""
    names = group_names(name, words)
    label_w, row_h, bar_h = 96, 26, 16
    shown = groups[:MAX_GROUPS]
    ticks = _nice_ticks(max((c.choices for _, c in shown), default=0))
    scale = (WIDTH - label_w - RIGHT - 40) / ticks[-1]
    marks: list[Mark] = []
    axis_y = TOP + row_h * max(len(shown), 1)
    for t in ticks:
        tx = _f(label_w + t * scale)
        marks += [Grid(tx, tx, str(TOP), str(axis_y)), Label("tick", tx, str(axis_y + 18), words.count(t), "middle")]
    if not shown:
        empty = words.gettext("No choices in this range")
        marks.append(Label("empty", str(WIDTH / 2), str(TOP + 18), empty, "middle"))
    for row, (group, counts) in enumerate(shown):
        y = TOP + row * row_h + (row_h - bar_h) / 2
        shown_as = names.get(group, group)
        marks.append(Label("label", str(label_w - 8), _f(y + bar_h - 3), shown_as, "end"))
        offset = float(label_w)
        for key, _ in CHOICES:
            value = metric(counts, key)
            assert isinstance(value, int)
            if value:
                w = value * scale
                data = {"data-group": group, "data-metric": key, "data-value": str(value)}
                tip = words.gettext(CHOICE_TIPS[key], group=shown_as, count=words.count(value))
                marks.append(Bar(key, _f(offset), _f(y), _f(w), str(bar_h), data, tip))
                offset += w
        data = {"data-group": group, "data-metric": "choices", "data-value": str(counts.choices)}
        marks.append(Label("total", _f(offset + 6), _f(y + bar_h - 3), words.count(counts.choices), data=data))
    # Translators: a bar chart's description for screen readers; %(title)s is its title ("Choices by region").
    stacked = words.gettext("%(title)s, stacked: accept all, reject all, custom, opt-outs.", title=title)
    if len(groups) > len(shown):
        where = words.ngettext(
            "The %(shown)s largest of %(total)s is drawn; the numbers are in the table under the chart.",
            "The %(shown)s largest of %(total)s are drawn; the numbers are in the table under the chart.",
            len(shown),
            shown=words.count(len(shown)),
            total=words.count(len(groups)),
        )
    else:
        where = words.gettext("The numbers are in the table under the chart.")
    return Chart(name, title, f"{stacked} {where}", axis_y + BOTTOM, marks, labels(CHOICES, words))


def group_names(kind: str, words: Words) -> dict[str, str]:
    """How a chart's groups are shown: a region by its code (`US-CA`), save `none` (no region known)
    and `other` (past the regions counted); a device class by its name."""
    if kind == "region":
        # Translators: a region's name in a chart: none = no region was known; other = the regions past
        # those counted one by one.
        return {"none": words.pgettext("region", "none"), "other": words.pgettext("region", "other")}
    # Translators: the device types (pc, mobile, tablet, other), lower case as labels in a chart.
    return {
        "pc": words.pgettext("device", "pc"),
        "mobile": words.pgettext("device", "mobile"),
        "tablet": words.pgettext("device", "tablet"),
        "other": words.pgettext("device", "other"),
    }
