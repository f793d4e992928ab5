"""The visitor: what one request tells us about who asks, gathered once by the web layer and read by
every use case (the decision path, the writes, the rights, the statistics)."""

from __future__ import annotations

from dataclasses import dataclass

from consent_service.core.clock import DAY_MS
from consent_service.core.identity import Verified
from consent_service.core.signals import device_class
from consent_service.core.site import Site
from consent_service.core.vocab import DeviceClass, Regime


@dataclass(slots=True)  # not frozen: built on every request, and frozen dataclasses are slower to build
class Visitor:
    """What one request tells us, gathered once by the web layer."""

    site: Site
    region: str | None
    regime: Regime
    gpc_now: bool
    device: Verified | None  # verified (device id, token signing time in s, any pending opt-out)
    token: str | None  # the caller's token, when valid (echoed back as `device`)
    user_agent: str | None
    now_ms: int
    client_address: str | None = None  # only ever used hashed, for rate limits
    accept_language: str | None = None  # the raw header: a TC string names the visitor's language
    # The policy version choices are recorded under and checked against: the site's, and where TCF
    # applies the GVL's TCF policy version too (core/tcf_signals.policy_version). None: the site's.
    policy: str | None = None

    @property
    def policy_version(self) -> str:
        return self.policy if self.policy is not None else self.site.policy_version

    @property
    def day(self) -> int:
        return self.now_ms // DAY_MS

    @property
    def device_class(self) -> DeviceClass:
        return device_class(self.user_agent)
