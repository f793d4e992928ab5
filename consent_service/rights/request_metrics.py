"""Yearly request metrics (CCPA regs §7102), computed from the audit trail.

For each request type (opt-out of sale/sharing, split by channel; access; deletion): how many were
received, complied with (in whole or in part) and denied, and the median number of days to answer.
Computed by one pass over the year's audit entries (merged across buckets by the store), holding
only counters, so a year of entries never builds up in memory.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import TypedDict

from consent_service.core.digits import MS_DIGITS, ascii_int
from consent_service.core.vocab import RequestType, Source

# How a request reached the business, as §7102 readers think of it.
_OPT_OUT_CHANNELS: dict[str, str] = {
    Source.GPC: "gpc",
    Source.BANNER: "banner_or_link",
    Source.API: "banner_or_link",
    Source.NO_JS_FORM: "no_js_page",
    Source.AGENT: "agent",
}
CHANNELS: dict[RequestType, tuple[str, ...]] = {
    RequestType.OPT_OUT: ("gpc", "banner_or_link", "no_js_page", "agent"),
    RequestType.ACCESS: ("self", "agent"),
    RequestType.DELETE: ("self", "agent"),
}


# ---- the answer (the OpenAPI document's `RequestMetrics`) --------------------------------------


class TallyView(TypedDict):
    received: int
    complied: int
    denied: int
    median_days: float | None  # None without requests


class RequestSummary(TallyView):
    """One request type: its totals, then the same per channel (CHANNELS)."""

    channels: dict[str, TallyView]


class PartnerView(TypedDict):
    notified: int
    by_type: dict[str, int]  # event type → events delivered
    median_business_days: float | None
    max_business_days: int | None
    over_15_business_days: int
    failed: int  # events given up (dead letters) in the year


class RequestMetrics(TypedDict):
    site: str
    year: int
    requests: dict[str, RequestSummary]  # RequestType value → its summary
    partners: dict[str, PartnerView]  # partner → its notifications
    over_limit: dict[str, int]  # stats.model.OVER_LIMIT_KINDS → n
    note: str


@dataclass
class _Tally:
    received: int = 0
    complied: int = 0
    denied: int = 0
    days: Counter[int] = field(default_factory=Counter)  # days to answer → how many requests

    def add(self, denied: bool, days: int) -> None:
        self.received += 1
        if denied:
            self.denied += 1
        else:
            self.complied += 1
        self.days[days] += 1

    def view(self) -> TallyView:
        return {
            "received": self.received,
            "complied": self.complied,
            "denied": self.denied,
            "median_days": median(self.days),
        }


def median(days: Counter[int]) -> float | None:
    """The median of a histogram of whole days (the mean of the two middle values when even)."""
    total = sum(days.values())
    if total == 0:
        return None
    middle = [(total - 1) // 2, total // 2]
    values, seen = [], 0
    for value in sorted(days):
        while middle and middle[0] < seen + days[value]:
            values.append(value)
            middle.pop(0)
        seen += days[value]
    return sum(values) / 2


def channel_of(kind: RequestType, source: str) -> str:
    if kind is RequestType.OPT_OUT:
        return _OPT_OUT_CHANNELS.get(source, "banner_or_link")
    return "agent" if source == Source.AGENT else "self"


def year_range(year: int) -> tuple[int, int]:
    """[start, end] in ms, UTC, for a calendar year."""
    start = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000) - 1


PARTNER_DEADLINE_BUSINESS_DAYS = 15  # §7026(f): notify third parties within 15 business days


@dataclass
class _Notified:
    """Partner notifications (issue 7): how many, of which events, and how long after the event."""

    by_type: Counter[str] = field(default_factory=Counter)
    days: Counter[int] = field(default_factory=Counter)  # business days from event to delivery → how many
    failed: int = 0  # given up after the retry window (dead letters), until an operator replays them

    def view(self) -> PartnerView:
        late = sum(n for d, n in self.days.items() if d > PARTNER_DEADLINE_BUSINESS_DAYS)
        return {
            "notified": sum(self.by_type.values()),
            "by_type": dict(sorted(self.by_type.items())),
            "median_business_days": median(self.days),
            "max_business_days": max(self.days, default=None),
            "over_15_business_days": late,
            "failed": self.failed,
        }


async def request_metrics(
    site: str, year: int, entries: AsyncIterator[dict[str, str]], over_limit: Mapping[str, int]
) -> RequestMetrics:
    """`over_limit`: the year's anonymous requests honoured without a record (the statistics'
    `over_limit`), reported beside the requests, never added to them."""
    tallies = {kind: {channel: _Tally() for channel in CHANNELS[kind]} for kind in RequestType}
    partners: dict[str, _Notified] = {}
    async for entry in entries:
        if entry.get("a") == "partner_notified":
            _notified(partners, entry)
            continue
        if entry.get("a") == "partner_failed":
            partners.setdefault(entry.get("pt", ""), _Notified()).failed += 1
            continue
        kind_name = entry.get("rq")
        if kind_name not in set(RequestType):
            continue
        kind = RequestType(kind_name)
        answered = int(entry.get("t") or entry["_id"].split("-")[0])
        received = _ms(entry.get("rcv"), answered)
        tallies[kind][channel_of(kind, entry.get("s", ""))].add(entry.get("ans") == "denied", _days(received, answered))
    return {
        "site": site,
        "year": year,
        "requests": {kind.value: _summary(by_channel) for kind, by_channel in tallies.items()},
        "partners": {name: partners[name].view() for name in sorted(partners)},
        "over_limit": dict(over_limit),
        "note": (
            "Counted from the audit trail: the requests answered in the calendar year (UTC), as §7102 of the CCPA "
            "regulations asks. Days to answer are calendar days from receipt to the answer; requests made to "
            "this service are answered at once (0 days), an agent's request counts from the date it was received. "
            "`partners`: the events delivered to each partner in the year, and the business days (Monday to "
            "Friday, UTC) from each event to its delivery, against the 15 business days of §7026(f). "
            "`over_limit`: one-click opt-outs and first GPC signals without a device token that came over the "
            "per-client rate limit (a flood, or many visitors behind one address). Each was honoured for its "
            "browser but not recorded then, so it is not in `requests`; one whose browser came back was recorded "
            "then, with its time of receipt, and is in `requests` too. Kept as long as the statistics."
        ),
    }


def _summary(by_channel: dict[str, _Tally]) -> RequestSummary:
    total = _Tally()
    for tally in by_channel.values():
        total.received += tally.received
        total.complied += tally.complied
        total.denied += tally.denied
        total.days.update(tally.days)
    return {**total.view(), "channels": {name: tally.view() for name, tally in by_channel.items()}}


def _notified(partners: dict[str, _Notified], entry: dict[str, str]) -> None:
    delivered = int(entry.get("t") or entry["_id"].split("-")[0])
    happened = _ms(entry.get("evt"), delivered)
    tally = partners.setdefault(entry.get("pt", ""), _Notified())
    tally.by_type[entry.get("et", "")] += 1
    tally.days[business_days(happened, delivered)] += 1


def _ms(raw: str | None, default: int) -> int:
    """A time (ms) read back from an audit entry, or `default` where there is none (or a damaged one)."""
    value = ascii_int(raw, max_digits=MS_DIGITS)
    return default if value is None else value


def business_days(from_ms: int, to_ms: int) -> int:
    """Weekdays after the day of `from_ms`, up to and including the day of `to_ms` (UTC): an event
    on a Friday delivered on Monday took 1 business day, one delivered the same day 0."""
    start = dt.datetime.fromtimestamp(from_ms / 1000, dt.UTC).date()
    end = dt.datetime.fromtimestamp(to_ms / 1000, dt.UTC).date()
    weeks, extra = divmod(max((end - start).days, 0), 7)
    days = weeks * 5
    for offset in range(1, extra + 1):
        if (start + dt.timedelta(days=weeks * 7 + offset)).weekday() < 5:
            days += 1
    return days


def _days(received_ms: int, answered_ms: int) -> int:
    received = dt.datetime.fromtimestamp(received_ms / 1000, dt.UTC).date()
    answered = dt.datetime.fromtimestamp(answered_ms / 1000, dt.UTC).date()
    return max((answered - received).days, 0)
