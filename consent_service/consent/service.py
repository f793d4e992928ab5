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
from typing import Any

from consent_service.consent.maintenance import carry_opt_out
from consent_service.consent.ratelimit import WriteLimits
from consent_service.core.decision import (
    Context,
    account_opt_out_due,
    decide_all,
    live_choices,
    own_opt_out,
    pending_opt_out_due,
    sale_share_denied,
    should_prompt,
    with_pending_opt_out,
)
from consent_service.core.errors import ApiError, unavailable
from consent_service.core.iab import parsed_sections, privacy_strings
from consent_service.core.identity import (
    DeviceTokens,
    PendingOptOut,
    Verified,
    bucket_of,
    derived_device_id,
    new_device_id,
)
from consent_service.core.model import Choice, DeviceRecord
from consent_service.core.partner import NO_PARTNERS, OutboxSpecs, SubjectKind
from consent_service.core.presentation import consent_mode, purpose_view
from consent_service.core.regions import is_us
from consent_service.core.site import Site
from consent_service.core.texts import texts_for
from consent_service.core.visitor import Visitor
from consent_service.core.vocab import Action, DeviceClass, ErrorCode, Regime, RequestType, Source
from consent_service.obs import metrics as observability
from consent_service.stats.counter import NO_STATS, StatsHooks
from consent_service.store import Change, Store, StoreUnavailable, request_fields

RETRY_AFTER_S = 5
TOKEN_RESIGN_AFTER_S = 86_400  # re-sign (and so slide the cookie) at most once a day


