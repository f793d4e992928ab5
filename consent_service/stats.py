"""Consent statistics (issue 6): counted in the process, flushed to Redis every few seconds, read back
as a `StatsReport` (stats_model.py, the contract). docs/stats.md describes what is counted and why.

The service calls the `count`-style hooks below on the request path: synchronous, no I/O, a few
dictionary updates each (a slice of counts per site, UTC day, regime, region, device class and
browser family, and per site and day the sets of device ids seen and seen with GPC). The flush
loop (`run`, started by the app's lifespan) hands the batch to the store every FLUSH_INTERVAL_S,
or earlier when the batch holds too many device ids or slices; nothing on the decision path ever
waits for Redis because of statistics.

A crash (SIGKILL, power loss) loses at most what was counted since the last flush, about five
seconds of statistics. That is acceptable for statistics, and it never touches consent records,
opt-outs or the audit trail, which are written before their answer. A normal shutdown flushes.
A flush that fails keeps its batch and retries it first next time; the store applies a batch once
(a batch number per process), so a retry after a timeout never counts twice. Failed batches are
bounded (PENDING_BATCHES, PENDING_DEVICES): past that the oldest is dropped, logged and counted as
a background error (`consent_background_errors_total`).

Bots (user-agents' `is_bot`) count one `bot_requests` per request and nothing else, so they are in
no other count and no rate. Labels are bounded: regime and device class are closed vocabularies,
browsers map onto stats_model.BROWSERS, regions are validated codes with at most MAX_REGIONS per
site and day in one process (the rest count as "other"), and purposes are the site's configured ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime as dt
import io
import logging
import secrets
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

from ua_parser import user_agent_parser

from consent_service import observability
from consent_service.model import DAY_MS, Decision, DeviceRecord
from consent_service.regions import regime_for
from consent_service.signals import device_class
from consent_service.stats_model import BROWSERS, DEVICE_CLASSES, OPT_OUT_CHANNELS, Counts, Day, StatsReport
from consent_service.store import StoreUnavailable
from consent_service.store.stats import DayCounts, RawStats, StatsStore, day_number, day_of
from consent_service.vocab import Action, DeviceClass, Regime, Source

if TYPE_CHECKING:
    from consent_service.service import Visitor
    from consent_service.sites import Site

log = logging.getLogger("consent_service")

FLUSH_INTERVAL_S = 5.0
MAX_REGIONS = 500  # distinct regions per site and day in one process; the rest count as "other"
HOLD_DEVICES = 10_000  # device ids held between flushes (every site and day); past it, flush at once
HOLD_SLICES = 10_000  # label combinations held between flushes; past it, flush at once
PENDING_BATCHES = 60  # failed batches kept for a retry (5 minutes of flushes); past it, the oldest goes
PENDING_DEVICES = 100_000  # device ids held in failed batches, at most
READ_TIMEOUT_S = 10.0  # a report reads 16 shards x days of hashes and HyperLogLogs
REGION_NONE, REGION_OTHER = "none", "other"

# Field names in Redis: `<metric>` for the day's total, `<metric>|<dimension>=<value>` for a split.
BANNERS_SHOWN, ACCEPT_ALL, REJECT_ALL, CUSTOM = "bs", "aa", "rj", "cu"
VISITS, GPC_VISITS = "vi", "gvi"  # experience answers (page views), and those with GPC
OPT_OUT_METRICS = {"banner": "ob", "no_js_page": "on", "agent": "oa"}  # by OPT_OUT_CHANNELS
DEVICE_DAYS, GPC_DEVICE_DAYS = "dv", "gv"  # a device's first request of the day (splits' unique counts)
BOT_REQUESTS = "bot"
ALLOWED, DENIED = "a.", "d."  # + purpose id
SPLITS = {"region": "r", "regime": "g", "device_class": "c", "browser": "b"}
_ACTIONS = {Action.ACCEPT_ALL: ACCEPT_ALL, Action.REJECT_ALL: REJECT_ALL, Action.CUSTOM: CUSTOM}
_CHANNELS = {Source.NO_JS_FORM: "no_js_page", Source.AGENT: "agent"}  # any other source: "banner"

NOTE = (
    "Counts are per UTC day; bots are counted apart (bot_requests) and are in no other count or rate. "
    "visits are page views (experience answers) and gpc_share = gpc_visits / visits. choices are "
    "accept_all + reject_all + custom + opt-outs, each counted only when it changed the device's "
    "choices; consent_rate = accept_all / choices, opt_out_rate = (reject_all + opt-outs) / choices. "
    "`devices` and `gpc_devices` are unique devices with a device id (HyperLogLog, about 0.2% error, "
    "exact for small numbers) for each day and for `totals` (the union over the range); in the splits "
    "(by_region, by_regime, by_device_class, by_browser) they are device-days: each device once per "
    "day, counted where its first request of that day came from."
)

# (site, day number, regime, region or None, device class, browser) → metric → count
SliceKey = tuple[str, int, Regime, str | None, DeviceClass, str]


class StatsHooks(Protocol):
    """What the service calls (StatsCounter; NO_STATS where nothing is counted)."""

    def seen(self, visitor: Visitor, record: DeviceRecord | None, unavailable: bool) -> None: ...
    def issued(self, visitor: Visitor, device_id: str, gpc: bool) -> None: ...
    def bot(self, visitor: Visitor) -> None: ...
    def banner(self, visitor: Visitor, shown: bool) -> None: ...
    def decisions(self, visitor: Visitor, decisions: Mapping[str, Decision]) -> None: ...
    def wrote(
        self,
        visitor: Visitor,
        action: Action,
        source: Source,
        device_id: str,
        record: DeviceRecord | None,
        *,
        changed: bool,
    ) -> None: ...


class _NoStats:
    def seen(self, visitor: Visitor, record: DeviceRecord | None, unavailable: bool) -> None:
        pass

    def issued(self, visitor: Visitor, device_id: str, gpc: bool) -> None:
        pass

    def bot(self, visitor: Visitor) -> None:
        pass

    def banner(self, visitor: Visitor, shown: bool) -> None:
        pass

    def decisions(self, visitor: Visitor, decisions: Mapping[str, Decision]) -> None:
        pass

    def wrote(
        self,
        visitor: Visitor,
        action: Action,
        source: Source,
        device_id: str,
        record: DeviceRecord | None,
        *,
        changed: bool,
    ) -> None:
        pass


NO_STATS: StatsHooks = _NoStats()


class StatsCounter:
    """Counts in this process; `run()` flushes them, `report()` reads every process's back.

    Access: `AppState.stats` (web.py), e.g. `await state.stats.report("demo", first, last)`."""

    def __init__(
        self,
        store: StatsStore,
        sites: Mapping[str, Site],
        *,
        timeout_s: float,
        interval_s: float = FLUSH_INTERVAL_S,
    ) -> None:
        self.interval_s = interval_s  # read on every turn of the loop (tests lengthen it, then wake())
        self._store = store
        self._sites = sites
        self._timeout_s = timeout_s
        self._writer = secrets.token_hex(6)  # this process's batches, numbered from 1
        self._seq = 0
        self._slices: dict[SliceKey, dict[str, int]] = {}
        self._bots: dict[tuple[str, int], int] = {}
        self._devices: dict[tuple[str, int], set[str]] = {}
        self._gpc: dict[tuple[str, int], set[str]] = {}
        self._held = 0  # device ids in the two maps above
        self._regions: dict[tuple[str, int], set[str]] = {}
        self._pending: deque[tuple[int, dict[tuple[str, int], DayCounts], int]] = deque()  # (seq, batch, ids)
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._failing = False

    # ---- the hooks: synchronous, no I/O, called by the service where it knows the fact --------------

    def seen(self, visitor: Visitor, record: DeviceRecord | None, unavailable: bool) -> None:
        """A decision or experience request, after its device's record was read: a bot's request,
        or a device seen (its first request of the day when its record's daily marker is older)."""
        if visitor.device_class is DeviceClass.BOT:
            self.bot(visitor)
            return
        if visitor.device is None:
            return  # no device (yet): a first GPC sighting issues one (`issued`)
        day = visitor.now_ms // DAY_MS
        gpc = visitor.gpc_now  # sending GPC now (a device that sent it once and stopped is not counted)
        if record is None:  # a first GPC sighting writes its record now; without GPC nothing is written
            first = first_gpc = gpc and not unavailable
        else:
            first = record.refreshed_day != day
            first_gpc = gpc and (first or record.gpc_last_day != day)  # its first GPC request today
        self._device(visitor, visitor.device.device_id, gpc, first, first_gpc)

    def issued(self, visitor: Visitor, device_id: str, gpc: bool) -> None:
        """A first GPC sighting was written: a new device when the request had none (a known one
        was counted by `seen`)."""
        if visitor.device is None:
            self._device(visitor, device_id, gpc, True, gpc)

    def bot(self, visitor: Visitor) -> None:
        key = (visitor.site.id, visitor.now_ms // DAY_MS)
        self._bots[key] = self._bots.get(key, 0) + 1

    def banner(self, visitor: Visitor, shown: bool) -> None:
        """An experience answer: a page view (with GPC or not), and a banner shown when it says
        `show: true`."""
        if visitor.device_class is DeviceClass.BOT:
            return
        counts = self._slice(visitor)
        for metric, counted in ((VISITS, True), (GPC_VISITS, visitor.gpc_now), (BANNERS_SHOWN, shown)):
            if counted:
                counts[metric] = counts.get(metric, 0) + 1

    def decisions(self, visitor: Visitor, decisions: Mapping[str, Decision]) -> None:
        """Decisions answered by the decision endpoint or the experience."""
        if visitor.device_class is DeviceClass.BOT:
            return
        counts = self._slice(visitor)
        for purpose, decision in decisions.items():
            metric = (ALLOWED if decision.allowed else DENIED) + purpose
            counts[metric] = counts.get(metric, 0) + 1

    def wrote(
        self,
        visitor: Visitor,
        action: Action,
        source: Source,
        device_id: str,
        record: DeviceRecord | None,
        *,
        changed: bool,
    ) -> None:
        """A choice recorded (or an opt-out acknowledged and carried in the token): by action, an
        opt-out by channel, when it changed the device's choices (`changed`): a second click, a
        resubmitted form or a resent choice is not a second choice. Its device is seen, unless an
        authorized agent acted for it."""
        if visitor.device_class is DeviceClass.BOT:
            return
        if changed:
            metric = _ACTIONS.get(action) or OPT_OUT_METRICS[_CHANNELS.get(source, "banner")]
            counts = self._slice(visitor)
            counts[metric] = counts.get(metric, 0) + 1
        if source is Source.AGENT:
            return
        gpc = visitor.gpc_now
        new = visitor.device is None
        self._device(visitor, device_id, gpc, new, new and gpc)

    def account_opt_out(self, site: Site, now_ms: int) -> None:
        """An authorized agent's opt-out for a whole account (no device, region or browser: the site's
        default region, device class and browser `other`)."""
        region = site.default_region
        key: SliceKey = (
            site.id,
            now_ms // DAY_MS,
            regime_for(region, site.regimes),
            region,
            DeviceClass.OTHER,
            "other",
        )
        counts = self._slices.get(key) or self._new_slice(key)
        counts[OPT_OUT_METRICS["agent"]] = counts.get(OPT_OUT_METRICS["agent"], 0) + 1

    def _device(self, visitor: Visitor, device_id: str, gpc: bool, first: bool, first_gpc: bool) -> None:
        key = (visitor.site.id, visitor.now_ms // DAY_MS)
        seen = self._devices.get(key)
        if seen is None:
            seen = self._devices[key] = set()
        if device_id not in seen:
            seen.add(device_id)
            self._held += 1
            if first:
                counts = self._slice(visitor)
                counts[DEVICE_DAYS] = counts.get(DEVICE_DAYS, 0) + 1
        if gpc:
            with_gpc = self._gpc.get(key)
            if with_gpc is None:
                with_gpc = self._gpc[key] = set()
            if device_id not in with_gpc:
                with_gpc.add(device_id)
                self._held += 1
                if first_gpc:
                    counts = self._slice(visitor)
                    counts[GPC_DEVICE_DAYS] = counts.get(GPC_DEVICE_DAYS, 0) + 1
        if self._held >= HOLD_DEVICES:
            self._wake.set()

    def _slice(self, visitor: Visitor) -> dict[str, int]:
        kind, browser = ua_labels(visitor.user_agent)
        key = (visitor.site.id, visitor.now_ms // DAY_MS, visitor.regime, visitor.region, kind, browser)
        counts = self._slices.get(key)
        return counts if counts is not None else self._new_slice(key)

    def _new_slice(self, key: SliceKey) -> dict[str, int]:
        site, day, regime, region, kind, browser = key
        if region is not None:
            regions = self._regions.get((site, day))
            if regions is None:
                regions = self._regions[(site, day)] = set()
            if region not in regions:
                if len(regions) >= MAX_REGIONS:
                    key = (site, day, regime, REGION_OTHER, kind, browser)
                    if key in self._slices:
                        return self._slices[key]
                else:
                    regions.add(region)
        counts: dict[str, int] = {}
        self._slices[key] = counts
        if len(self._slices) >= HOLD_SLICES:
            self._wake.set()
        return counts

    # ---- flushing ------------------------------------------------------------------------------------

    def wake(self) -> None:
        """Flush now (the loop's next turn), and start its next wait with the current interval."""
        self._wake.set()

    async def run(self) -> None:
        """The flush loop: every `interval_s`, or at once when a batch is full (wake())."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval_s):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.flush()
            except Exception as exc:  # a bug of ours: logged and counted, and the loop goes on
                log.error("statistics flush failed: %s", type(exc).__name__)
                observability.count_background_error()

    async def flush(self) -> bool:
        """Hand what was counted to the store, after any batch a failure kept (oldest first).
        True when nothing is left over; a failure keeps the batches for the next flush."""
        async with self._lock:
            self._seal()
            while self._pending:
                seq, batch, _ = self._pending[0]
                try:
                    await self._store.add(self._writer, seq, batch, self._timeout_s)
                except StoreUnavailable as exc:
                    if not self._failing:
                        log.warning("statistics not flushed (kept for a retry): %s", type(exc).__name__)
                    self._failing = True
                    return False
                self._pending.popleft()
            if self._failing:
                log.info("statistics flushed again")
                self._failing = False
            return True

    async def close(self) -> None:
        """The final flush at shutdown (what it cannot write is lost, and logged); never raises, so
        the rest of the shutdown runs."""
        try:
            flushed = await self.flush()
        except Exception as exc:  # a bug of ours: the shutdown goes on
            log.error("statistics flush failed at shutdown: %s", type(exc).__name__)
            flushed = False
        if not flushed:
            lost = sum(ids for _, _, ids in self._pending)
            log.warning("statistics lost at shutdown: %d batches (%d device ids)", len(self._pending), lost)

    def _seal(self) -> None:
        """Turn what was counted into a batch for the store (field names, per site and day)."""
        if not (self._slices or self._bots or self._devices):
            return
        batch: dict[tuple[str, int], DayCounts] = {}
        for (site, day, regime, region, kind, browser), counts in self._slices.items():
            fields = batch.setdefault((site, day), DayCounts()).counts
            splits = ("", f"|g={regime.value}", f"|r={region or REGION_NONE}", f"|c={kind.value}", f"|b={browser}")
            for metric, n in counts.items():
                for split in splits:
                    name = metric + split
                    fields[name] = fields.get(name, 0) + n
        for key, n in self._bots.items():
            fields = batch.setdefault(key, DayCounts()).counts
            fields[BOT_REQUESTS] = fields.get(BOT_REQUESTS, 0) + n
        for key, ids in self._devices.items():
            batch.setdefault(key, DayCounts()).devices = ids
        for key, ids in self._gpc.items():
            batch.setdefault(key, DayCounts()).gpc_devices = ids
        self._seq += 1
        self._pending.append((self._seq, batch, self._held))
        self._slices, self._bots, self._devices, self._gpc, self._held = {}, {}, {}, {}, 0
        while len(self._pending) > PENDING_BATCHES or (
            len(self._pending) > 1 and sum(ids for _, _, ids in self._pending) > PENDING_DEVICES
        ):
            self._pending.popleft()
            log.error("statistics dropped: a batch could not be flushed in time")
            observability.count_background_error()
        yesterday = time.time_ns() // 1_000_000 // DAY_MS - 1
        self._regions = {key: regions for key, regions in self._regions.items() if key[1] >= yesterday}

    # ---- reading ---------------------------------------------------------------------------------------

    async def report(self, site: str, first_day: dt.date | str, last_day: dt.date | str) -> StatsReport:
        """The statistics of a site for a range of UTC days (inclusive), every process's: this
        process's counts are flushed first, other processes' are at most one interval old. Raises
        StoreUnavailable when Redis cannot be read."""
        first = first_day if isinstance(first_day, dt.date) else dt.date.fromisoformat(first_day)
        last = last_day if isinstance(last_day, dt.date) else dt.date.fromisoformat(last_day)
        await self.flush()
        raw = await self._store.read(site, day_number(first), day_number(last), max(self._timeout_s, READ_TIMEOUT_S))
        configured = self._sites.get(site)
        return build_report(site, tuple(configured.purposes) if configured else (), first, last, raw)


# ---- labels ----------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def ua_labels(user_agent: str | None) -> tuple[DeviceClass, str]:
    """Device class and browser family (one of BROWSERS) of a User-Agent string. Cached, like
    signals.device_class; a string it just parsed is still in ua_parser's own cache, so a new one
    is not parsed twice."""
    kind = device_class(user_agent)
    if not user_agent or kind is DeviceClass.BOT:
        return kind, "other"
    family = user_agent_parser.ParseUserAgent(user_agent[:1024])["family"]  # type: ignore[no-untyped-call]
    return kind, browser_of(str(family))


_BROWSER_PREFIXES = (
    ("chrome", "chrome"),  # Chrome, Chrome Mobile, Chrome Mobile iOS, Chrome Mobile WebView
    ("chromium", "chrome"),
    ("headlesschrome", "chrome"),
    ("mobile safari", "safari"),  # also Mobile Safari UI/WKWebView (in-app views)
    ("safari", "safari"),
    ("firefox", "firefox"),  # Firefox, Firefox Mobile, Firefox iOS
    ("edge", "edge"),
    ("samsung", "samsung"),
    ("opera", "opera"),  # Opera, Opera Mobile, Opera Mini
)


def browser_of(family: str) -> str:
    name = family.lower()
    return next((browser for prefix, browser in _BROWSER_PREFIXES if name.startswith(prefix)), "other")


# ---- the report --------------------------------------------------------------------------------------


def build_report(site: str, purposes: Sequence[str], first: dt.date, last: dt.date, raw: RawStats) -> StatsReport:
    """A StatsReport from the store's raw counters (fields named as `_seal` names them); `raw`
    holds every day from `first` to `last`."""
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
    )


# ---- the export formats (the API's and the dashboard's downloads) ----------------------------------


def counts_json(counts: Counts) -> dict[str, Any]:
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
    }


def report_json(report: StatsReport) -> dict[str, Any]:
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
)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets start a formula with (as in audit.py)
_SPLIT_SCOPES = ("region", "regime", "device_class", "browser")


def report_csv(report: StatsReport) -> str:
    """The whole report as one table, so a spreadsheet can redo every chart of the dashboard: a row
    per day (`scope` day, `key` the date, oldest first), then the range's `total`, then one row per
    group of each split (`scope` region, regime, device_class or browser; `key` the group; devices
    there are device-days). Then `decisions_<purpose>_allowed`/`_denied` per purpose. Rates with 6
    decimals, empty when their denominator is 0; `bot_requests` only on day and total rows."""
    purposes = list(report.totals.decisions)
    header = [*CSV_COLUMNS, *(f"decisions_{p}_{kind}" for p in purposes for kind in ("allowed", "denied"))]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    rows: list[tuple[str, str, Counts, int | str]] = [("day", d.day, d.humans, d.bot_requests) for d in report.days]
    rows.append(("total", f"{report.first_day}/{report.last_day}", report.totals, report.bot_requests))
    splits = (report.by_region, report.by_regime, report.by_device_class, report.by_browser)
    rows += [
        (scope, key, counts, "")
        for scope, split in zip(_SPLIT_SCOPES, splits, strict=True)
        for key, counts in split.items()
    ]
    for scope, key, h, bots in rows:
        row: list[object] = [
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
            *("" if rate is None else f"{rate:.6f}" for rate in (h.consent_rate, h.opt_out_rate, h.gpc_share)),
            bots,
        ]
        for purpose in purposes:
            n = h.decisions.get(purpose, {})
            row += [n.get("allowed", 0), n.get("denied", 0)]
        writer.writerow(["'" + v if v[:1] in _FORMULA else v for v in map(str, row)])
    return out.getvalue()
