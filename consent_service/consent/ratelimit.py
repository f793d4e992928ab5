"""Which writes are rate limited, and by what (issue 5, "Security"; issue 11, "Abuse").

- Writes are limited per device and per client address; the address is only ever used as a keyed
  hash (identity.Pseudonyms.client), never stored.
- A write without a valid device token (a first click on Do Not Sell, the no-JS form, a first GPC
  sighting), or one that writes an opt-out a token carries into a record not yet made, counts
  against the client's limit, so a flood cannot create records (kept 24 months) faster than that.
  Over it (service.py), a one-click opt-out is honoured and carried in the signed token until the
  device comes back under the limit, and a GPC request is decided as GPC but not recorded; any other
  write gets 429 `rate_limited` with `Retry-After` (the banner keeps such a choice in force on the
  page and sends it again).
- Exempt: a write whose every choice is a refusal, from a device with a valid token that carries no
  opt-out still to be written (its opt-out must never be turned away). Decisions are never limited:
  a limited decision could only be answered by failing open or closed, and both would be wrong here.
- Behind a proxy that is not declared (`CONSENT_FORWARDED_HOPS=0`), every visitor shares the
  proxy's address and so one limit: when much of a minute's writes are over the client limit, a
  warning names the setting (ClientLimitWatch).
"""

from __future__ import annotations

import logging
import time

from limits import RateLimitItem, parse

from consent_service.config.settings import Settings
from consent_service.core.errors import ApiError
from consent_service.core.keyed import Pseudonyms
from consent_service.core.visitor import Visitor
from consent_service.core.vocab import DeviceClass, ErrorCode
from consent_service.store.limits import Limiter

log = logging.getLogger("consent_service")

WATCH_WINDOW_S = 60.0
WATCH_MIN_OVER = 20  # over-limit writes in a window before a warning can be due
WATCH_SHARE = 0.5  # ... and at least this share of the window's client-limited writes


class ClientLimitWatch:
    """This process's tally of client-limited writes per minute: a warning (once per window) when a
    large share is over the limit, naming the setting that is most likely wrong."""

    def __init__(self, settings: Settings) -> None:
        self._rule, self._hops = settings.rate_limit_client, settings.forwarded_hops
        self._started = -WATCH_WINDOW_S  # a window starts with its first write, not on the clock's minute
        self._checked = self._over = 0
        self._warned = False

    def count(self, over: bool, now_s: float | None = None) -> None:
        now = time.monotonic() if now_s is None else now_s
        if now - self._started >= WATCH_WINDOW_S:
            self._started, self._checked, self._over, self._warned = now, 0, 0, False
        self._checked += 1
        self._over += over
        if not self._warned and self._over >= WATCH_MIN_OVER and self._over >= WATCH_SHARE * self._checked:
            self._warned = True
            log.warning(self.message())

    def message(self) -> str:
        share = f"{self._over} of {self._checked} writes this minute were over CONSENT_RATE_LIMIT_CLIENT ({self._rule})"
        if self._hops == 0:
            return (
                f"{share}. Behind a proxy or load balancer, set CONSENT_FORWARDED_HOPS to the number of proxies "
                "in front: with 0 every visitor shares the proxy's address and its one limit."
            )
        return f"{share}: one client (CONSENT_FORWARDED_HOPS={self._hops}) is sending more than its limit."


class WriteLimits:
    def __init__(self, limiter: Limiter, settings: Settings, pseudonyms: Pseudonyms) -> None:
        self._limiter = limiter
        self._pseudonyms = pseudonyms
        self._device: RateLimitItem | None = parse(settings.rate_limit_device) if settings.rate_limit_device else None
        self._client: RateLimitItem | None = parse(settings.rate_limit_client) if settings.rate_limit_client else None
        self.watch = ClientLimitWatch(settings)

    async def warm(self) -> None:
        await self._limiter.warm(timeout_s=2.0)

    async def close(self) -> None:
        await self._limiter.close()

    async def over(self, site: str, device_id: str | None, client_address: str | None) -> int | None:
        """Count one write (`device_id` None: no valid token); None when allowed, else the seconds
        until the longest window it is over resets."""
        waits = []
        if self._device is not None and device_id is not None:
            waits.append(await self._limiter.hit(self._device, site, "device", device_id))
        if self._client is not None and client_address:
            client = self._pseudonyms.client(client_address)
            waited = await self._limiter.hit(self._client, site, "client", client)
            self.watch.count(waited is not None)
            waits.append(waited)
        return max((w for w in waits if w is not None), default=None)


async def over_limit(limits: WriteLimits | None, visitor: Visitor) -> int | None:
    """Count one write against the device's and the client's limits (a bot's is never written, so
    never counted): None when allowed, else the seconds to wait."""
    if limits is None or visitor.device_class is DeviceClass.BOT:
        return None
    device_id = visitor.device.device_id if visitor.device is not None else None
    return await limits.over(visitor.site.id, device_id, visitor.client_address)


async def limit_writes(limits: WriteLimits | None, visitor: Visitor) -> None:
    """Count a write against the device's and the client's limits; 429 when over."""
    wait = await over_limit(limits, visitor)
    if wait is not None:
        raise rate_limited(wait)


def rate_limited(wait_s: int) -> ApiError:
    return ApiError(ErrorCode.RATE_LIMITED, "too many writes; please retry later", retry_after=wait_s)
