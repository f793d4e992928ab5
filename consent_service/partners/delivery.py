"""Partner webhooks (issue 7): the worker that carries outbox events to partners, signed.

CCPA regs §7026(f) make a business tell the third parties it sold or shared with about an opt-out
(and §7022 about a deletion). The store writes one outbox entry per (event, partner) with the change
(store/outbox.py); this worker claims due entries under a lease, POSTs each to its partner as JSON
signed with the partner's secret, and settles it: delivered (with its audit entry), retried later
with exponential backoff and jitter, or, once the retry window has passed, dead until an operator
replays it. At-least-once: a worker that dies lets its leases run out and another sends the events
again, so partners drop duplicates by event id. docs/partners.md is the partner-facing description.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import httpx2

from consent_service.config.settings import Settings, lease_needed_s
from consent_service.core.clock import now_ms
from consent_service.core.digits import ascii_int
from consent_service.core.partner import Partner
from consent_service.core.site import Site
from consent_service.obs import metrics
from consent_service.partners.webhook import event_body, headers_for
from consent_service.store import StoreUnavailable
from consent_service.store.outbox import Claimed, Outbox, Outcome

log = logging.getLogger("consent_service.partners.delivery")

PROMISED_MAX_AGE_S = 72 * 3600  # the retry window the docs promise; shorter only for tests and development
CONCURRENCY = 16  # deliveries in flight per worker
LEASE_MARGIN_S = 0.5  # kept free at the end of a lease, besides the time a settle may take


# ---- one HTTP call ------------------------------------------------------------------------------


async def post(client: httpx2.AsyncClient, partner: Partner, event_id: str, body: bytes, timeout_s: float) -> str:
    """POST one delivery; the short result to record: the status (`200`, `503`), `redirect 302`,
    `timeout`, `connect error`, … Never the response's body: it is not ours to keep, nor read."""
    headers = headers_for(partner, event_id, body, int(time.time()))
    try:
        async with asyncio.timeout(timeout_s):  # in total: httpx2's own timeouts are per phase
            async with client.stream("POST", partner.url, content=body, headers=headers) as response:
                status = response.status_code
    except (TimeoutError, httpx2.TimeoutException):
        return "timeout"
    except httpx2.ConnectError:
        return "connect error"
    except Exception as exc:  # a partner's broken answer is its problem, never the worker's end
        return f"error {type(exc).__name__}"
    if 300 <= status < 400:  # never followed: a partner's URL is the one configured, not where it points
        return f"redirect {status}"
    return str(status)


def delivered(result: str) -> bool:
    status = ascii_int(result, max_digits=3)  # read back from Redis too: "²⁰⁰" is no success
    return status is not None and 200 <= status <= 299


# ---- retries ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Policy:
    """How the worker paces itself; `from_settings` for the service, small values in tests."""

    timeout_s: float = 10.0
    lease_s: float = 60.0
    poll_s: float = 1.0
    backoff_s: float = 30.0
    backoff_cap_s: float = 3600.0
    max_age_s: float = PROMISED_MAX_AGE_S
    store_timeout_s: float = 2.0
    concurrency: int = CONCURRENCY
    grace_s: float = 5.0  # on stop, how long deliveries in flight may take to finish

    @classmethod
    def from_settings(cls, s: Settings) -> Policy:
        return cls(
            timeout_s=s.delivery_timeout_s,
            lease_s=s.delivery_lease_s,
            poll_s=s.delivery_poll_s,
            backoff_s=s.delivery_backoff_s,
            backoff_cap_s=s.delivery_backoff_cap_s,
            max_age_s=s.delivery_max_age_h * 3600,
            store_timeout_s=s.write_timeout_ms / 1000,
        )

    def __post_init__(self) -> None:
        # settings.py says the same with the variables' names; this guards direct use.
        if self.lease_s < lease_needed_s(self.timeout_s, self.store_timeout_s):
            raise ValueError("the lease must outlast an HTTP call and the write of its outcome")


