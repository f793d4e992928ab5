"""The one wall clock of the service, in milliseconds since the epoch (UTC), and the one timestamp
format it shows: RFC 3339 in UTC with milliseconds, `2026-12-07T17:35:46.123Z`, in the access copy,
the audit export and partners' webhooks alike (fixed width, so it also sorts as text). The JSON log
lines (obs/logs.py) write their time the same way on their own: obs imports nothing of ours."""

from __future__ import annotations

import time
from datetime import UTC, datetime

DAY_MS = 86_400_000


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def iso_ms(ms: int) -> str:
    """`ms` as RFC 3339 UTC with milliseconds (`…T17:35:46.123Z`)."""
    return datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"
