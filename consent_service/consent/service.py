"""Use cases: read the record, decide, write what must be written, shape the answer.

The web layer parses requests into a `Visitor` and a validated command; this module holds the
business rules of *when* to write (GPC sightings, daily refresh, new devices) and never touches
HTTP or Redis directly.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial

from consent_service.config.catalogs import site_texts_for
from consent_service.consent.account_carry import AccountCarry
from consent_service.consent.answers import Answers, DecisionAnswer, ExperienceAnswer, Outcome
from consent_service.consent.devices import adopt_legacy
from consent_service.consent.ratelimit import WriteLimits, over_limit, rate_limited
from consent_service.consent.rules import (
    change_for,
    check_purposes,
    first_gpc,
    only_refusals,
    opt_out_change_id,
    refuses_sale,
    request_type,
    sale_share_off,
    unstored,
    write_due,
)
from consent_service.core.decision import (
    Context,
    live_choices,
    pending_opt_out_due,
    sale_share_denied,
    should_prompt,
    with_pending_opt_out,
)
from consent_service.core.errors import ApiError
from consent_service.core.iab import parsed_sections
from consent_service.core.identity import DeviceTokens, PendingOptOut, Verified, new_device_id
from consent_service.core.model import DeviceRecord
from consent_service.core.partner import NO_PARTNERS, OutboxSpecs
from consent_service.core.presentation import purpose_view
from consent_service.core.tcf_signals import TcfSetup
from consent_service.core.visitor import Visitor
from consent_service.core.vocab import Action, DeviceClass, ErrorCode, RequestType, Source
from consent_service.obs import metrics
from consent_service.stats.hooks import NO_STATS, StatsHooks
from consent_service.store import Change, Store, StoreUnavailable, request_fields

RETRY_AFTER_S = 5
TOKEN_RESIGN_AFTER_S = 86_400  # re-sign (and so slide the cookie) at most once a day


@dataclass(slots=True)
class _Seen:
    visitor: Visitor  # as it came, or with a legacy token's device adopted or dropped (adopt_legacy)
    record: DeviceRecord | None
    unavailable: bool
    token: str | None = None
    deferred: Callable[[], Awaitable[None]] | None = None


class ConsentService:
    def __init__(
        self,
        store: Store,
        tokens: DeviceTokens,
        *,
        read_timeout_s: float,
        write_timeout_s: float,
        limits: WriteLimits | None = None,
        stats: StatsHooks | None = None,  # statistics (stats/hooks.py); None: nothing is counted
        partners: OutboxSpecs = NO_PARTNERS,  # the sites' partners, for their ids of the device
        tcf: TcfSetup | None = None,  # the GVL and CMP id, for TC strings (None: no TCF anywhere)
    ) -> None:
        self._stats = stats if stats is not None else NO_STATS
        self._answers = Answers(tokens, partners, self._stats, tcf)
        self._carry = AccountCarry(store, write_timeout_s)
        self._store = store
        self._tokens = tokens
        self._limits = limits
        self._read_timeout_s = read_timeout_s
        self._write_timeout_s = write_timeout_s

    async def decision(self, visitor: Visitor, purposes: Iterable[str]) -> Outcome[DecisionAnswer]:
        """Answer a tag loader within one time budget: one read, and a write only for a first GPC
        sighting. The daily refresh runs after the answer (`Outcome.deferred`)."""
        check_purposes(visitor.site, purposes := tuple(purposes))
        seen = await self._observe(visitor)
        return self._answers.answer(
            seen.visitor,
            seen.record,
            purposes,
            seen.token,
            unavailable=seen.unavailable,
            deferred=seen.deferred,
            counted=True,
        )

    async def experience(self, visitor: Visitor, language: str, *, banner: bool = True) -> Outcome[ExperienceAnswer]:
        """Everything the banner needs in one answer (and a GPC sighting recorded, like a decision).
        `banner=False`: for one of our own pages (no banner shown, no decisions answered to count)."""
        site = visitor.site
        seen = await self._observe(visitor)
        visitor = seen.visitor
        outcome = self._answers.answer(
            visitor,
            seen.record,
            site.purposes,
            seen.token,
            unavailable=seen.unavailable,
            deferred=seen.deferred,
            counted=banner,
            language=language,
        )
        ctx = Context(
            site, visitor.regime, seen.record, visitor.gpc_now, visitor.now_ms, seen.unavailable, visitor.policy
        )
        shown = should_prompt(ctx)
        if banner:  # not our own no-JS opt-out page: that is no page view of the site
            self._stats.banner(visitor, shown)
        # The decision answer's keys, then the banner's, in the order the answer always had.
        body: ExperienceAnswer = {
            **outcome.body,
            "language": language,
            "show": shown,
            "policy_version": visitor.policy_version,
            "gpc_lift": site.gpc_lift_by_opt_in,
            "gpp_parsed": parsed_sections(outcome.body["gpp"]),
            "texts": site_texts_for(language, site),
            "purposes": [purpose_view(p, language) for p in site.purposes.values()],
            "choices": live_choices(ctx),
        }
        if outcome.tcf_data is not None:
            body["tcf_data"] = dict(outcome.tcf_data)
        # A carried opt-out (acknowledged while storage was down) is in force too, as far as the
        # person is told, even while storage is still down.
        carried = seen.unavailable and visitor.device is not None and visitor.device.pending is not None
        return Outcome(
            body=body,
            device_token=outcome.device_token,
            deferred=outcome.deferred,
            opted_out=carried or sale_share_denied(ctx, {}, fail_closed=False),
        )

    async def _observe(self, visitor: Visitor) -> _Seen:
        """Read the device's record and write what a visit must write (GPC first seen; daily refresh)."""
        started = time.monotonic()
        record, unavailable = None, False
        if visitor.device is not None:
            try:
                record = await self._store.get(visitor.site.id, visitor.device[0], self._read_timeout_s)
            except StoreUnavailable:
                unavailable = True
            if visitor.device.legacy:
                visitor = adopt_legacy(visitor, None if unavailable else record is not None)
        if visitor.gpc_now:
            metrics.count_gpc(visitor.site.id, first_gpc(visitor, record, unavailable))
        self._stats.seen(visitor, record, unavailable)
        if visitor.device_class is DeviceClass.BOT:
            return _Seen(visitor, record, unavailable)
        pending = visitor.device.pending if visitor.device is not None else None
        if pending is not None and unavailable:
            return _Seen(visitor, with_pending_opt_out(record, visitor.site, pending.at_ms), True)
        if unavailable:
            return _Seen(visitor, record, True)
        if visitor.device is not None and visitor.device.pending is not None:
            return await self._settle(
                visitor, visitor.device, record, self._read_timeout_s - (time.monotonic() - started)
            )
        if not write_due(visitor, record):
            token = self._fresh_token(visitor, visitor.device[0]) if visitor.device is not None else None
            return _Seen(visitor, record, False, token, self._carry.due(visitor, record))
        if visitor.gpc_now and (record is None or record.gpc_first_seen_ms is None):
            if visitor.device is None and await over_limit(self._limits, visitor) is not None:
                # An anonymous first sighting over the client's limit: decided as GPC (this request
                # carries it), but nothing is recorded or issued, so a flood cannot create records.
                self._stats.over_limit(visitor, gpc=True)
                return _Seen(visitor, None, False)
            budget = self._read_timeout_s - (time.monotonic() - started)
            record, token = await self._record_first_sighting(visitor, record, budget)
            return _Seen(visitor, record, False, token, self._carry.due(visitor, record))
        assert visitor.device is not None  # a refresh is only due for a known record
        assert record is not None
        device_id = visitor.device[0]
        refresh = partial(self._refresh, visitor, device_id, record)
        return _Seen(visitor, record, False, self._fresh_token(visitor, device_id), refresh)

    async def _settle(self, visitor: Visitor, device: Verified, record: DeviceRecord | None, budget_s: float) -> _Seen:
        """Write an opt-out the device's token carries (acknowledged while storage was unreachable)
        with its audit entry, and hand out a token without it. Not due (already written, or a later
        choice superseded it): only the token. A failure keeps the token as it is."""
        assert device.pending is not None
        if pending_opt_out_due(record, device.pending.at_ms):
            if record is None and await over_limit(self._limits, visitor) is not None:
                # A carried opt-out that would create its record counts like the anonymous write it
                # stands for (else tokens carried over the limit would be a way round it); over the
                # limit it stays carried: decided on, not written, the token left as it is.
                return _Seen(visitor, with_pending_opt_out(record, visitor.site, device.pending.at_ms), False)
            try:
                applied = await self._store.apply(self._pending_change(visitor, device), max(budget_s, 0.001))
            except StoreUnavailable:
                return _Seen(visitor, with_pending_opt_out(record, visitor.site, device.pending.at_ms), False)
            record = applied.record or record
        token = self._tokens.sign(visitor.site.id, device.device_id)
        return _Seen(visitor, record, False, token, self._carry.due(visitor, record))

    def _pending_change(self, visitor: Visitor, device: Verified) -> Change:
        assert device.pending is not None
        source = Source(device.pending.source) if device.pending.source in set(Source) else Source.API
        return dataclasses.replace(
            change_for(
                visitor, device.device_id, choices=sale_share_off(visitor.site), action=Action.OPT_OUT, source=source
            ),
            audit_extra=request_fields(RequestType.OPT_OUT, received_ms=device.pending.at_ms),
            carry_to_account=True,
            settles_pending_ms=device.pending.at_ms,
            change_id=opt_out_change_id(device.pending.at_ms),
        )

    async def consent(
        self,
        visitor: Visitor,
        action: Action,
        choices: Mapping[str, bool],
        source: Source,
        *,
        policy_version: str | None = None,
        audit_extra: Mapping[str, str] | None = None,
        client_state: bool = True,
    ) -> Outcome[DecisionAnswer]:
        """Record a choice. `audit_extra`: request fields for its audit entry (an agent's request).

        An opt-out that cannot be stored is still acknowledged when `client_state`: the answer's
        signed device token (cookie and the banner's saved token) carries it until it is written."""
        site = visitor.site
        if action is Action.REJECT_ALL:
            choices = dict.fromkeys(site.optional_purposes, False)
        elif action is Action.ACCEPT_ALL:
            # "Accept all" from a browser sending GPC does not include sale/share: only an explicit
            # choice of that purpose (in preferences the visitor opened) may lift GPC (DESIGN).
            choices = {p: True for p in site.optional_purposes if not (visitor.gpc_now and site.purposes[p].sale_share)}
        elif action is Action.OPT_OUT:
            choices = sale_share_off(site)
        else:
            check_purposes(site, choices)
            choices = {pid: v for pid, v in choices.items() if not site.purposes[pid].necessary}
            if not choices:
                raise ApiError(ErrorCode.INVALID_BODY, "`choices` names no optional purpose: nothing to record")
        if audit_extra is None:
            audit_extra = request_fields(request_type(visitor, action, choices))
        audit_extra = {**audit_extra, **self._answers.tcf_audit(visitor)}
        version = policy_version or visitor.policy_version
        carry = action is Action.OPT_OUT and client_state and visitor.device_class is not DeviceClass.BOT
        # A device without a token gets this id whether its write is stored or carried: a write that
        # lands after its answer gave up on it then names the same device as the carried token.
        new_id = new_device_id()
        try:
            visitor = await self._adopt(visitor)
            if visitor.device is not None and visitor.device.legacy:  # storage could not tell whose it is
                raise StoreUnavailable("a legacy token could not be checked")
            # Exempt from the limits: a refusal and nothing else, from a device with a valid token
            # that carries no opt-out yet to be written (that may create its record, like a write
            # without a token). Anything else counts: a write without a token against the client's
            # limit (so a flood cannot create records faster than that), one with a token against both.
            known = visitor.device is not None and visitor.device.pending is None
            if not (known and (action is Action.OPT_OUT or only_refusals(choices))):
                wait = await over_limit(self._limits, visitor)
                if wait is not None:
                    if carry:  # honoured, and carried in the token until the device comes back
                        self._stats.over_limit(visitor, gpc=False)
                        return self._carried_opt_out(visitor, source, version, new_id, counted=False)
                    raise rate_limited(wait)
            return await self._write(
                visitor, action, choices, source, new_id, policy_version=version, audit_extra=audit_extra
            )
        except StoreUnavailable:
            if carry:
                return self._carried_opt_out(visitor, source, version, new_id)
            raise ApiError(
                ErrorCode.STORE_UNAVAILABLE,
                "consent storage is unavailable; the choice may not have been recorded, please retry",
                retry_after=RETRY_AFTER_S,
            ) from None

    async def _adopt(self, visitor: Visitor) -> Visitor:
        """The visitor with a legacy token's device adopted or dropped (adopt_legacy); one read, and
        only for a legacy token. Storage unreachable: the visitor as it is, still legacy (a write
        must then not go ahead as a new device: it could orphan the device's record)."""
        if visitor.device is None or not visitor.device.legacy:
            return visitor
        try:
            record = await self._store.get(visitor.site.id, visitor.device.device_id, self._write_timeout_s)
        except StoreUnavailable:
            return visitor
        return adopt_legacy(visitor, record is not None)

    def _carried_opt_out(
        self, visitor: Visitor, source: Source, policy_version: str, new_id: str, *, counted: bool = True
    ) -> Outcome[DecisionAnswer]:
        """The opt-out acknowledged without storing it (storage unreachable, or an anonymous client
        over its limit): decided as if stored, carried in the signed token (the earliest such
        opt-out, if the token already carried one) and written when the device comes back.
        `counted`: in the statistics' opt-outs (one over the limit is counted apart by the caller)."""
        device = visitor.device
        device_id = device.device_id if device is not None else new_id
        pending = (device.pending if device else None) or PendingOptOut(visitor.now_ms, source.value)
        record = unstored(visitor, sale_share_off(visitor.site), policy_version)
        if counted:
            self._stats.wrote(visitor, Action.OPT_OUT, source, device_id, changed=True)
        # A legacy device that storage could not place stays legacy: adopted or moved once it can.
        legacy = device is not None and device.legacy
        token = self._tokens.sign(visitor.site.id, device_id, pending, legacy=legacy)
        outcome = Answers.for_banner(self._answers.answer(visitor, record, visitor.site.purposes, token))
        outcome.body["stored"] = False
        return outcome

    async def _write(
        self,
        visitor: Visitor,
        action: Action,
        choices: Mapping[str, bool],
        source: Source,
        new_id: str,
        *,
        policy_version: str,
        audit_extra: Mapping[str, str],
    ) -> Outcome[DecisionAnswer]:
        if visitor.device_class is DeviceClass.BOT:
            # Bots get the answer their choice would give, but nothing is stored or issued for them.
            self._stats.bot(visitor)
            return self._answers.answer(
                visitor, unstored(visitor, choices, policy_version), visitor.site.purposes, None
            )
        device_id = visitor.device[0] if visitor.device else new_id
        if visitor.device is not None and visitor.device.pending is not None:
            # The opt-out this token carries comes first, so the audit shows it where it belongs.
            await self._store.apply(self._pending_change(visitor, visitor.device), self._write_timeout_s)
        change = dataclasses.replace(
            change_for(
                visitor, device_id, choices=choices, action=action, source=source, policy_version=policy_version
            ),
            audit_extra=audit_extra,
            carry_to_account=visitor.gpc_now or refuses_sale(visitor, choices),
            change_id=opt_out_change_id(visitor.now_ms) if action is Action.OPT_OUT else None,
        )
        applied = await self._store.apply(change, self._write_timeout_s)  # StoreUnavailable: see consent()
        record = applied.record
        self._stats.wrote(visitor, action, source, device_id, changed=bool(applied.changed))
        if record is not None and record.account is not None:
            record = await self._carry.with_account(visitor, device_id, record)
        # Re-signed on every write: the cookie's lifetime slides with the visitor's activity.
        return Answers.for_banner(
            self._answers.answer(visitor, record, visitor.site.purposes, self._tokens.sign(visitor.site.id, device_id))
        )

    async def _record_first_sighting(
        self, visitor: Visitor, record: DeviceRecord | None, budget_s: float
    ) -> tuple[DeviceRecord | None, str | None]:
        """Record GPC for the device; a new device is issued only once its record is written.

        A failure changes no answer: this request's GPC denies sale/share anyway."""
        device_id = visitor.device[0] if visitor.device else new_device_id()
        try:
            change = dataclasses.replace(change_for(visitor, device_id, gpc_seen=True), carry_to_account=True)
            applied = await self._store.apply(change, max(budget_s, 0.001))
        except StoreUnavailable:
            return record, None
        self._stats.issued(visitor, device_id, gpc=True)
        return applied.record or record, self._fresh_token(visitor, device_id)

    async def _refresh(self, visitor: Visitor, device_id: str, record: DeviceRecord) -> None:
        """After the answer: slide the TTL and note a repeated GPC sighting; best effort. A linked
        account's lifetime slides too, and a device opt-out it lacks is carried over."""
        with contextlib.suppress(StoreUnavailable):
            await self._store.apply(change_for(visitor, device_id), self._write_timeout_s)
            if record.account is not None:
                await self._store.accounts.touch(
                    visitor.site.id, record.account, device_id, visitor.now_ms, self._write_timeout_s
                )
        if (carry := self._carry.due(visitor, record)) is not None:
            await carry()

    def _fresh_token(self, visitor: Visitor, device_id: str) -> str | None:
        if visitor.device is None or visitor.now_ms // 1000 - visitor.device[1] >= TOKEN_RESIGN_AFTER_S:
            return self._tokens.sign(visitor.site.id, device_id)
        return None

    async def unready(self) -> tuple[str, ...]:
        """What of the store does not answer (for /readyz): nothing when ready."""
        return await self._store.unreachable(self._read_timeout_s * 5)
