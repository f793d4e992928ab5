"""The statistics report (issue 6): the store's raw counters read back as a `StatsReport`
(stats/model.py, the contract), and its export formats, JSON and CSV (the API's and the dashboard's
downloads). docs/stats.md describes what is counted and what each number means.

The field names below are the one vocabulary of the counters in Redis: stats/counter.py counts and flushes
under them, `build_report` reads them back.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TypedDict

from consent_service.core.csv_cells import Cell, csv_cell
from consent_service.core.vocab import Regime
from consent_service.stats.model import (
    BROWSERS,
    DEVICE_CLASSES,
    OPT_OUT_CHANNELS,
    OVER_LIMIT_KINDS,
    Counts,
    Day,
    StatsReport,
)
from consent_service.store.stats import RawStats, day_of

# Field names in Redis: `<metric>` for the day's total, `<metric>|<dimension>=<value>` for a split.
BANNERS_SHOWN, ACCEPT_ALL, REJECT_ALL, CUSTOM = "bs", "aa", "rj", "cu"
VISITS, GPC_VISITS = "vi", "gvi"  # experience answers (page views), and those with GPC
OPT_OUT_METRICS = {"banner": "ob", "no_js_page": "on", "agent": "oa"}  # by OPT_OUT_CHANNELS
OVER_LIMIT_METRICS = {"opt_out": "lo", "gpc": "lg"}  # by OVER_LIMIT_KINDS
DEVICE_DAYS, GPC_DEVICE_DAYS = "dv", "gv"  # a device's first request of the day (splits' unique counts)
BOT_REQUESTS = "bot"
ALLOWED, DENIED = "a.", "d."  # + purpose id
SPLITS = {"region": "r", "regime": "g", "device_class": "c", "browser": "b"}
REGION_NONE, REGION_OTHER = "none", "other"  # no region; past stats.MAX_REGIONS in a process

NOTE = (
    "Counts are per UTC day; bots are counted apart (bot_requests) and are in no other count or rate. "
    "visits are page views (experience answers) and gpc_share = gpc_visits / visits. choices are "
    "accept_all + reject_all + custom + opt-outs, each counted only when it changed the device's "
    "choices; consent_rate = accept_all / choices, opt_out_rate = (reject_all + opt-outs) / choices. "
    "`devices` and `gpc_devices` are unique devices with a device id (HyperLogLog, about 0.2% error, "
    "exact for small numbers) for each day and for `totals` (the union over the range); in the splits "
    "(by_region, by_regime, by_device_class, by_browser) they are device-days: each device once per "
    "day, counted where its first request of that day came from. over_limit counts anonymous one-click "
    "opt-outs and first GPC sightings over the per-client rate limit: honoured but not recorded (a flood, "
    "or many visitors sharing one address), and in no other count or rate."
)


# ---- the report --------------------------------------------------------------------------------------


def build_report(site: str, purposes: Sequence[str], first: dt.date, last: dt.date, raw: RawStats) -> StatsReport:
    """A StatsReport from the store's raw counters (fields named as StatsCounter._seal names them);
    `raw` holds every day from `first` to `last`."""
    seen_purposes = {
        name.partition("|")[0][2:]
        for day in raw.days.values()
        for name in day.counts
        if name.startswith((ALLOWED, DENIED))
    }
    every = (*purposes, *sorted(seen_purposes - set(purposes)))
    totals: dict[str, int] = {}
    splits: dict[str, dict[str, dict[str, int]]] = {code: {} for code in SPLITS.values()}
    days = []
    for number in sorted(raw.days):
        raw_day = raw.days[number]
        metrics: dict[str, int] = {}
        for name, n in raw_day.counts.items():
            metric, sep, label = name.partition("|")
            if not sep:
                metrics[metric] = metrics.get(metric, 0) + n
                totals[metric] = totals.get(metric, 0) + n
                continue
            code, _, value = label.partition("=")
            if code in splits:
                into = splits[code].setdefault(value, {})
                into[metric] = into.get(metric, 0) + n
        humans = _counts(metrics, every, raw_day.devices, raw_day.gpc_devices)
        days.append(Day(day_of(number).isoformat(), humans, metrics.get(BOT_REQUESTS, 0)))

    def split(code: str, order: Iterable[str]) -> dict[str, Counts]:
        found = splits[code]
        keys = [*order, *sorted(set(found) - set(order))]
        return {k: _counts(found.get(k, {}), every, None, None) for k in keys}

    regions = sorted(r for r in splits["r"] if r not in (REGION_NONE, REGION_OTHER))
    regions += [r for r in (REGION_NONE, REGION_OTHER) if r in splits["r"]]
    return StatsReport(
        site=site,
        first_day=first.isoformat(),
        last_day=last.isoformat(),
        days=tuple(days),
        totals=_counts(totals, every, raw.devices, raw.gpc_devices),
        by_region=split("r", regions),
        by_regime=split("g", [r.value for r in Regime]),
        by_device_class=split("c", DEVICE_CLASSES),
        by_browser=split("b", BROWSERS),
        bot_requests=totals.get(BOT_REQUESTS, 0),
    )


def _counts(metrics: Mapping[str, int], purposes: Sequence[str], devices: int | None, gpc: int | None) -> Counts:
    """`devices`/`gpc` None: the device-day counters of a split."""
    return Counts(
        visits=metrics.get(VISITS, 0),
        gpc_visits=metrics.get(GPC_VISITS, 0),
        banners_shown=metrics.get(BANNERS_SHOWN, 0),
        accept_all=metrics.get(ACCEPT_ALL, 0),
        reject_all=metrics.get(REJECT_ALL, 0),
        custom=metrics.get(CUSTOM, 0),
        opt_outs={channel: metrics.get(OPT_OUT_METRICS[channel], 0) for channel in OPT_OUT_CHANNELS},
        devices=metrics.get(DEVICE_DAYS, 0) if devices is None else devices,
        gpc_devices=metrics.get(GPC_DEVICE_DAYS, 0) if gpc is None else gpc,
        decisions={p: {"allowed": metrics.get(ALLOWED + p, 0), "denied": metrics.get(DENIED + p, 0)} for p in purposes},
        over_limit={kind: metrics.get(OVER_LIMIT_METRICS[kind], 0) for kind in OVER_LIMIT_KINDS},
    )


# ---- the export formats (the API's and the dashboard's downloads) ----------------------------------


class CountsJson(TypedDict):
    """A `Counts` as JSON, with its derived totals and rates (the OpenAPI document's `StatsCounts`)."""

    visits: int
    gpc_visits: int
    banners_shown: int
    accept_all: int
    reject_all: int
    custom: int
    opt_outs: dict[str, int]  # OPT_OUT_CHANNELS → n
    opt_outs_total: int
    choices: int
    devices: int
    gpc_devices: int
    decisions: dict[str, dict[str, int]]  # purpose → {"allowed": n, "denied": n}
    consent_rate: float | None  # rates: None when their denominator is 0
    opt_out_rate: float | None
    gpc_share: float | None
    over_limit: dict[str, int]  # OVER_LIMIT_KINDS → n


class DayJson(TypedDict):
    day: str  # YYYY-MM-DD (UTC)
    humans: CountsJson
    bot_requests: int


class ReportJson(TypedDict):
    """A `StatsReport` as JSON (the OpenAPI document's `StatsReport`)."""

    site: str
    first_day: str
    last_day: str
    days: list[DayJson]
    totals: CountsJson
    by_region: dict[str, CountsJson]
    by_regime: dict[str, CountsJson]
    by_device_class: dict[str, CountsJson]
    by_browser: dict[str, CountsJson]
    bot_requests: int
    note: str


def counts_json(counts: Counts) -> CountsJson:
    return {
        "visits": counts.visits,
        "gpc_visits": counts.gpc_visits,
        "banners_shown": counts.banners_shown,
        "accept_all": counts.accept_all,
        "reject_all": counts.reject_all,
        "custom": counts.custom,
        "opt_outs": dict(counts.opt_outs),
        "opt_outs_total": counts.opt_outs_total,
        "choices": counts.choices,
        "devices": counts.devices,
        "gpc_devices": counts.gpc_devices,
        "decisions": {purpose: dict(n) for purpose, n in counts.decisions.items()},
        "consent_rate": counts.consent_rate,
        "opt_out_rate": counts.opt_out_rate,
        "gpc_share": counts.gpc_share,
        "over_limit": dict(counts.over_limit),
    }


def report_json(report: StatsReport) -> ReportJson:
    """The report as JSON-ready data: the dataclasses' fields in their order, each `Counts` with its
    rates (null when their denominator is 0) and `opt_outs_total`, then a note on the method."""
    return {
        "site": report.site,
        "first_day": report.first_day,
        "last_day": report.last_day,
        "days": [
            {"day": day.day, "humans": counts_json(day.humans), "bot_requests": day.bot_requests} for day in report.days
        ],
        "totals": counts_json(report.totals),
        "by_region": {k: counts_json(v) for k, v in report.by_region.items()},
        "by_regime": {k: counts_json(v) for k, v in report.by_regime.items()},
        "by_device_class": {k: counts_json(v) for k, v in report.by_device_class.items()},
        "by_browser": {k: counts_json(v) for k, v in report.by_browser.items()},
        "bot_requests": report.bot_requests,
        "note": NOTE,
    }


CSV_COLUMNS = (
    "scope",
    "key",
    "visits",
    "gpc_visits",
    "banners_shown",
    "accept_all",
    "reject_all",
    "custom",
    "opt_outs_banner",
    "opt_outs_no_js_page",
    "opt_outs_agent",
    "choices",
    "devices",
    "gpc_devices",
    "consent_rate",
    "opt_out_rate",
    "gpc_share",
    "bot_requests",
    "over_limit_opt_out",
    "over_limit_gpc",
)
_SPLIT_SCOPES = ("region", "regime", "device_class", "browser")


def report_csv(report: StatsReport) -> str:
    """The whole report as one table, so a spreadsheet can redo every chart of the dashboard: a row
    per day (`scope` day, `key` the date, oldest first), then the range's `total`, then one row per
    group of each split (`scope` region, regime, device_class or browser; `key` the group; devices
    there are device-days). Then `decisions_<purpose>_allowed`/`_denied` per purpose. Rates with 6
    decimals, empty when their denominator is 0; `bot_requests` only on day and total rows. Counts
    and rates are written as numbers; text cells go through csv_cells.csv_cell like every CSV's."""
    purposes = list(report.totals.decisions)
    header = [*CSV_COLUMNS, *(f"decisions_{p}_{kind}" for p in purposes for kind in ("allowed", "denied"))]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_cell(name) for name in header])
    rows: list[tuple[str, str, Counts, int | None]] = [("day", d.day, d.humans, d.bot_requests) for d in report.days]
    rows.append(("total", f"{report.first_day}/{report.last_day}", report.totals, report.bot_requests))
    splits = (report.by_region, report.by_regime, report.by_device_class, report.by_browser)
    rows += [
        (scope, key, counts, None)
        for scope, split in zip(_SPLIT_SCOPES, splits, strict=True)
        for key, counts in split.items()
    ]
    for scope, key, h, bots in rows:
        row: list[Cell] = [
            scope,
            key,
            h.visits,
            h.gpc_visits,
            h.banners_shown,
            h.accept_all,
            h.reject_all,
            h.custom,
            *(h.opt_outs.get(channel, 0) for channel in OPT_OUT_CHANNELS),
            h.choices,
            h.devices,
            h.gpc_devices,
            *(
                None if rate is None else Decimal(f"{rate:.6f}")
                for rate in (h.consent_rate, h.opt_out_rate, h.gpc_share)
            ),
            bots,
            *(h.over_limit.get(kind, 0) for kind in OVER_LIMIT_KINDS),
        ]
        for purpose in purposes:
            n = h.decisions.get(purpose, {})
            row += [n.get("allowed", 0), n.get("denied", 0)]
        writer.writerow([csv_cell(cell) for cell in row])
    return out.getvalue()
