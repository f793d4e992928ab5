"""A person's rights over their device's data: access (a copy of everything held) and deletion.

The signed device token is the proof of possession (or, for an authorized agent, the site's admin
key plus the token the person gave the agent). Deletion keeps the bare fact of an opt-out (a
tombstone): deleting it would switch the sale back on. The export and the answers say so. Each
request is recorded in the audit trail (CCPA regs §7101), in the same atomic step as its effect.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from typing import Final, Literal, NotRequired, TypedDict

from consent_service.consent.devices import known_device
from consent_service.consent.ratelimit import WriteLimits, limit_writes
from consent_service.core.clock import iso_ms
from consent_service.core.digits import MS_DIGITS, ascii_int
from consent_service.core.errors import ApiError, unavailable
from consent_service.core.model import Agent
from consent_service.core.page_messages import TOMBSTONE_NOTE
from consent_service.core.site import Site
from consent_service.core.visitor import Visitor
from consent_service.core.vocab import ErrorCode, RequestType, Source
from consent_service.store import Store, StoreUnavailable, parse_record, request_fields

# The record's fields by their name in Redis (store/record_data.py), each under its RecordView key.
_FIELDS: Final[dict[str, Literal["created", "updated", "gpc_first_seen", "deleted", "linked_to_account"]]] = {
    "ct": "created",
    "ut": "updated",
    "g1": "gpc_first_seen",
    "del": "deleted",
    "al": "linked_to_account",
}
_DAYS: Final[dict[str, Literal["gpc_last_seen_on", "last_visit_on"]]] = {
    "gd": "gpc_last_seen_on",  # day numbers (UTC), written at most daily
    "rf": "last_visit_on",
}
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_PLAIN: Final[dict[str, Literal["policy_version", "source", "regime", "region", "device_class"]]] = {
    "pv": "policy_version",
    "src": "source",
    "rm": "regime",
    "rg": "region",
    "dc": "device_class",
}


# ---- the answers (the OpenAPI document's `DeviceRecord`, `HistoryEntry`, `DeviceData`, `DeviceErasure`)


class ChoiceView(TypedDict):
    allowed: bool
    at: str | None  # RFC 3339 (UTC)
    policy_version: str


class RecordView(TypedDict):
    """A device's record in words a person can read; a field only where the record holds it. The
    keys come in the order of the record's own field names (record_view sorts them)."""

    choices: dict[str, ChoiceView]  # purpose id → the choice
    created: NotRequired[str | None]  # times: RFC 3339 (UTC), None for a damaged value
    updated: NotRequired[str | None]
    gpc_first_seen: NotRequired[str | None]
    deleted: NotRequired[str | None]
    linked_to_account: NotRequired[str | None]
    gpc_last_seen_on: NotRequired[str]  # days: YYYY-MM-DD (UTC)
    last_visit_on: NotRequired[str]
    policy_version: NotRequired[str]
    source: NotRequired[str]
    regime: NotRequired[str]
    region: NotRequired[str]
    device_class: NotRequired[str]
    account_opted_out: NotRequired[bool]


class HistoryEntry(TypedDict):
    """One audit entry of the device, as its owner sees it."""

    at: str | None
    action: str | None
    source: str | None
    regime: str | None
    region: str | None
    policy_version: str | None
    choices_after: str | None  # `purpose=0|1,…` as the audit wrote it
    device_class: str | None
    agent: NotRequired[str]  # an authorized agent's request: the agent's name


class LinkedAccount(TypedDict):
    linked: Literal[True]
    account_opted_out: bool


class DeviceData(TypedDict):
    """The answer to an access request for a device (`/v1/me`, an agent's `access`)."""

    site: str
    record: RecordView | None
    history: list[HistoryEntry]
    account: LinkedAccount | None
    note: str


class DeviceErasure(TypedDict):
    """The answer to a deletion request for a device."""

    site: str
    deleted: bool
    kept: RecordView | None  # the opt-out tombstone
    note: str


@dataclass(frozen=True, slots=True)
class Asked:
    """Who asked and when: the person through the site (`api`) or an authorized agent."""

    now_ms: int
    source: Source = Source.API
    agent: Agent | None = None
    received_ms: int | None = None

    def fields(self, kind: RequestType) -> dict[str, str]:
        return request_fields(kind, received_ms=self.received_ms, agent=self.agent)