def backoff_ms(attempts: int, policy: Policy, rng: random.Random) -> int:
    """The delay after the `attempts`-th failed attempt in a row: base · 2^(attempts-1), capped, times
    a random 0.5-1 (jitter: partners coming back up are not hit by every retry at once)."""
    delay = min(policy.backoff_cap_s, policy.backoff_s * 2 ** min(max(attempts - 1, 0), 40))
    return int(delay * rng.uniform(0.5, 1.0) * 1000)


def outcome_for(claimed: Claimed, result: str, now_ms: int, policy: Policy, rng: random.Random) -> tuple[Outcome, int]:
    """Delivered; dead once the retry window (from the event, or its last replay) has passed; else a
    retry, and when."""
    if delivered(result):
        return "delivered", 0
    if now_ms - claimed.window_start_ms > policy.max_age_s * 1000:
        return "dead", 0
    # Attempts since the last replay (`rn`, when the store records it), so a replay starts gently.
    attempts = claimed.attempts + 1 - int(claimed.state.get("rn") or 0)
    return "retry", now_ms + backoff_ms(attempts, policy, rng)


# ---- the worker ---------------------------------------------------------------------------------


class Worker:
    """Claims due outbox entries of every site with partners and delivers them, `concurrency` at a
    time, until `stop()`. Several workers (processes, replicas) share the queue: a lease keeps an
    entry with one of them at a time."""

    def __init__(self, outbox: Outbox, sites: Mapping[str, Site], policy: Policy) -> None:
        self._outbox = outbox
        self._policy = policy
        self._targets = {(site.id, p.name): (site, p) for site in sites.values() for p in site.partners}
        self._sites = tuple(sorted({site for site, _ in self._targets}))
        self._token = secrets.token_hex(8)  # this worker's leases, numbered: one token per claim
        self._claims = 0
        self._rng = random.Random()  # our own: the global one belongs to whoever else seeds it
        self._due: list[tuple[str, int]] = []  # buckets seen due by the last scan, not yet drained
        self._stopping = asyncio.Event()  # bound to a loop only once awaited: a stop before run() counts
        self._store_down = False

    def stop(self) -> None:
        """Ask `run()` to end (from the worker's own event loop)."""
        self._stopping.set()

    async def run(self) -> None:
        stopping = self._stopping
        if self._policy.max_age_s < PROMISED_MAX_AGE_S:
            log.warning(
                "partner deliveries are given up after %g h, less than 72 h: for tests and development only",
                self._policy.max_age_s / 3600,
            )
        inflight: set[asyncio.Task[None]] = set()
        stop_waiter = asyncio.create_task(stopping.wait())
        async with self._client() as client:
            try:
                while not stopping.is_set():
                    room = self._policy.concurrency - len(inflight)
                    for claimed in await self._fill(room) if room > 0 else []:
                        task = asyncio.create_task(self._deliver(client, claimed))
                        inflight.add(task)
                        task.add_done_callback(inflight.discard)
                    # Full: go on when a slot frees. Otherwise nothing more is due: look again later.
                    waiting = {stop_waiter, *inflight} if len(inflight) >= self._policy.concurrency else {stop_waiter}
                    await asyncio.wait(waiting, timeout=self._policy.poll_s, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stop_waiter.cancel()
                await self._drain(inflight)

    def _client(self) -> httpx2.AsyncClient:
        # No redirects; no proxy or .netrc from the environment (trust_env), which could add credentials
        # or send partner traffic elsewhere; connections enough for every delivery in flight.
        limits = httpx2.Limits(max_connections=self._policy.concurrency, max_keepalive_connections=8)
        return httpx2.AsyncClient(
            follow_redirects=False, trust_env=False, timeout=self._policy.timeout_s, limits=limits
        )

    async def _fill(self, room: int) -> list[Claimed]:
        """Claim up to `room` due entries: from the buckets the last scan found, scanning again (at most
        once a call) when those are drained."""
        claimed: list[Claimed] = []
        with self._survive("claiming partner deliveries"):
            if not self._due:
                self._due = await self._scan()
            while self._due and len(claimed) < room:
                site, bucket = self._due[0]
                want = room - len(claimed)
                self._claims += 1  # a token per claim: a late settle of an earlier lease is never "ours"
                got = await self._outbox.claim(
                    site,
                    bucket,
                    now_ms=now_ms(),
                    lease_ms=int(self._policy.lease_s * 1000),
                    limit=want,
                    token=f"{self._token}.{self._claims}",
                    timeout_s=self._policy.store_timeout_s,
                )
                claimed += got
                if len(got) < want:  # nothing more due there (or another worker took it)
                    self._due.pop(0)
            self._store_back()
        return claimed

    async def _scan(self) -> list[tuple[str, int]]:
        found: list[tuple[str, int]] = []
        for site in self._sites:
            buckets = await self._outbox.due_buckets(site, now_ms(), self._policy.store_timeout_s)
            found += [(site, b) for b in buckets]
        self._rng.shuffle(found)  # several workers start in different places instead of racing for one
        return found

    async def _deliver(self, client: httpx2.AsyncClient, claimed: Claimed) -> None:
        with self._survive("a partner delivery"):
            target = self._targets.get((claimed.site, claimed.partner))
            if target is None:
                # Not in this worker's configuration: left to a worker that has it (a rolling deploy
                # adding a partner), retried like a failure, dead only after the whole window.
                result = "partner not configured"
                await self._settle(claimed, result, outcome_for(claimed, result, now_ms(), self._policy, self._rng))
                return
            site, partner = target
            try:
                body = event_body(claimed, site, partner, claimed.attempts + 1)
            except (KeyError, ValueError):  # not written by this version's store: kept, visible, never sent
                await self._settle(claimed, "malformed event", ("dead", 0))
                return
            # Never past the lease (less the time to settle): a slow claim must not let a delivery
            # overlap another worker's.
            left_s = (claimed.lease_until_ms - now_ms()) / 1000 - self._policy.store_timeout_s - LEASE_MARGIN_S
            if left_s <= 0:
                return  # the lease is nearly over: the entry comes due again, untouched
            result = await post(client, partner, claimed.event_id, body, min(self._policy.timeout_s, left_s))
            await self._settle(claimed, result, outcome_for(claimed, result, now_ms(), self._policy, self._rng))

    async def _settle(self, claimed: Claimed, result: str, decided: tuple[Outcome, int]) -> None:
        outcome, next_ms = decided
        ours = await self._outbox.settle(
            claimed,
            outcome=outcome,
            result=result,
            now_ms=now_ms(),
            next_ms=next_ms,
            timeout_s=self._policy.store_timeout_s,
        )
        if outcome == "dead":
            log.warning(
                "partner %s: event %s given up after %d attempts (last: %s); replay it once the partner is back",
                claimed.partner,
                claimed.event_id,
                claimed.attempts + 1,
                result,
            )
        elif outcome == "retry":
            log.info(
                "partner %s: event %s attempt %d failed (%s), retrying",
                claimed.partner,
                claimed.event_id,
                claimed.attempts + 1,
                result,
            )
        if not ours:
            log.info("partner %s: event %s was settled after its lease ran out", claimed.partner, claimed.event_id)

    async def _drain(self, inflight: set[asyncio.Task[None]]) -> None:
        """Let deliveries in flight finish for a few seconds; the rest are abandoned, and their leases
        run out so another worker sends them again (at-least-once)."""
        if not inflight:
            return
        _, pending = await asyncio.wait(set(inflight), timeout=self._policy.grace_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if pending:
            log.info("stopping: %d partner deliveries abandoned, to be sent again after their lease", len(pending))

    def _store_back(self) -> None:
        if self._store_down:
            self._store_down = False
            log.info("partner deliveries: Redis answers again")

    @contextlib.contextmanager
    def _survive(self, what: str) -> Iterator[None]:
        """Redis down or a bug of ours: logged (the type only: messages can hold data) and counted; the
        worker goes on, and whatever was not settled comes due again after its lease."""
        try:
            yield
        except StoreUnavailable:
            if not self._store_down:
                self._store_down = True
                log.warning("%s: Redis does not answer; retrying", what)
        except Exception as exc:
            log.error("%s failed: %s", what, type(exc).__name__)
            metrics.count_background_error()
