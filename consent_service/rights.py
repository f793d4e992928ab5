"""A person's rights over their device's data: access (a copy of everything held) and deletion.

The signed device token is the proof of possession. Deletion keeps the bare fact of an opt-out (a
tombstone): deleting it would switch the sale back on. The export and the answers say so.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from consent_service.errors import ApiError
from consent_service.service import Visitor
from consent_service.store import Store, StoreUnavailable, parse_record
from consent_service.vocab import ErrorCode

TOMBSTONE_NOTE = (
    "Deleting your data keeps only the fact that you opted out of the sale or sharing of your personal "
    "information (and any Global Privacy Control signal), without any other detail: deleting that too would "
    "switch the sale back on. Earlier audit entries can no longer be tied to this device."
)
_FIELDS = {"ct": "created", "ut": "updated", "g1": "gpc_first_seen", "del": "deleted"}
_PLAIN = {"pv": "policy_version", "src": "source", "rm": "regime", "rg": "region", "dc": "device_class"}


class Rights:
    def __init__(self, store: Store, timeout_s: float) -> None:
        self._store = store
        self._timeout_s = timeout_s

    async def access(self, visitor: Visitor) -> dict[str, Any]:
        device_id = _device(visitor)
        try:
            raw, history = await self._store.export(visitor.site.id, device_id, self._timeout_s)
        except StoreUnavailable:
            raise _unavailable() from None
        return {
            "site": visitor.site.id,
            "record": _record_view(raw) if raw else None,
            "history": [_history_view(entry) for entry in history],
            "account": None,  # account linking: not held for this device
            "note": "This is everything this service holds about this browser for this site. " + TOMBSTONE_NOTE,
        }

    async def erase(self, visitor: Visitor) -> dict[str, Any]:
        device_id = _device(visitor)
        try:
            kept = await self._store.erase(visitor.site.id, device_id, visitor.now_ms, self._timeout_s)
        except StoreUnavailable:
            raise _unavailable() from None
        return {
            "site": visitor.site.id,
            "deleted": kept is not None,
            "kept": _record_view(kept) if kept else None,
            "note": TOMBSTONE_NOTE,
        }


def _device(visitor: Visitor) -> str:
    if visitor.device is None:
        raise ApiError(ErrorCode.NOT_FOUND, "no valid device token: nothing is held for this browser")
    return visitor.device[0]


def _unavailable() -> ApiError:
    return ApiError(ErrorCode.STORE_UNAVAILABLE, "storage is unavailable; please retry", retry_after=5)


def _when(ms: str) -> str | None:
    return dt.datetime.fromtimestamp(int(ms) / 1000, dt.UTC).isoformat() if ms.isdigit() else None


def _record_view(raw: dict[str, str]) -> dict[str, Any]:
    """The record in words a person can read (the audit reference and internal markers left out)."""
    choices = parse_record(raw).choices  # the store's own reading of the choice fields
    view: dict[str, Any] = {
        "choices": {
            pid: {"allowed": c.granted, "at": _when(str(c.at_ms)), "policy_version": c.policy_version}
            for pid, c in sorted(choices.items())
        }
    }
    for name, value in sorted(raw.items()):
        if name in _FIELDS:
            view[_FIELDS[name]] = _when(value)
        elif name in _PLAIN and value:
            view[_PLAIN[name]] = value
        elif name == "ao":
            view["account_opted_out"] = value == "1"
    return view


def _history_view(entry: dict[str, str]) -> dict[str, Any]:
    return {
        "at": _when(entry.get("t", "")),
        "action": entry.get("a"),
        "source": entry.get("s"),
        "regime": entry.get("rm"),
        "region": entry.get("rg") or None,
        "policy_version": entry.get("pv"),
        "choices_after": entry.get("c"),
        "device_class": entry.get("dc"),
    }
