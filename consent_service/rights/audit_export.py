"""The audit export's row format: one readable row per audit entry, as JSON lines or CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import orjson

from consent_service.core.clock import iso_ms
from consent_service.core.csv_cells import csv_cell
from consent_service.core.digits import MS_DIGITS, ascii_int
from consent_service.store import StoreUnavailable

COLUMNS = (
    "id",
    "time",
    "site",
    "subject",
    "ref",
    "action",
    "source",
    "regime",
    "region",
    "policy_version",
    "gvl_version",  # IAB TCF: the vendor list a choice in GDPR territory was made under (issue 16)
    "choices",
    "device_class",
    "request",
    "received",
    "answered",
    "answer",
    "denial_reason",
    "agent",
    "agent_reference",
    "partner",  # partner_notified entries (issue 7): who was told, of which event, and when it happened
    "event_id",
    "event_type",
    "event_time",
)
_FIELDS = {
    "site": "site",
    "ref": "ref",
    "action": "a",
    "source": "s",
    "regime": "rm",
    "region": "rg",
    "policy_version": "pv",
    "gvl_version": "gvl",
    "choices": "c",
    "device_class": "dc",
    "request": "rq",
    "answer": "ans",
    "denial_reason": "why",
    "agent": "ag",
    "agent_reference": "agr",
    "partner": "pt",
    "event_id": "ev",
    "event_type": "et",
}


async def audit_rows(entries: AsyncIterator[dict[str, str]]) -> AsyncIterator[dict[str, str]]:
    """One row per entry. For a privacy request (§7101): when it was received and answered, the
    answer and any reason for a denial; `subject` says whether `ref` names a device or an account."""
    async for entry in entries:
        ms = int(entry.get("t") or entry["_id"].split("-")[0])
        row = {"id": entry["_id"], "time": iso_ms(ms), "subject": entry.get("sub") or "device"}
        row.update({column: entry.get(field, "") for column, field in _FIELDS.items()})
        is_request = bool(entry.get("rq"))
        received = ascii_int(entry.get("rcv"), max_digits=MS_DIGITS)
        row["received"] = iso_ms(ms if received is None else received) if is_request else ""
        row["answered"] = iso_ms(ms) if is_request else ""
        event_ms = ascii_int(entry.get("evt"), max_digits=MS_DIGITS)
        row["event_time"] = "" if event_ms is None else iso_ms(event_ms)
        yield row


TRUNCATED = {"error": "store_unavailable", "truncated": "true"}


async def primed(rows: AsyncIterator[dict[str, str]]) -> AsyncIterator[dict[str, str]]:
    """Read the first row now, so that a failure happens before the answer starts (a 503, not an
    empty 200); after that, a failure ends the rows with the TRUNCATED marker, so an incomplete
    export never looks complete."""
    iterator = aiter(rows)
    first = await anext(iterator, None)

    async def rest() -> AsyncIterator[dict[str, str]]:
        if first is None:
            return
        yield first
        try:
            async for row in iterator:
                yield row
        except StoreUnavailable:
            yield TRUNCATED

    return rest()


async def audit_jsonl(rows: AsyncIterator[dict[str, str]]) -> AsyncIterator[bytes]:
    async for row in rows:
        yield orjson.dumps(row) + b"\n"


async def audit_csv(rows: AsyncIterator[dict[str, str]]) -> AsyncIterator[bytes]:
    yield (",".join(COLUMNS) + "\r\n").encode()
    async for row in rows:
        if row is TRUNCATED:
            yield b"# truncated: storage became unavailable, this export is incomplete\r\n"
            return
        out = io.StringIO()
        # Every cell is text from the audit trail: formula-like ones are neutralised (csv_cells.py).
        csv.writer(out).writerow([csv_cell(row.get(c, "")) for c in COLUMNS])
        yield out.getvalue().encode()