@dataclass(frozen=True, slots=True)
class Outcome:
    body: dict[str, Any]
    device_token: str | None = None  # set as the site's `cs_device_<site>` cookie when not None
    deferred: Callable[[], Awaitable[None]] | None = None  # to run after the answer is sent
    opted_out: bool = False  # experience only: an opt-out of sale/sharing is in force (not an outage)


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
        stats: StatsHooks | None = None,  # statistics (stats.py); None: nothing is counted
        partners: OutboxSpecs = NO_PARTNERS,  # the sites' partners, for their ids of the device
    ) -> None:
        self._stats = stats if stats is not None else NO_STATS
        self._partners = partners
        self._store = store
        self._tokens = tokens
        self._limits = limits
        self._read_timeout_s = read_timeout_s
        self._write_timeout_s = write_timeout_s

    async def decision(self, visitor: Visitor, purposes: Iterable[str]) -> Outcome:
        """Answer a tag loader within one time budget: one read, and a write only for a first GPC
        sighting. The daily refresh runs after the answer (`Outcome.deferred`)."""
        _check_purposes(visitor.site, purposes := tuple(purposes))
        seen = await self._observe(visitor)
        return self._answer(
            seen.visitor,
            seen.record,
            purposes,
            seen.token,
            unavailable=seen.unavailable,
            deferred=seen.deferred,
            counted=True,
        )

    async def experience(self, visitor: Visitor, language: str, *, banner: bool = True) -> Outcome:
        """Everything the banner needs in one answer (and a GPC sighting recorded, like a decision).
        `banner=False`: for one of our own pages (no banner shown, no decisions answered to count)."""
        site = visitor.site
        seen = await self._observe(visitor)
        visitor = seen.visitor
        outcome = self._answer(
            visitor,
            seen.record,
            site.purposes,
            seen.token,
            unavailable=seen.unavailable,
            deferred=seen.deferred,
            counted=banner,
        )
        ctx = Context(site, visitor.regime, seen.record, visitor.gpc_now, visitor.now_ms, seen.unavailable)
        shown = should_prompt(ctx)
        if banner:  # not our own no-JS opt-out page: that is no page view of the site
            self._stats.banner(visitor, shown)
        outcome.body.update(
            language=language,
            show=shown,
            policy_version=site.policy_version,
            gpc_lift=site.gpc_lift_by_opt_in,
            gpp_parsed=parsed_sections(outcome.body["gpp"]),
            texts=texts_for(language, site.texts),
            purposes=[purpose_view(p, language) for p in site.purposes.values()],
            choices=live_choices(ctx),
        )
        # A carried opt-out (acknowledged while storage was down) is in force too, as far as the
        # person is told, even while storage is still down.
        carried = seen.unavailable and visitor.device is not None and visitor.device.pending is not None
        return dataclasses.replace(outcome, opted_out=carried or sale_share_denied(ctx, {}, fail_closed=False))

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
            observability.count_gpc(visitor.site.id, _first_gpc(visitor, record, unavailable))
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
        if not self._write_due(visitor, record):
            token = self._fresh_token(visitor, visitor.device[0]) if visitor.device is not None else None
            return _Seen(visitor, record, False, token, self._carry_to_account(visitor, record))
        if visitor.gpc_now and (record is None or record.gpc_first_seen_ms is None):
            if visitor.device is None and await over_limit(self._limits, visitor) is not None:
                # An anonymous first sighting over the client's limit: decided as GPC (this request
                # carries it), but nothing is recorded or issued, so a flood cannot create records.
                self._stats.over_limit(visitor, gpc=True)
                return _Seen(visitor, None, False)
            budget = self._read_timeout_s - (time.monotonic() - started)
            record, token = await self._record_first_sighting(visitor, record, budget)
            return _Seen(visitor, record, False, token, self._carry_to_account(visitor, record))
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
        return _Seen(visitor, record, False, token, self._carry_to_account(visitor, record))

    def _pending_change(self, visitor: Visitor, device: Verified) -> Change:
        assert device.pending is not None
        source = Source(device.pending.source) if device.pending.source in set(Source) else Source.API
        return dataclasses.replace(
            self._change(
                visitor, device.device_id, choices=_sale_share_off(visitor.site), action=Action.OPT_OUT, source=source
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
    ) -> Outcome:
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
            choices = _sale_share_off(site)
        else:
            _check_purposes(site, choices)
            choices = {pid: v for pid, v in choices.items() if not site.purposes[pid].necessary}
            if not choices:
                raise ApiError(ErrorCode.INVALID_BODY, "`choices` names no optional purpose: nothing to record")
        if audit_extra is None:
            audit_extra = request_fields(_request_type(visitor, action, choices))
        version = policy_version or site.policy_version
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
            if not (known and (action is Action.OPT_OUT or _only_refusals(choices))):
                wait = await over_limit(self._limits, visitor)
                if wait is not None:
                    if carry:  # honoured, and carried in the token until the device comes back
                        self._stats.over_limit(visitor, gpc=False)
                        return self._carried_opt_out(visitor, source, version, new_id, counted=False)
                    raise _rate_limited(wait)
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
    ) -> Outcome:
        """The opt-out acknowledged without storing it (storage unreachable, or an anonymous client
        over its limit): decided as if stored, carried in the signed token (the earliest such
        opt-out, if the token already carried one) and written when the device comes back.
        `counted`: in the statistics' opt-outs (one over the limit is counted apart by the caller)."""
        device = visitor.device
        device_id = device.device_id if device is not None else new_id
        pending = (device.pending if device else None) or PendingOptOut(visitor.now_ms, source.value)
        record = _unstored(visitor, _sale_share_off(visitor.site), policy_version)
        if counted:
            self._stats.wrote(visitor, Action.OPT_OUT, source, device_id, changed=True)
        # A legacy device that storage could not place stays legacy: adopted or moved once it can.
        legacy = device is not None and device.legacy
        token = self._tokens.sign(visitor.site.id, device_id, pending, legacy=legacy)
        outcome = self._answer(visitor, record, visitor.site.purposes, token)
        outcome.body.update(gpp_parsed=parsed_sections(outcome.body["gpp"]), stored=False)
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
    ) -> Outcome:
        if visitor.device_class is DeviceClass.BOT:
            # Bots get the answer their choice would give, but nothing is stored or issued for them.
            self._stats.bot(visitor)
            return self._answer(visitor, _unstored(visitor, choices, policy_version), visitor.site.purposes, None)
        device_id = visitor.device[0] if visitor.device else new_id
        if visitor.device is not None and visitor.device.pending is not None:
            # The opt-out this token carries comes first, so the audit shows it where it belongs.
            await self._store.apply(self._pending_change(visitor, visitor.device), self._write_timeout_s)
        change = dataclasses.replace(
            self._change(
                visitor, device_id, choices=choices, action=action, source=source, policy_version=policy_version
            ),
            audit_extra=audit_extra,
            carry_to_account=visitor.gpc_now or _refuses_sale(visitor, choices),
            change_id=opt_out_change_id(visitor.now_ms) if action is Action.OPT_OUT else None,
        )
        applied = await self._store.apply(change, self._write_timeout_s)  # StoreUnavailable: see consent()
        record = applied.record
        self._stats.wrote(visitor, action, source, device_id, changed=bool(applied.changed))
        if record is not None and record.account is not None:
            record = await self._with_account(visitor, device_id, record)
        # Re-signed on every write: the cookie's lifetime slides with the visitor's activity.
        outcome = self._answer(visitor, record, visitor.site.purposes, self._tokens.sign(visitor.site.id, device_id))
        outcome.body["gpp_parsed"] = parsed_sections(outcome.body["gpp"])
        return outcome

    @staticmethod
    def _write_due(visitor: Visitor, record: DeviceRecord | None) -> bool:
        """A GPC sighting not yet recorded today, or the daily refresh of a known record."""
        if visitor.gpc_now and (record is None or record.gpc_last_day != visitor.day):
            return True
        # The refresh slides the record's TTL, so an opt-out never lapses while the device visits.
        return record is not None and record.refreshed_day != visitor.day

    async def _record_first_sighting(
        self, visitor: Visitor, record: DeviceRecord | None, budget_s: float
    ) -> tuple[DeviceRecord | None, str | None]:
        """Record GPC for the device; a new device is issued only once its record is written.

        A failure changes no answer: this request's GPC denies sale/share anyway."""
        device_id = visitor.device[0] if visitor.device else new_device_id()
        try:
            change = dataclasses.replace(self._change(visitor, device_id, gpc_seen=True), carry_to_account=True)
            applied = await self._store.apply(change, max(budget_s, 0.001))
        except StoreUnavailable:
            return record, None
        self._stats.issued(visitor, device_id, gpc=True)
        return applied.record or record, self._fresh_token(visitor, device_id)

    async def _refresh(self, visitor: Visitor, device_id: str, record: DeviceRecord) -> None:
        """After the answer: slide the TTL and note a repeated GPC sighting; best effort. A linked
        account's lifetime slides too, and a device opt-out it lacks is carried over."""
        with contextlib.suppress(StoreUnavailable):
            await self._store.apply(self._change(visitor, device_id), self._write_timeout_s)
            if record.account is not None:
                await self._store.accounts.touch(
                    visitor.site.id, record.account, device_id, visitor.now_ms, self._write_timeout_s
                )
        if (carry := self._carry_to_account(visitor, record)) is not None:
            await carry()

    def _carry_to_account(self, visitor: Visitor, record: DeviceRecord | None) -> Callable[[], Awaitable[None]] | None:
        """The account-wide opt-out to write after the answer, when this linked device opted out (or
        sends GPC) and its account has not yet; None when nothing is due."""
        ctx = Context(visitor.site, visitor.regime, record, visitor.gpc_now, visitor.now_ms)
        if record is None or record.account is None or not account_opt_out_due(ctx):
            return None
        assert visitor.device is not None  # a record was read, so a device was known
        return partial(self._account_opt_out, visitor, visitor.device[0], record.account)

    async def _account_opt_out(self, visitor: Visitor, device_id: str, account: str) -> None:
        """Best effort here: the device's change queued the account in its bucket's carry-over set
        atomically, so a failure is made good by the service's drain (maintenance.py) and, sooner,
        by the device's next visit (account_opt_out_due)."""
        with contextlib.suppress(StoreUnavailable):
            await carry_opt_out(
                self._store,
                visitor.site.id,
                bucket_of(device_id),
                account,
                now_ms=visitor.now_ms,
                timeout_s=self._write_timeout_s,
            )

    async def _with_account(self, visitor: Visitor, device_id: str, record: DeviceRecord) -> DeviceRecord:
        """A linked device's record after a write, with its account's opt-out state: this device's
        own opt-out is carried to the account at once; otherwise the account is read. An account that
        cannot be read counts as opted out (fail closed), as on the decision path."""
        assert record.account is not None
        ctx = Context(visitor.site, visitor.regime, record, visitor.gpc_now, visitor.now_ms)
        if own_opt_out(ctx):
            await self._account_opt_out(visitor, device_id, record.account)
            return dataclasses.replace(record, account_opted_out=True)
        try:
            opted_out = await self._store.accounts.opted_out(visitor.site.id, record.account, self._write_timeout_s)
        except StoreUnavailable:
            opted_out = True
        return dataclasses.replace(record, account_opted_out=opted_out)

    def _fresh_token(self, visitor: Visitor, device_id: str) -> str | None:
        if visitor.device is None or visitor.now_ms // 1000 - visitor.device[1] >= TOKEN_RESIGN_AFTER_S:
            return self._tokens.sign(visitor.site.id, device_id)
        return None

    async def ready(self) -> bool:
        """Whether the store answers (for /readyz)."""
        return await self._store.ping(self._read_timeout_s * 5)

    @staticmethod
    def _change(
        visitor: Visitor,
        device_id: str,
        *,
        gpc_seen: bool | None = None,
        choices: Mapping[str, bool] = {},
        action: Action | None = None,
        source: Source = Source.API,
        policy_version: str | None = None,
    ) -> Change:
        return Change(
            site=visitor.site.id,
            device_id=device_id,
            now_ms=visitor.now_ms,
            policy_version=policy_version or visitor.site.policy_version,
            regime=visitor.regime,
            region=visitor.region,
            device_class=visitor.device_class,
            gpc_seen=visitor.gpc_now if gpc_seen is None else gpc_seen,
            choices=choices,
            action=action,
            source=source,
        )

    def _answer(
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


def _unstored(visitor: Visitor, choices: Mapping[str, bool], policy_version: str) -> DeviceRecord:
    """The record a choice would make, for answering a bot without storing anything."""
    made = {pid: Choice(granted, visitor.now_ms, policy_version) for pid, granted in choices.items()}
    return DeviceRecord(choices=made, gpc_first_seen_ms=visitor.now_ms if visitor.gpc_now else None)


def _request_type(visitor: Visitor, action: Action, choices: Mapping[str, bool]) -> RequestType | None:
    """Whether a change is an opt-out request in the sense of the CCPA's records and metrics: the
    one-click opt-out always; elsewhere a refusal of a sale/share purpose where the law is an
    opt-out law (in opt_in regions, declining is not a request but the absence of consent)."""
    if action is Action.OPT_OUT:
        return RequestType.OPT_OUT
    return RequestType.OPT_OUT if _refuses_sale(visitor, choices) and visitor.regime is not Regime.OPT_IN else None


def _refuses_sale(visitor: Visitor, choices: Mapping[str, bool]) -> bool:
    return any(not granted and visitor.site.purposes[p].sale_share for p, granted in choices.items())


def opt_out_change_id(at_ms: int) -> str:
    """One-click opt-outs have a change id of their time: an opt-out whose write landed after its
    answer had given up on it (and carried it in the token instead) is then found already written
    when the token brings it back (the write scripts skip a change id they last applied)."""
    return f"oo{at_ms}"


def _only_refusals(choices: Mapping[str, bool]) -> bool:
    """Every choice a refusal (an opt-out, "reject all", a custom choice that grants nothing)."""
    return bool(choices) and not any(choices.values())


def adopt_legacy(visitor: Visitor, record_exists: bool | None) -> Visitor:
    """A token signed before tokens named their site (`Verified.legacy`) is this site's device only
    where this site holds a record of it: there it is adopted, and re-signed bound to the site (its
    signing time 0 makes the answer re-sign it). Elsewhere it is no device, except that an opt-out
    it carries (acknowledged, never stored) is never lost: it moves to a new device of this site
    (identity.derived_device_id: the same one on every retry).
    `record_exists` None: storage could not tell; only a carried opt-out is kept, to decide on, still
    marked legacy so that nothing is written under its id. The legacy token is never echoed."""
    device = visitor.device
    if device is None or not device.legacy:
        return visitor
    adopted: Verified | None
    if record_exists:
        adopted = Verified(device.device_id, 0, device.pending)
    elif device.pending is None:
        adopted = None
    elif record_exists is False:
        adopted = Verified(derived_device_id(visitor.site.id, device.device_id), 0, device.pending)
    else:
        adopted = device
    return dataclasses.replace(visitor, device=adopted, token=None)


async def known_device(store: Store, site_id: str, device: Verified | None, timeout_s: float) -> Verified | None:
    """A verified token's device for the rights and account requests: a legacy token's only where
    the site holds a record of it (adopt_legacy's rule, without its carried-opt-out rescue: these
    requests act on what is held). A 503 when that cannot be read."""
    if device is None or not device.legacy:
        return device
    try:
        record = await store.get(site_id, device.device_id, timeout_s)
    except StoreUnavailable:
        raise unavailable() from None
    return None if record is None else Verified(device.device_id, 0, device.pending)


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
        raise _rate_limited(wait)


def _rate_limited(wait_s: int) -> ApiError:
    return ApiError(ErrorCode.RATE_LIMITED, "too many writes; please retry later", retry_after=wait_s)


def _sale_share_off(site: Site) -> dict[str, bool]:
    return {pid: False for pid, purpose in site.purposes.items() if purpose.sale_share}


def _check_purposes(site: Site, purposes: Iterable[str]) -> None:
    if all(p in site.purposes for p in purposes):
        return
    unknown = sorted(set(purposes) - set(site.purposes))
    if unknown:
        raise ApiError(ErrorCode.UNKNOWN_PURPOSE, f"site {site.id!r} has no purpose {unknown[0][:64]!r}")


def _first_gpc(visitor: Visitor, record: DeviceRecord | None, unavailable: bool) -> bool:
    """A human's device sending GPC with none on record: this request records it (the metric's
    `first_seen`); unknown when storage could not be read."""
    first = not unavailable and (record is None or record.gpc_first_seen_ms is None)
    return first and visitor.device_class is not DeviceClass.BOT
