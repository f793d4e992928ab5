"""The consent decision: a pure function of site, regime, record, this request's GPC and time.

No I/O here. The rules, in priority order (DESIGN.md "Decision rules"), are numbered where the
code applies them; the order is the law's order of precedence, so change it only with the doc.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from consent_service.core.clock import DAY_MS
from consent_service.core.model import Choice, Decision, DeviceRecord
from consent_service.core.site import Purpose, Site
from consent_service.core.vocab import Reason, Regime

ALLOW_NECESSARY = Decision(True, Reason.NECESSARY)
NO_REPROMPT_MS = 365 * DAY_MS  # no asking to opt back in for 12 months after an opt-out


@dataclass(slots=True)  # not frozen: built on every request, and frozen dataclasses are slower to build
class Context:
    """Everything a decision depends on, gathered once per request."""

    site: Site
    regime: Regime
    record: DeviceRecord | None  # None: no device yet (or no token)
    gpc_now: bool  # this request carries GPC (header or page flag)
    now_ms: int
    store_unavailable: bool = False  # the record could not be read in time
    policy: str | None = None  # the policy version in force for this visitor (Visitor.policy_version)

    @property
    def policy_version(self) -> str:
        return self.policy if self.policy is not None else self.site.policy_version

    @property
    def gpc(self) -> bool:
        """The device's effective GPC state: this request, or recorded earlier."""
        return self.gpc_now or (self.record is not None and self.record.gpc_first_seen_ms is not None)

    @property
    def gpc_first_seen_ms(self) -> int:
        """When GPC was first recorded; a signal first seen now counts as now."""
        recorded = self.record.gpc_first_seen_ms if self.record else None
        return recorded if recorded is not None else self.now_ms


def decide(ctx: Context, purpose: Purpose) -> Decision:
    # 1. Necessary purposes are always allowed; no choice or outage ever degrades them.
    if purpose.necessary:
        return ALLOW_NECESSARY
    # 2. Unknown record: fail closed. GPC in this request still names its own reason.
    if ctx.store_unavailable:
        if purpose.sale_share and ctx.gpc_now:
            return Decision(False, Reason.GPC)
        return Decision(False, Reason.STORE_UNAVAILABLE)
    choice = _live_choice(ctx, purpose.id)
    if purpose.sale_share:
        # 3. An account-wide opt-out covers every linked device.
        if ctx.record is not None and ctx.record.account_opted_out:
            return Decision(False, Reason.ACCOUNT_OPT_OUT)
        # 4. GPC is an opt-out of sale/sharing; only a later explicit opt-in may lift it, and
        #    only where the site allows that.
        if ctx.gpc and not _lifts_gpc(ctx, choice):
            return Decision(False, Reason.GPC)
    # 5. An explicit, unexpired choice.
    if choice is not None:
        return Decision(True, Reason.CONSENT) if choice.granted else Decision(False, Reason.OPT_OUT)
    # 6. The regime's default.
    if ctx.regime is Regime.OPT_IN:
        return Decision(False, Reason.NO_CONSENT)
    return Decision(True, Reason.DEFAULT)


def decide_all(ctx: Context, purpose_ids: Iterable[str]) -> dict[str, Decision]:
    purposes = ctx.site.purposes
    return {pid: decide(ctx, purposes[pid]) for pid in purpose_ids}


OPT_OUT_REASONS = frozenset({Reason.OPT_OUT, Reason.GPC, Reason.ACCOUNT_OPT_OUT})


def sale_share_denied(ctx: Context, decisions: dict[str, Decision], *, fail_closed: bool = True) -> bool:
    """Whether the visitor counts as opted out of sale/sharing. For GPP/USP an outage counts too
    (`fail_closed`); to tell a person their opt-out is in force, only a real opt-out does."""
    opted_out = OPT_OUT_REASONS | {Reason.STORE_UNAVAILABLE} if fail_closed else OPT_OUT_REASONS
    for pid, purpose in ctx.site.purposes.items():
        if purpose.sale_share:
            decision = decisions.get(pid) or decide(ctx, purpose)
            if not decision.allowed and decision.reason in opted_out:
                return True
    return False


