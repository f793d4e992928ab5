"""The answer to a visitor: the decisions, the IAB privacy strings, Consent Mode and the device's
token, shaped once for the decision, the experience and every write."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from consent_service.core.decision import Context, decide_all, sale_share_denied
from consent_service.core.iab import privacy_strings
from consent_service.core.identity import DeviceTokens
from consent_service.core.model import DeviceRecord
from consent_service.core.partner import OutboxSpecs, SubjectKind
from consent_service.core.presentation import consent_mode
from consent_service.core.regions import is_us
from consent_service.core.visitor import Visitor
from consent_service.obs import metrics as observability
from consent_service.stats.hooks import StatsHooks


@dataclass(frozen=True, slots=True)
class Outcome:
    body: dict[str, Any]
    device_token: str | None = None  # set as the site's `cs_device_<site>` cookie when not None
    deferred: Callable[[], Awaitable[None]] | None = None  # to run after the answer is sent
    opted_out: bool = False  # experience only: an opt-out of sale/sharing is in force (not an outage)


class Answers:
    """Shapes answers; counts the decisions it answers (in /metrics, and in the statistics when asked)."""

    def __init__(self, tokens: DeviceTokens, partners: OutboxSpecs, stats: StatsHooks) -> None:
        self._tokens = tokens
        self._partners = partners
        self._stats = stats

    def answer(
        self,
        visitor: Visitor,
        record: DeviceRecord | None,
        purposes: Iterable[str],
        new_token: str | None,
        *,
        unavailable: bool = False,
        deferred: Callable[[], Awaitable[None]] | None = None,
        counted: bool = False,  # a decision or experience answer: its decisions go into the statistics
    ) -> Outcome:
        site = visitor.site
        ctx = Context(site, visitor.regime, record, visitor.gpc_now, visitor.now_ms, unavailable)
        decisions = decide_all(ctx, purposes)
        observability.count_decisions(site.id, decisions)
        if counted:
            self._stats.decisions(visitor, decisions)
        strings = privacy_strings(
            us=is_us(visitor.region),
            has_sale_share=site.has_sale_share,
            opted_out=sale_share_denied(ctx, decisions),
            gpc=ctx.gpc,
            mspa_signatory=site.mspa_signatory,
        )
        body: dict[str, Any] = {
            "site": site.id,
            "region": visitor.region,
            "regime": visitor.regime.value,
            "gpc": ctx.gpc,
            "decisions": {pid: {"allowed": d.allowed, "reason": d.reason.value} for pid, d in decisions.items()},
            "gpp": strings.gpp,
            "gpp_sid": list(strings.gpp_sid),
            "usp": strings.usp,
            "consent_mode": consent_mode(site, decisions, ctx),
        }
        shown = new_token or visitor.token
        if shown is not None:
            body["device"] = shown
            if site.partners and (ids := self._partner_ids(visitor, shown)):
                body["partner_ids"] = ids
        return Outcome(body=body, device_token=new_token, deferred=deferred)

    def _partner_ids(self, visitor: Visitor, token: str) -> dict[str, str]:
        """Each partner's pseudonym of this device (the `subject.id` of its events), for the page
        to hand to the partner's tag; never the token or our device id."""
        if visitor.device is not None and token == visitor.token:
            device_id: str | None = visitor.device[0]
        else:
            verified = self._tokens.verify(token, visitor.site.id)
            device_id = verified[0] if verified is not None else None
        return {} if device_id is None else self._partners.subjects(visitor.site.id, SubjectKind.DEVICE, device_id)