class Rights:
    def __init__(self, store: Store, timeout_s: float, limits: WriteLimits | None = None) -> None:
        self._store = store
        self._timeout_s = timeout_s
        self._limits = limits

    async def access(self, visitor: Visitor, asked: Asked | None = None) -> DeviceData:
        """`asked`: who asked and when (default: the person, now)."""
        device_id = await self._device(visitor)
        asked = asked or Asked(now_ms=visitor.now_ms)
        if asked.source is not Source.AGENT:
            await limit_writes(self._limits, visitor)  # an access is recorded: a write
        try:
            held = await self._store.access(
                visitor.site.id,
                device_id,
                now_ms=visitor.now_ms,
                source=asked.source,
                extra=asked.fields(RequestType.ACCESS),
                timeout_s=self._timeout_s,
            )
            account = held.record.get("acct")
            account_opted_out = account is not None and await self._store.accounts.opted_out(
                visitor.site.id, account, self._timeout_s
            )
        except StoreUnavailable:
            raise unavailable() from None
        return {
            "site": visitor.site.id,
            "record": record_view(held.record) if held.record else None,
            "history": [history_view(entry) for entry in held.history],
            "account": {"linked": True, "account_opted_out": account_opted_out} if account else None,
            "note": "This is everything this service holds about this browser for this site. " + TOMBSTONE_NOTE,
        }

    async def erase(self, visitor: Visitor, asked: Asked | None = None) -> DeviceErasure:
        device_id = await self._device(visitor)
        site = visitor.site.id
        asked = asked or Asked(now_ms=visitor.now_ms)
        if asked.source is not Source.AGENT:
            await limit_writes(self._limits, visitor)
        try:
            # Read first (with the linked account), so an account-wide opt-out survives as a tombstone.
            record = await self._store.get(site, device_id, self._timeout_s)
            erased = await self._store.erase(
                site,
                device_id,
                visitor.now_ms,
                self._timeout_s,
                account_opted_out=record is not None and record.account_opted_out,
                sale_share=sale_share_ids(visitor.site),
                source=asked.source,
                extra=asked.fields(RequestType.DELETE),
            )
        except StoreUnavailable:
            raise unavailable() from None
        if erased.account is not None:
            # The account's list of devices: a leftover entry only makes a later account request
            # visit a device that holds nothing, so a failure here is not worth failing the request.
            with contextlib.suppress(StoreUnavailable):
                await self._store.accounts.remove_device(site, erased.account, device_id, self._timeout_s)
        return {
            "site": site,
            "deleted": erased.found,
            "kept": record_view(erased.tombstone) if erased.tombstone else None,
            "note": TOMBSTONE_NOTE,
        }

    async def _device(self, visitor: Visitor) -> str:
        """The device id of a token valid for this site (a legacy token's where the site holds its
        record); 404 without one."""
        device = await known_device(self._store, visitor.site.id, visitor.device, self._timeout_s)
        if device is None:
            raise ApiError(ErrorCode.NOT_FOUND, "no valid device token: nothing is held for this browser")
        return device.device_id


def sale_share_ids(site: Site) -> tuple[str, ...]:
    """The purposes whose refusal a deletion keeps (an opt-out of sale/sharing)."""
    return tuple(pid for pid, purpose in site.purposes.items() if purpose.sale_share)


def when(ms: str) -> str | None:
    """An RFC 3339 time (core.clock.iso_ms) for milliseconds read back from Redis; None for anything
    that is not a number."""
    at = ascii_int(ms, max_digits=MS_DIGITS)
    return None if at is None else iso_ms(at)


def record_view(raw: dict[str, str]) -> RecordView:
    """The record in words a person can read (audit reference, account pseudonym and internal
    markers left out: they identify nothing to the person and would only help link records)."""
    choices = parse_record(raw).choices  # the store's own reading of the choice fields
    view: RecordView = {
        "choices": {
            pid: {"allowed": c.granted, "at": when(str(c.at_ms)), "policy_version": c.policy_version}
            for pid, c in sorted(choices.items())
        }
    }
    for name, value in sorted(raw.items()):
        if name in _FIELDS:
            view[_FIELDS[name]] = when(value)
        elif name in _PLAIN and value:
            view[_PLAIN[name]] = value
        elif name == "tao":
            view["account_opted_out"] = value == "1"
        elif name in _DAYS and (day := ascii_int(value, max_digits=6)) is not None:
            view[_DAYS[name]] = dt.date.fromordinal(_EPOCH_ORDINAL + day).isoformat()
    return view


def history_view(entry: dict[str, str]) -> HistoryEntry:
    view: HistoryEntry = {
        "at": when(entry.get("t", "")),
        "action": entry.get("a"),
        "source": entry.get("s"),
        "regime": entry.get("rm"),
        "region": entry.get("rg") or None,
        "policy_version": entry.get("pv"),
        "choices_after": entry.get("c"),
        "device_class": entry.get("dc"),
    }
    if entry.get("ag"):
        view["agent"] = entry["ag"]
    return view
