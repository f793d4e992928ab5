"""Background upkeep run by each service process.

- Account carry-over: a linked device's opt-out queues its account in the bucket's carry-over set
  in the same atomic step as the change; the request then writes the account's opt-out and clears
  the entry. Whatever a failure left queued is written here, every CARRY_DRAIN_S, so an
  account-wide opt-out never depends on the device coming back.
- Audit retention: a write trims only its own bucket's stream, so entries in a bucket that stops
  receiving writes would outlive the retention period; this pass trims every bucket of every site.

Both are idempotent, so several workers or replicas may run them at once; each waits a random
share of its interval so they do not all start together.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Iterable, Iterator

from consent_service.core.clock import now_ms
from consent_service.core.vocab import Source
from consent_service.obs import metrics
from consent_service.store import Store, StoreUnavailable

log = logging.getLogger("consent_service")
_jitter = random.Random()  # our own: the global one belongs to whoever else seeds it (tests do)
CARRY_DRAIN_S = 30.0


async def carry_opt_out(store: Store, site: str, bucket: int, account: str, *, now_ms: int, timeout_s: float) -> None:
    """Write a queued account-wide opt-out, then take it off the queue (in that order: a crash in
    between leaves it queued, and writing it again changes nothing)."""
    await store.accounts.opt_out(site, account, now_ms=now_ms, source=Source.ACCOUNT, timeout_s=timeout_s)
    await store.carry_done(site, bucket, account, timeout_s)


async def drain_carries(store: Store, sites: Iterable[str], timeout_s: float) -> int:
    """One pass: every queued account-wide opt-out is written. Returns how many were."""
    done = 0
    for site in sites:
        with contextlib.suppress(StoreUnavailable):  # the next pass catches up
            for bucket, account in await store.carried(site, timeout_s):
                await carry_opt_out(store, site, bucket, account, now_ms=now_ms(), timeout_s=timeout_s)
                done += 1
    return done


async def drain_carries_forever(store: Store, sites: Iterable[str], timeout_s: float) -> None:
    site_ids = tuple(sites)
    while True:
        await asyncio.sleep(CARRY_DRAIN_S * _jitter.uniform(0.5, 1.0))
        with _survive("carry-over drain"):
            if done := await drain_carries(store, site_ids, timeout_s):
                log.info("account opt-outs carried over by the drain: %d", done)


async def trim_audit(store: Store, sites: Iterable[str], retention_ms: int, timeout_s: float) -> int:
    """One pass: every site's audit entries older than the retention period are removed."""
    removed = 0
    cutoff = now_ms() - retention_ms
    for site in sites:
        with contextlib.suppress(StoreUnavailable):  # the next pass catches up
            removed += await store.trail.trim(site, cutoff, timeout_s)
            removed += await store.outbox.trim(site, cutoff, timeout_s)  # delivered or dead, past retention
    return removed


async def trim_audit_forever(
    store: Store, sites: Iterable[str], retention_ms: int, interval_s: float, timeout_s: float
) -> None:
    site_ids = tuple(sites)
    while True:
        await asyncio.sleep(interval_s * _jitter.uniform(0.1, 1.0))
        with _survive("audit trimming"):
            if removed := await trim_audit(store, site_ids, retention_ms, timeout_s):
                log.info("audit trail: %d entries past retention trimmed", removed)


@contextlib.contextmanager
def _survive(what: str) -> Iterator[None]:
    """A pass that fails unexpectedly (a bug of ours) is logged and counted; the loop goes on, so
    the upkeep never stops silently."""
    try:
        yield
    except Exception as exc:
        log.error("%s failed: %s", what, type(exc).__name__)  # the type only: messages can hold data
        metrics.count_background_error()
