"""Which writes are rate limited, and by what (issue 5, "Security").

- Writes are limited per device and per client address; the address is only ever used as a keyed
  hash (identity.Pseudonyms.client), never stored.
- An opt-out is never refused for a rate limit: it is the privacy-protective choice, and a limit
  that turned it away would keep the sale on. Decisions are never limited either: a limited
  decision could only be answered by failing open or closed, and both would be wrong here.
- Over the limit: 429 `rate_limited` with `Retry-After`.
"""

from __future__ import annotations

from limits import RateLimitItem, parse

from consent_service.errors import ApiError
from consent_service.identity import Pseudonyms
from consent_service.settings import Settings
from consent_service.store.limits import Limiter
from consent_service.vocab import ErrorCode


class WriteLimits:
    def __init__(self, limiter: Limiter, settings: Settings, pseudonyms: Pseudonyms) -> None:
        self._limiter = limiter
        self._pseudonyms = pseudonyms
        self._device: RateLimitItem | None = parse(settings.rate_limit_device) if settings.rate_limit_device else None
        self._client: RateLimitItem | None = parse(settings.rate_limit_client) if settings.rate_limit_client else None

    async def warm(self) -> None:
        await self._limiter.warm(timeout_s=2.0)

    async def close(self) -> None:
        await self._limiter.close()

    async def check(self, site: str, device_id: str | None, client_address: str | None) -> None:
        """Count one write (not an opt-out: callers never ask for those); raise 429 when over."""
        waits = []
        if self._device is not None and device_id is not None:
            waits.append(await self._limiter.hit(self._device, site, "device", device_id))
        if self._client is not None and client_address:
            client = self._pseudonyms.client(client_address)
            waits.append(await self._limiter.hit(self._client, site, "client", client))
        longest = max((w for w in waits if w is not None), default=None)
        if longest is not None:
            raise ApiError(ErrorCode.RATE_LIMITED, "too many writes; please retry later", retry_after=longest)
