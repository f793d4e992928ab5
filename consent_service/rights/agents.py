"""Authorized agents (CCPA regs §7063): requests made for a person by someone they authorized.

The site's backend verified the agent's authority (its own process) and calls us with the
person's account id or the device token the person gave the agent. The request is carried out
exactly like the person's own, and recorded with source `agent`, the agent's name and reference,
and when it was received. A request whose device cannot be identified is answered 404 and
recorded as denied: the law wants a record of denials too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypedDict

from consent_service.consent.answers import DecisionAnswer
from consent_service.consent.devices import known_device
from consent_service.consent.service import ConsentService
from consent_service.core.errors import ApiError, unavailable
from consent_service.core.identity import DeviceTokens
from consent_service.core.model import Agent
from consent_service.core.regions import regime_for
from consent_service.core.site import Site
from consent_service.core.visitor import Visitor
from consent_service.core.vocab import Action, ErrorCode, RequestType, Source
from consent_service.rights.accounts import AccountData, AccountErasure, AccountOptOut, AccountService
from consent_service.rights.device_data import Asked, DeviceData, DeviceErasure, Rights
from consent_service.store import Store, StoreUnavailable, request_fields

DEVICE_NOT_VERIFIABLE = "device_not_verifiable"


@dataclass(frozen=True, slots=True)
class AgentBody:
    site: str
    account_id: str | None
    device: str | None
    type: RequestType
    agent: str
    reference: str
    received_ms: int | None


# The request's own answer: for an account its opt-out, data or deletion; for a device its decisions
# (without the device's token), data or deletion.
AccountResult = AccountOptOut | AccountData | AccountErasure
DeviceResult = DecisionAnswer | DeviceData | DeviceErasure


class AgentAnswer(TypedDict):
    """The answer to an agent's request (the OpenAPI document's `AgentAnswer`)."""

    site: str
    type: str  # a core.vocab.RequestType value
    agent: str
    reference: str
    answer: Literal["complied"]  # a request that cannot be carried out is an error answer instead
    result: AccountResult | DeviceResult


class AgentRequests:
    def __init__(
        self,
        store: Store,
        tokens: DeviceTokens,
        service: ConsentService,
        rights: Rights,
        accounts: AccountService,
        *,
        retention_ms: int,
        timeout_s: float,
    ) -> None:
        self._store = store
        self._tokens = tokens
        self._service = service
        self._rights = rights
        self._accounts = accounts
        self._retention_ms = retention_ms
        self._timeout_s = timeout_s

    async def handle(self, site: Site, body: AgentBody, now_ms: int) -> AgentAnswer:
        agent = Agent(body.agent, body.reference)
        request = Asked(now_ms=now_ms, source=Source.AGENT, agent=agent, received_ms=body.received_ms)
        result: AccountResult | DeviceResult
        if body.account_id is not None:
            result = await self._for_account(site, body.account_id, body.type, request)
        else:
            assert body.device is not None
            result = await self._for_device(site, body.device, body.type, request)
        return {
            "site": site.id,
            "type": body.type.value,
            "agent": agent.name,
            "reference": agent.reference,
            "answer": "complied",
            "result": result,
        }

    async def _for_account(self, site: Site, account_id: str, kind: RequestType, request: Asked) -> AccountResult:
        if kind is RequestType.OPT_OUT:
            return await self._accounts.opt_out(site, account_id, request)
        if kind is RequestType.ACCESS:
            return await self._accounts.access(site, account_id, request)
        return await self._accounts.erase(site, account_id, request)

    async def _for_device(self, site: Site, token: str, kind: RequestType, request: Asked) -> DeviceResult:
        verified = await known_device(self._store, site.id, self._tokens.verify(token, site.id), self._timeout_s)
        if verified is None:
            await self._deny(site, kind, request, DEVICE_NOT_VERIFIABLE)
            raise ApiError(
                ErrorCode.NOT_FOUND,
                "the device token is not valid, so the device cannot be identified (recorded as denied)",
            )
        visitor = Visitor(
            site=site,
            region=site.default_region,
            regime=regime_for(site.default_region, site.regimes),
            gpc_now=False,
            device=verified,
            token=None,
            user_agent=None,
            now_ms=request.now_ms,
        )
        if kind is RequestType.OPT_OUT:
            outcome = await self._service.consent(
                visitor,
                Action.OPT_OUT,
                {},
                Source.AGENT,
                audit_extra=request.fields(RequestType.OPT_OUT),
                client_state=False,  # the agent holds no device state: an outage is a 503 to retry
            )
            body = outcome.body.copy()
            body.pop("device", None)  # the person's token is theirs; the agent already has it
            return body
        act = self._rights.access if kind is RequestType.ACCESS else self._rights.erase
        return await act(visitor, request)

    async def _deny(self, site: Site, kind: RequestType, request: Asked, reason: str) -> None:
        fields = {"a": kind.value, "s": Source.AGENT.value}
        fields |= request_fields(kind, received_ms=request.received_ms, agent=request.agent, denied=reason)
        try:
            await self._store.trail.record_denial(site.id, request.now_ms, fields, self._retention_ms, self._timeout_s)
        except StoreUnavailable:
            raise unavailable() from None
