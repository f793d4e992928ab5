"""Consent statistics (issue 6): counted in the process, flushed to Redis every few seconds, read back
as a `StatsReport` (stats/model.py, the contract; stats/report.py builds it from the counters and
exports it, and names their fields). docs/stats.md describes what is counted and why.

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
browsers map onto stats.model.BROWSERS, regions are validated codes with at most MAX_REGIONS per
site and day in one process (the rest count as "other"), and purposes are the site's configured ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
from collections import deque
from collections.abc import Mapping

from consent_service.core.clock import DAY_MS, now_ms
from consent_service.core.model import Decision, DeviceRecord
from consent_service.core.regions import regime_for
from consent_service.core.signals import ua_labels
from consent_service.core.site import Site
from consent_service.core.visitor import Visitor
from consent_service.core.vocab import Action, DeviceClass, Regime, Source
from consent_service.obs import metrics
from consent_service.stats.model import OVER_LIMIT_KINDS, StatsReport
from consent_service.stats.report import (
    ACCEPT_ALL,
    ALLOWED,
    BANNERS_SHOWN,
    BOT_REQUESTS,
    CUSTOM,
    DENIED,
    DEVICE_DAYS,
    GPC_DEVICE_DAYS,
    GPC_VISITS,
    OPT_OUT_METRICS,
    OVER_LIMIT_METRICS,
    REGION_NONE,
    REGION_OTHER,
    REJECT_ALL,
    VISITS,
    build_report,
)
from consent_service.store import StoreUnavailable
from consent_service.store.stats import DayCounts, StatsStore, day_number

log = logging.getLogger("consent_service")

FLUSH_INTERVAL_S = 5.0
MAX_REGIONS = 500  # distinct regions per site and day in one process; the rest count as "other"
HOLD_DEVICES = 10_000  # device ids held between flushes (every site and day); past it, flush at once
HOLD_SLICES = 10_000  # label combinations held between flushes; past it, flush at once
PENDING_BATCHES = 60  # failed batches kept for a retry (5 minutes of flushes); past it, the oldest goes
PENDING_DEVICES = 100_000  # device ids held in failed batches, at most
READ_TIMEOUT_S = 10.0  # a report reads 16 shards x days of hashes and HyperLogLogs

_ACTIONS = {Action.ACCEPT_ALL: ACCEPT_ALL, Action.REJECT_ALL: REJECT_ALL, Action.CUSTOM: CUSTOM}
_CHANNELS = {Source.NO_JS_FORM: "no_js_page", Source.AGENT: "agent"}  # any other source: "banner"

# (site, day number, regime, region or None, device class, browser) → metric → count
SliceKey = tuple[str, int, Regime, str | None, DeviceClass, str]


class StatsCounter:
    """Counts in this process; `run()` flushes them, `report()` reads every process's back.

    Access: `AppState.stats` (web/state.py), e.g. `await state.stats.report("demo", first, last)`."""

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

    def over_limit(self, visitor: Visitor, *, gpc: bool) -> None:
        """An anonymous one-click opt-out (carried in its token) or first GPC sighting (decided, not
        recorded) over the client's rate limit: counted apart, in no other count or rate, so that a
        flood neither inflates the opt-outs nor goes unseen."""
        if visitor.device_class is DeviceClass.BOT:
            return
        counts = self._slice(visitor)
        metric = OVER_LIMIT_METRICS["gpc" if gpc else "opt_out"]
        counts[metric] = counts.get(metric, 0) + 1

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
                metrics.count_background_error()

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
            metrics.count_background_error()
        yesterday = now_ms() // DAY_MS - 1
        self._regions = {key: regions for key, regions in self._regions.items() if key[1] >= yesterday}

    # ---- reading ---------------------------------------------------------------------------------------

    async def year_over_limit(self, site: str, year: int) -> dict[str, int]:
        """A calendar year's anonymous requests honoured without a record (`over_limit`), up to today,
        for the §7102 request metrics (request_metrics.py)."""
        first, last = dt.date(year, 1, 1), min(dt.date(year, 12, 31), dt.datetime.now(dt.UTC).date())
        if first > last:
            return dict.fromkeys(OVER_LIMIT_KINDS, 0)
        return dict((await self.report(site, first, last)).totals.over_limit)

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
