"""Plain data shared by the layers: a device's record as the decision sees it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from consent_service.core.vocab import Reason


@dataclass(frozen=True, slots=True)
class Choice:
    """An explicit choice for one purpose: granted (opt-in) or not (opt-out / reject)."""

    granted: bool
    at_ms: int
    policy_version: str


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    """What the store holds for one device on one site."""

    choices: Mapping[str, Choice] = field(default_factory=dict)
    gpc_first_seen_ms: int | None = None
    gpc_last_day: int | None = None  # day number (UTC) GPC was last seen, written at most daily
    account_opted_out: bool = False  # the linked account opted out (or did before this device was deleted)
    refreshed_day: int | None = None  # day number of the last sliding-TTL refresh
    created_ms: int | None = None
    account: str | None = None  # the pseudonym of the account this device is linked to
    settled_pending_ms: int | None = None  # the latest carried opt-out written (its acknowledgement time)
    deleted_ms: int | None = None  # when the device's data was last deleted (USP deletion, announced by the banner)


@dataclass(frozen=True, slots=True)
class Agent:
    """An authorized agent acting for a person (CCPA regs §7063): its name and its own reference."""

    name: str
    reference: str


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: Reason
