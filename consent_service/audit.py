"""The audit export's row format: one readable row per audit entry, as JSON lines or CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator

import orjson

COLUMNS = (
    "id",
    "time",
    "site",
    "ref",
    "action",
    "source",
    "regime",
    "region",
    "policy_version",
    "choices",
    "device_class",
)
_FIELDS = {
    "site": "site",
    "ref": "ref",
    "action": "a",
    "source": "s",
    "regime": "rm",
    "region": "rg",
    "policy_version": "pv",
    "choices": "c",
    "device_class": "dc",
}


async def audit_rows(entries: AsyncIterator[dict[str, str]]) -> AsyncIterator[dict[str, str]]:
    async for entry in entries:
        ms = int(entry.get("t") or entry["_id"].split("-")[0])
        row = {"id": entry["_id"], "time": dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat()}
        row.update({column: entry.get(field, "") for column, field in _FIELDS.items()})
        yield row


async def audit_jsonl(rows: AsyncIterator[dict[str, str]]) -> AsyncIterator[bytes]:
    async for row in rows:
        yield orjson.dumps(row) + b"\n"


async def audit_csv(rows: AsyncIterator[dict[str, str]]) -> AsyncIterator[bytes]:
    yield (",".join(COLUMNS) + "\r\n").encode()
    async for row in rows:
        out = io.StringIO()
        # Cells starting with = + - @ are neutralized: spreadsheets would run them as formulas.
        csv.writer(out).writerow(["'" + v if v[:1] in ("=", "+", "-", "@") else v for v in (row[c] for c in COLUMNS)])
        yield out.getvalue().encode()
