"""Background upkeep run by each service process: trimming the audit trail past its retention.

A write trims only its own bucket's stream, so entries in a bucket that stops receiving writes
would outlive the retention period; this pass trims every bucket of every site. It is idempotent,
so several workers or replicas may run it at once; each waits a random share of the interval so
they do not all start together.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Iterable

from consent_service.store import Store, StoreUnavailable

log = logging.getLogger("consent_service")


async def trim_audit(store: Store, sites: Iterable[str], retention_ms: int, timeout_s: float) -> int:
    """One pass: every site's audit entries older than the retention period are removed."""
    removed = 0
    cutoff = time.time_ns() // 1_000_000 - retention_ms
    for site in sites:
        with contextlib.suppress(StoreUnavailable):  # the next pass catches up
            removed += await store.trail.trim(site, cutoff, timeout_s)
    return removed


async def trim_audit_forever(
    store: Store, sites: Iterable[str], retention_ms: int, interval_s: float, timeout_s: float
) -> None:
    site_ids = tuple(sites)
    while True:
        await asyncio.sleep(interval_s * random.uniform(0.1, 1.0))
        removed = await trim_audit(store, site_ids, retention_ms, timeout_s)
        if removed:
            log.info("audit trail: %d entries past retention trimmed", removed)
