"""A device's record as the store holds it: its keys (every key of one change shares a Cluster
slot), one change as the write script applies it, what a write or an erasure reports back, the
lifetimes of what is kept, and a record parsed from its hash. records.py runs the scripts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from consent_service.core.clock import DAY_MS
from consent_service.core.digits import ascii_int
from consent_service.core.identity import bucket_of
from consent_service.core.model import Choice, DeviceRecord
from consent_service.core.vocab import Action, DeviceClass, Regime, Source
from consent_service.store.scripts import pairs
from consent_service.store.trail import KEY_VERSION


def record_key(site: str, device_id: str) -> str:
    """The record's key alone (the decision path's one read)."""
    return f"{KEY_VERSION}:{{{site}.{bucket_of(device_id):04d}}}:dev:{device_id}"


def device_keys(site: str, device_id: str) -> tuple[str, str, str]:
    """(record, history, audit) keys for a device; all three hash to one Cluster slot."""
    tag = f"{{{site}.{bucket_of(device_id):04d}}}"
    return f"{KEY_VERSION}:{tag}:dev:{device_id}", f"{KEY_VERSION}:{tag}:log:{device_id}", f"{KEY_VERSION}:{tag}:audit"


def keys_with(site: str, device_id: str, *extra: str) -> list[str]:
    """The device's keys plus more keys of its bucket (the carry-over set, a request id marker)."""
    tag = f"{{{site}.{bucket_of(device_id):04d}}}"
    return [*device_keys(site, device_id), *(f"{KEY_VERSION}:{tag}:{name}" for name in extra)]


@dataclass(frozen=True, slots=True)
class Change:
    """One atomic write for one device: optional GPC sighting, optional choices, audit entries.

    With no action and no new GPC sighting it is a refresh: it slides the TTL and records the day.
    """

    site: str
    device_id: str
    now_ms: int
    policy_version: str
    regime: Regime
    region: str | None
    device_class: DeviceClass
    gpc_seen: bool = False  # written before the choices, so a same-request opt-in cannot lift it
    choices: Mapping[str, bool] = field(default_factory=dict)
    action: Action | None = None
    source: Source = Source.API
    audit_extra: Mapping[str, str] = field(default_factory=dict)  # request fields for the action's entry
    # The change opts this device out of sale/sharing (or sends GPC): if it is linked, its account
    # is queued for the account-wide opt-out in the same atomic step (`carry`), so that cannot be lost.
    carry_to_account: bool = False
    # This change writes an opt-out a device token carried, acknowledged at this time (ms): written
    # once (the record remembers it, `po`), and never over a choice the visitor made after it.
    settles_pending_ms: int | None = None
    change_id: str | None = None  # None: a random one. A retry of the same change must reuse its id.


@dataclass(frozen=True, slots=True)
class Held:
    """Everything held for one device: its record's raw fields and its history, oldest first."""

    record: dict[str, str]
    history: list[dict[str, str]]


@dataclass(frozen=True, slots=True)
class Erased:
    tombstone: dict[str, str] | None  # the fields kept (an opt-out); None when nothing was kept
    found: bool  # anything was held
    account: str | None  # the account the device was linked to (its membership is the caller's to drop)


@dataclass(frozen=True, slots=True)
class Applied:
    record: DeviceRecord | None  # None: a refresh found no record to refresh (nothing written)
    gpc_first_seen_now: bool
    # Purposes whose choice this change really changed → their state before: "1" granted, "0"
    # refused, "" none recorded. Empty for a repeat (the same choice again, or a retried change).
    changed: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Lifetimes:
    record_ttl_ms: int  # a record without an opt-out, sliding while the device visits
    retention_ms: int  # a record with an opt-out, history and audit entries
    provisional_ms: int = 30 * DAY_MS  # a device created by a GPC sighting, until it comes back

    @property
    def gpc_ms(self) -> int:
        """A record with GPC: never less than 12 months (no re-prompt, and GPC is an opt-out)."""
        return max(self.record_ttl_ms, 366 * DAY_MS)


def apply_fields(
    change: Change, lifetimes: Lifetimes, *, deadline_ms: int, new_ref: str, change_id: str
) -> dict[str, object]:
    """The named arguments of the write script for a change (bench/capacity.py drives it too)."""
    return {
        "now_ms": change.now_ms,
        "day": change.now_ms // DAY_MS,
        "record_ttl_ms": lifetimes.record_ttl_ms,
        "retention_ms": lifetimes.retention_ms,
        "provisional_ms": lifetimes.provisional_ms,
        "gpc_ttl_ms": lifetimes.gpc_ms,
        "min_id": change.now_ms - lifetimes.retention_ms,
        "new_ref": new_ref,
        "gpc": change.gpc_seen,
        "policy": change.policy_version,
        "action": change.action,
        "source": change.source,
        "regime": change.regime,
        "region": change.region or "",
        "device_class": change.device_class,
        "site": change.site,
        "deadline_ms": deadline_ms,
        "change_id": change_id,
        "carry": change.carry_to_account,
        "settles_ms": change.settles_pending_ms,
        "request": pairs(change.audit_extra),
        "choices": [[purpose, granted] for purpose, granted in change.choices.items()],
    }


def parse_record(raw: Mapping[Any, Any]) -> DeviceRecord:
    """A record from its Redis hash; unknown or damaged fields are ignored, never fatal."""
    choices: dict[str, Choice] = {}
    for name, value in raw.items():
        if name.startswith("c:"):
            granted, _, rest = value.partition(":")
            at, _, version = rest.partition(":")
            at_ms = ascii_int(at)
            if granted in ("0", "1") and at_ms is not None:
                choices[name[2:]] = Choice(granted == "1", at_ms, version)
    return DeviceRecord(
        choices=choices,
        gpc_first_seen_ms=ascii_int(raw.get("g1")),
        gpc_last_day=ascii_int(raw.get("gd")),
        account_opted_out=raw.get("tao") == "1",  # a deleted device's copy of its account's opt-out
        refreshed_day=ascii_int(raw.get("rf")),
        created_ms=ascii_int(raw.get("ct")),
        account=raw.get("acct") or None,
        settled_pending_ms=ascii_int(raw.get("po")),
        deleted_ms=ascii_int(raw.get("del")),
    )
