"""The JSON Schemas of what the rights endpoints answer: a copy of the data held about a device or
an account (access) and what its deletion removed and kept (rights/device_data.py, rights/accounts.py). Written by
hand, like the other answers (openapi_schemas.py)."""

from __future__ import annotations

from consent_service.core.vocab import Regime
from consent_service.web.openapi_schemas import Schema, obj, ref

_TIME = {"type": ["string", "null"], "description": "ISO 8601 (UTC)"}
_DAY = {"type": "string", "format": "date"}
_TEXT_OR_NULL = {"type": ["string", "null"]}

RIGHTS_SCHEMAS: Schema = {
    "DeviceRecord": obj(
        {
            "choices": {
                "type": "object",
                "additionalProperties": obj(
                    {"allowed": {"type": "boolean"}, "at": _TIME, "policy_version": {"type": "string"}},
                    ["allowed", "at", "policy_version"],
                ),
            },
            "created": _TIME,
            "updated": _TIME,
            "gpc_first_seen": _TIME,
            "deleted": _TIME,
            "linked_to_account": _TIME,
            "gpc_last_seen_on": _DAY,
            "last_visit_on": _DAY,
            "policy_version": {"type": "string"},
            "source": {"type": "string"},
            "regime": {"type": "string", "enum": list(Regime)},
            "region": {"type": "string"},
            "device_class": {"type": "string"},
            "account_opted_out": {"type": "boolean"},
        },
        ["choices"],
    ),
    "HistoryEntry": obj(
        {
            "at": _TIME,
            "action": _TEXT_OR_NULL,
            "source": _TEXT_OR_NULL,
            "regime": _TEXT_OR_NULL,
            "region": _TEXT_OR_NULL,
            "policy_version": _TEXT_OR_NULL,
            "choices_after": _TEXT_OR_NULL,
            "device_class": _TEXT_OR_NULL,
            "agent": {"type": "string"},
        },
        ["at", "action", "source", "regime", "region", "policy_version", "choices_after", "device_class"],
    ),
    "DeviceData": obj(
        {
            "site": {"type": "string"},
            "record": {"anyOf": [ref("DeviceRecord"), {"type": "null"}]},
            "history": {"type": "array", "items": ref("HistoryEntry")},
            "account": {
                "anyOf": [
                    obj(
                        {"linked": {"const": True}, "account_opted_out": {"type": "boolean"}},
                        ["linked", "account_opted_out"],
                    ),
                    {"type": "null"},
                ]
            },
            "note": {"type": "string"},
        },
        ["site", "record", "history", "account", "note"],
    ),
    "DeviceErasure": obj(
        {
            "site": {"type": "string"},
            "deleted": {"type": "boolean"},
            "kept": {"anyOf": [ref("DeviceRecord"), {"type": "null"}], "description": "the opt-out tombstone"},
            "note": {"type": "string"},
        },
        ["site", "deleted", "kept", "note"],
    ),
    "AccountOptOut": obj(
        {"site": {"type": "string"}, "account_opted_out": {"const": True}}, ["site", "account_opted_out"]
    ),
    "AccountData": obj(
        {
            "site": {"type": "string"},
            "account": {
                "anyOf": [
                    obj(
                        {
                            "created": _TIME,
                            "opted_out": {"type": "boolean"},
                            "linked_devices": {"type": "integer", "minimum": 0},
                            "opted_out_at": _TIME,
                            "opt_out_source": _TEXT_OR_NULL,
                            "deleted": _TIME,
                        },
                        ["created", "opted_out", "linked_devices"],
                    ),
                    {"type": "null"},
                ],
                "description": "null when nothing is held about the account",
            },
            "devices": {
                "type": "array",
                "items": obj(
                    {
                        "linked_at": _TIME,
                        "record": {"anyOf": [ref("DeviceRecord"), {"type": "null"}]},
                        "history": {"type": "array", "items": ref("HistoryEntry")},
                    },
                    ["linked_at", "record", "history"],
                ),
            },
            "note": {"type": "string"},
        },
        ["site", "account", "devices", "note"],
    ),
    "AccountErasure": obj(
        {
            "site": {"type": "string"},
            "deleted": {"type": "boolean"},
            "devices_deleted": {"type": "integer", "minimum": 0},
            "kept": {
                "anyOf": [obj({"account_opted_out": {"const": True}}, ["account_opted_out"]), {"type": "null"}],
                "description": "the opt-out tombstone",
            },
            "note": {"type": "string"},
        },
        ["site", "deleted", "devices_deleted", "kept", "note"],
    ),
}