def own_opt_out(ctx: Context) -> bool:
    """Whether this device itself opted out of sale/sharing (its GPC, now or recorded, or its own
    choice), whatever its account says: what an account-wide opt-out is made from."""
    if ctx.store_unavailable:
        return ctx.gpc_now
    record = ctx.record
    if record is not None and record.account_opted_out:
        record = dataclasses.replace(record, account_opted_out=False)
    own = Context(ctx.site, ctx.regime, record, ctx.gpc_now, ctx.now_ms, policy=ctx.policy)
    return any(
        not (d := decide(own, p)).allowed and d.reason in (Reason.OPT_OUT, Reason.GPC)
        for p in ctx.site.purposes.values()
        if p.sale_share
    )


def account_opt_out_due(ctx: Context) -> bool:
    """A linked device opted out but its account has not yet: the opt-out must reach the account
    (and so every linked device). Checked on every read of a linked device, so an opt-out whose
    account write failed is carried over at the device's next visit."""
    record = ctx.record
    return record is not None and record.account is not None and not record.account_opted_out and own_opt_out(ctx)


def pending_opt_out_due(record: DeviceRecord | None, at_ms: int) -> bool:
    """Whether an opt-out acknowledged at `at_ms` without storage still has to be written: the record
    remembers the carried opt-outs it took (never by comparing clocks of different replicas)."""
    settled = record.settled_pending_ms if record else None
    return settled is None or settled < at_ms


def with_pending_opt_out(record: DeviceRecord | None, site: Site, at_ms: int) -> DeviceRecord:
    """The record as it will be once the pending opt-out is written (to decide on in the meantime)."""
    choices = dict(record.choices) if record else {}
    for pid, purpose in site.purposes.items():
        if purpose.sale_share and ((c := choices.get(pid)) is None or c.at_ms < at_ms):
            choices[pid] = Choice(False, at_ms, site.policy_version)  # an opt-out never lapses: any version
    return dataclasses.replace(record or DeviceRecord(), choices=choices)


def live_choices(ctx: Context) -> dict[str, bool]:
    """The explicit choices still in force (lapsed opt-ins left out)."""
    if ctx.record is None:
        return {}
    return {pid: c.granted for pid in ctx.record.choices if (c := _live_choice(ctx, pid)) is not None}


def should_prompt(ctx: Context) -> bool:
    """Whether the banner asks now (DESIGN "When the banner asks").

    - No choice yet: ask where the regime shows a banner, except that GPC alone is never a reason for
      a pop-up (frictionless): in opt_out and notice regions the opt-out is already done.
    - Any explicit choice: never ask again to opt back in (an opt-out never lapses, so the 12 months
      hold by construction), except in opt_in regions when an opt-in lapsed (lifetime or a new policy
      version), and only for visitors who had granted something.
    - Record unknown (store down): do not ask; the banner keeps its local state.
    """
    if ctx.store_unavailable:
        return False
    choices = ctx.record.choices if ctx.record else {}
    if not choices:
        return ctx.regime is Regime.OPT_IN or not ctx.gpc
    if ctx.regime is not Regime.OPT_IN:
        return False
    if any(not c.granted and ctx.now_ms - c.at_ms < NO_REPROMPT_MS for c in choices.values()):
        return False  # asking again would offer "Accept all", an opt-back-in, within 12 months
    return any(c.granted and _live_choice(ctx, pid) is None for pid, c in choices.items())


def _live_choice(ctx: Context, purpose_id: str) -> Choice | None:
    """The explicit choice for a purpose, or None when there is none or an opt-in lapsed.

    An opt-in lapses after the site's lifetime, or in an opt_in region when the policy version
    changed. An opt-out never lapses.
    """
    if ctx.record is None:
        return None
    choice = ctx.record.choices.get(purpose_id)
    if choice is None or not choice.granted:
        return choice
    if ctx.now_ms - choice.at_ms > ctx.site.consent_lifetime_days * DAY_MS:
        return None
    if ctx.regime is Regime.OPT_IN and choice.policy_version != ctx.policy_version:
        return None
    return choice


def _lifts_gpc(ctx: Context, choice: Choice | None) -> bool:
    # Strictly after: an opt-in sent in the same request as the first GPC signal does not lift it.
    return (
        ctx.site.gpc_lift_by_opt_in and choice is not None and choice.granted and choice.at_ms > ctx.gpc_first_seen_ms
    )
