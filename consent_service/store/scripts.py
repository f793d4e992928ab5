"""The store's Lua scripts: one file each in lua/, read as package data with importlib.resources (as
the limits library reads its own) and composed once, at import: a script's helpers (lua/lib_*.lua)
go before its own text, so that one EVALSHA body holds every function it calls.

Each file says what its KEYS and ARGV are. The scripts that write a change (a device's, an
account's, a delivery's) take their arguments by name: ARGV[1] is one JSON object (`named`, read
with `cjson.decode`), and ARGV[2] the partners' spec where the script writes partner events. The
short ones (the outbox queue's, an account's device list, a denied request's entry) keep positional
ARGV, and so does the statistics batch (it names thousands of device ids, which PFADD takes as they
are). Measured on the write path: the JSON costs about 1% of the script's time in Redis.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources

import orjson

_LUA = resources.files("consent_service.store").joinpath("lua")

AUDIT, OUTBOX = "lib_audit", "lib_outbox"  # the helpers

# Every script, with the helpers it calls (prepended in this order).
SCRIPTS: dict[str, tuple[str, ...]] = {
    "record_apply": (AUDIT, OUTBOX),
    "record_erase": (AUDIT, OUTBOX),
    "record_access": (AUDIT,),
    "record_link": (AUDIT,),
    "record_covered": (OUTBOX,),
    "account_member": (),
    "account_opt_out": (AUDIT, OUTBOX),
    "account_access": (AUDIT,),
    "account_erase": (AUDIT, OUTBOX),
    "outbox_claim": (),
    "outbox_settle": (AUDIT,),
    "outbox_trim": (),
    "outbox_replay": (),
    "audit_record": (AUDIT,),
    "stats_add": (),
}


def lua_file(name: str) -> str:
    """One file of lua/ as it is (a script or a helper)."""
    return _LUA.joinpath(f"{name}.lua").read_text(encoding="utf-8")


def _compose(name: str) -> str:
    return "\n".join([*(lua_file(helper) for helper in SCRIPTS[name]), lua_file(name)])


SOURCES: dict[str, str] = {name: _compose(name) for name in SCRIPTS}

RECORD_APPLY = SOURCES["record_apply"]
RECORD_ERASE = SOURCES["record_erase"]
RECORD_ACCESS = SOURCES["record_access"]
RECORD_LINK = SOURCES["record_link"]
RECORD_COVERED = SOURCES["record_covered"]
ACCOUNT_MEMBER = SOURCES["account_member"]
ACCOUNT_OPT_OUT = SOURCES["account_opt_out"]
ACCOUNT_ACCESS = SOURCES["account_access"]
ACCOUNT_ERASE = SOURCES["account_erase"]
OUTBOX_CLAIM = SOURCES["outbox_claim"]
OUTBOX_SETTLE = SOURCES["outbox_settle"]
OUTBOX_TRIM = SOURCES["outbox_trim"]
OUTBOX_REPLAY = SOURCES["outbox_replay"]
AUDIT_RECORD = SOURCES["audit_record"]
STATS_ADD = SOURCES["stats_add"]


def named(fields: Mapping[str, object]) -> bytes:
    """A script's named arguments, as the one JSON object its ARGV[1] decodes.

    Integers go as strings, as positional ARGV did: what a script writes into a hash or a stream
    (a time, a day) is then Python's digits as they are, never a Lua number formatted by Redis's
    version of the day, and the scripts' comparisons and `tonumber` calls stay what they were. A
    None field is left out: cjson reads JSON null as `cjson.null`, which is true in a Lua condition."""
    # `type(v) is int`, not isinstance: True is an int too, and stays a JSON boolean.
    return orjson.dumps({k: str(v) if type(v) is int else v for k, v in fields.items() if v is not None})


def pairs(fields: Mapping[str, str]) -> list[str]:
    """Optional audit fields (a request's) as the scripts take them: name/value pairs in order."""
    return [item for pair in fields.items() for item in pair]
