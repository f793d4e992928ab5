"""The consent statistics as the dashboard, the JSON/CSV export and the tests see them (issue 6).

Pure data, no I/O: `store/stats.py` reads raw counters, `stats/report.py` turns them into a
`StatsReport`, `web/admin/dashboard.py` renders one. Counts are per UTC day. Bots are counted apart
(`bot_requests`) and are never part of any other count or rate.

Rates (None when their denominator is 0), over answers and page views, not over devices: a visitor
who never answers has no device id, so devices cannot be the denominator.
- `consent_rate`: accept_all / choices, where choices = accept_all + reject_all + custom + opt-outs
  from every channel (of the choices people made, the share that accepted everything).
- `opt_out_rate`: (reject_all + opt-outs from every channel) / choices.
- `gpc_share`: gpc_visits / visits (of the page views that asked for the banner's experience, the
  share whose browser sent GPC).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

OPT_OUT_CHANNELS = ("banner", "no_js_page", "agent")  # how a Do-Not-Sell opt-out was made
OVER_LIMIT_KINDS = ("opt_out", "gpc")  # anonymous requests honoured without a record (ratelimit.py)
DEVICE_CLASSES = ("pc", "mobile", "tablet", "other")  # bots are counted apart
BROWSERS = ("chrome", "safari", "firefox", "edge", "samsung", "opera", "other")  # bounded label set


@dataclass(frozen=True, slots=True)
class Counts:
    """Human (non-bot) counts for one slice (a day, a region, a device class, …)."""

    visits: int = 0  # page views: experience answers (the banner asks once per page)
    gpc_visits: int = 0  # of which the browser sent GPC
    banners_shown: int = 0  # experience answers that showed the banner
    accept_all: int = 0
    reject_all: int = 0
    custom: int = 0
    opt_outs: Mapping[str, int] = field(default_factory=dict)  # channel → count (OPT_OUT_CHANNELS)
    devices: int = 0  # unique devices seen with a device id (HyperLogLog estimate)
    gpc_devices: int = 0  # unique devices that sent GPC that day (HyperLogLog estimate)
    decisions: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # purpose → allowed/denied → n
    # Anonymous one-click opt-outs and first GPC sightings over the client's rate limit: honoured
    # (carried in the token, or decided as GPC) but not recorded, and in no other count or rate.
    over_limit: Mapping[str, int] = field(default_factory=dict)  # OVER_LIMIT_KINDS → n

    @property
    def opt_outs_total(self) -> int:
        return sum(self.opt_outs.values())

    @property
    def choices(self) -> int:
        return self.accept_all + self.reject_all + self.custom + self.opt_outs_total

    @property
    def consent_rate(self) -> float | None:
        return self.accept_all / self.choices if self.choices else None

    @property
    def opt_out_rate(self) -> float | None:
        return (self.reject_all + self.opt_outs_total) / self.choices if self.choices else None

    @property
    def gpc_share(self) -> float | None:
        return self.gpc_visits / self.visits if self.visits else None


@dataclass(frozen=True, slots=True)
class Day:
    day: str  # YYYY-MM-DD (UTC)
    humans: Counts
    bot_requests: int = 0


@dataclass(frozen=True, slots=True)
class StatsReport:
    site: str
    first_day: str  # YYYY-MM-DD, inclusive
    last_day: str  # YYYY-MM-DD, inclusive
    days: tuple[Day, ...]  # every day of the range, oldest first (days without traffic: zeros)
    totals: Counts  # over the range (unique-device counts: the union over the range)
    by_region: Mapping[str, Counts]  # "US-CA", "DE", … and "none" (no region known)
    by_regime: Mapping[str, Counts]  # "opt_in", "opt_out", "notice"
    by_device_class: Mapping[str, Counts]  # DEVICE_CLASSES
    by_browser: Mapping[str, Counts]  # BROWSERS
    bot_requests: int = 0
