from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consent_service.config.sites import load_sites
from consent_service.core.clock import DAY_MS
from consent_service.core.decision import Context, decide, decide_all, live_choices, sale_share_denied, should_prompt
from consent_service.core.model import Choice, Decision, DeviceRecord
from consent_service.core.site import Site
from consent_service.core.vocab import Reason, Regime

NOW = 1_800_000_000_000
DEMO = load_sites(None).sites["demo"]
LIFT = dataclasses.replace(DEMO, gpc_lift_by_opt_in=True)
PV = DEMO.policy_version


def ctx(
    *,
    site: Site = DEMO,
    regime: Regime = Regime.OPT_OUT,
    record: DeviceRecord | None = None,
    gpc_now: bool = False,
    unavailable: bool = False,
) -> Context:
    return Context(site=site, regime=regime, record=record, gpc_now=gpc_now, now_ms=NOW, store_unavailable=unavailable)


def rec(gpc_at: int | None = None, account: bool = False, **choices: Choice) -> DeviceRecord:
    return DeviceRecord(choices=choices, gpc_first_seen_ms=gpc_at, account_opted_out=account)


def yes(at: int = NOW - 1000, pv: str = PV) -> Choice:
    return Choice(True, at, pv)


def no(at: int = NOW - 1000) -> Choice:
    return Choice(False, at, PV)


def check(c: Context, purpose: str) -> Decision:
    return decide(c, c.site.purposes[purpose])


D = Decision
R = Reason


@pytest.mark.parametrize(
    ("context", "purpose", "expected"),
    [
        # 1. necessary, whatever else holds
        (ctx(unavailable=True, gpc_now=True), "necessary", D(True, R.NECESSARY)),
        (ctx(regime=Regime.OPT_IN, record=rec(account=True, necessary=no())), "necessary", D(True, R.NECESSARY)),
        # 2. store unavailable: fail closed, GPC in this request names its reason
        (ctx(unavailable=True), "advertising", D(False, R.STORE_UNAVAILABLE)),
        (ctx(unavailable=True, gpc_now=True), "advertising", D(False, R.GPC)),
        (ctx(unavailable=True, gpc_now=True), "analytics", D(False, R.STORE_UNAVAILABLE)),
        (ctx(unavailable=True, regime=Regime.NOTICE), "personalization", D(False, R.STORE_UNAVAILABLE)),
        # 3. account opt-out beats GPC and consent, only for sale/share
        (ctx(record=rec(account=True, advertising=yes()), gpc_now=True), "advertising", D(False, R.ACCOUNT_OPT_OUT)),
        (ctx(record=rec(account=True)), "analytics", D(True, R.DEFAULT)),
        # 4. GPC: this request or recorded; only sale/share purposes
        (ctx(gpc_now=True), "advertising", D(False, R.GPC)),
        (ctx(record=rec(gpc_at=NOW - DAY_MS)), "advertising", D(False, R.GPC)),
        (ctx(gpc_now=True), "analytics", D(True, R.DEFAULT)),
        (ctx(regime=Regime.NOTICE, gpc_now=True), "advertising", D(False, R.GPC)),
        (ctx(regime=Regime.OPT_IN, gpc_now=True, record=rec(advertising=yes())), "advertising", D(False, R.GPC)),
        # 4. the lift: only where allowed, only by an opt-in after GPC was first recorded
        (ctx(record=rec(gpc_at=NOW - 5000, advertising=yes(NOW - 1000))), "advertising", D(False, R.GPC)),
        (ctx(site=LIFT, record=rec(gpc_at=NOW - 5000, advertising=yes(NOW - 1000))), "advertising", D(True, R.CONSENT)),
        (ctx(site=LIFT, record=rec(gpc_at=NOW - 1000, advertising=yes(NOW - 5000))), "advertising", D(False, R.GPC)),
        (ctx(site=LIFT, record=rec(gpc_at=NOW, advertising=yes(NOW))), "advertising", D(False, R.GPC)),
        (ctx(site=LIFT, gpc_now=True, record=rec(advertising=yes(NOW - 1))), "advertising", D(False, R.GPC)),
        (ctx(site=LIFT, record=rec(gpc_at=NOW - 5000, advertising=no(NOW - 1000))), "advertising", D(False, R.GPC)),
        # 5. explicit choices
        (ctx(record=rec(advertising=no())), "advertising", D(False, R.OPT_OUT)),
        (ctx(regime=Regime.OPT_IN, record=rec(analytics=yes())), "analytics", D(True, R.CONSENT)),
        (ctx(regime=Regime.NOTICE, record=rec(analytics=no())), "analytics", D(False, R.OPT_OUT)),
        # 5. an opt-in lapses after the lifetime, or with a new policy version in opt_in
        (ctx(regime=Regime.OPT_IN, record=rec(analytics=yes(NOW - 366 * DAY_MS))), "analytics", D(False, R.NO_CONSENT)),
        (ctx(regime=Regime.OPT_IN, record=rec(analytics=yes(pv="old"))), "analytics", D(False, R.NO_CONSENT)),
        (ctx(regime=Regime.OPT_OUT, record=rec(analytics=yes(pv="old"))), "analytics", D(True, R.CONSENT)),
        # 5. an opt-out never lapses
        (ctx(record=rec(advertising=no(NOW - 3000 * DAY_MS))), "advertising", D(False, R.OPT_OUT)),
        # 6. regime defaults
        (ctx(regime=Regime.OPT_IN), "analytics", D(False, R.NO_CONSENT)),
        (ctx(regime=Regime.OPT_IN), "advertising", D(False, R.NO_CONSENT)),
        (ctx(regime=Regime.OPT_OUT), "advertising", D(True, R.DEFAULT)),
        (ctx(regime=Regime.NOTICE), "personalization", D(True, R.DEFAULT)),
    ],
)
def test_rule_table(context: Context, purpose: str, expected: Decision) -> None:
    assert check(context, purpose) == expected


def test_effective_gpc_is_this_request_or_recorded() -> None:
    assert ctx(gpc_now=True).gpc
    assert ctx(record=rec(gpc_at=1)).gpc
    assert not ctx(record=rec()).gpc
    assert not ctx().gpc


def test_sale_share_denied_fails_closed_and_ignores_no_consent() -> None:
    for c, expected in [
        (ctx(gpc_now=True), True),
        (ctx(unavailable=True), True),
        (ctx(record=rec(advertising=no())), True),
        (ctx(record=rec(account=True)), True),
        (ctx(), False),
        (ctx(regime=Regime.OPT_IN), False),  # no_consent is not an opt-out
        (ctx(record=rec(analytics=no())), False),  # not a sale/share purpose
    ]:
        assert sale_share_denied(c, decide_all(c, ["analytics"])) is expected, c


# ---- properties -------------------------------------------------------------------------------

times = st.integers(min_value=NOW - 800 * DAY_MS, max_value=NOW)
choices = st.builds(Choice, st.booleans(), times, st.sampled_from([PV, "old"]))
records = st.builds(
    DeviceRecord,
    choices=st.dictionaries(st.sampled_from(list(DEMO.purposes)), choices),
    gpc_first_seen_ms=st.none() | times,
    account_opted_out=st.booleans(),
)
contexts = st.builds(
    Context,
    site=st.sampled_from([DEMO, LIFT]),
    regime=st.sampled_from(list(Regime)),
    record=st.none() | records,
    gpc_now=st.booleans(),
    now_ms=st.just(NOW),
    store_unavailable=st.booleans(),
)


@given(contexts)
def test_necessary_is_always_allowed(c: Context) -> None:
    assert check(c, "necessary") == D(True, R.NECESSARY)


@given(contexts)
def test_gpc_denies_sale_share_unless_site_allows_a_later_opt_in(c: Context) -> None:
    d = check(c, "advertising")
    if c.gpc and d.allowed:
        # The lift holds while the browser keeps sending GPC: what matters is the order in time.
        assert c.site.gpc_lift_by_opt_in and c.record is not None
        choice = c.record.choices["advertising"]
        assert choice.granted and c.record.gpc_first_seen_ms is not None
        assert choice.at_ms > c.record.gpc_first_seen_ms


@given(contexts)
def test_opt_in_without_consent_allows_only_necessary(c: Context) -> None:
    c = dataclasses.replace(c, regime=Regime.OPT_IN)
    decisions = decide_all(c, c.site.purposes)
    for pid, d in decisions.items():
        consented = c.record is not None and pid in c.record.choices and c.record.choices[pid].granted
        if d.allowed:
            assert pid == "necessary" or (consented and d.reason is R.CONSENT)


@given(contexts, st.sampled_from(["analytics", "advertising", "personalization"]), choices)
def test_a_choice_for_one_purpose_never_changes_another(c: Context, pid: str, choice: Choice) -> None:
    base = c.record or DeviceRecord()
    changed = dataclasses.replace(c, record=dataclasses.replace(base, choices={**base.choices, pid: choice}))
    before = dataclasses.replace(c, record=base)
    for other in c.site.purposes:
        if other != pid:
            assert check(before, other) == check(changed, other)


@given(contexts)
def test_store_unavailable_allows_nothing_optional(c: Context) -> None:
    c = dataclasses.replace(c, store_unavailable=True)
    for pid, d in decide_all(c, c.site.purposes).items():
        assert d.allowed == (pid == "necessary")


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        (ctx(regime=Regime.OPT_IN), True),
        (ctx(regime=Regime.OPT_OUT), True),
        (ctx(regime=Regime.NOTICE), True),
        (ctx(regime=Regime.OPT_OUT, gpc_now=True), False),  # GPC: no pop-up because of it
        (ctx(regime=Regime.NOTICE, record=rec(gpc_at=1)), False),
        (ctx(regime=Regime.OPT_IN, gpc_now=True), True),  # other purposes still need consent
        (ctx(regime=Regime.OPT_OUT, record=rec(advertising=no())), False),
        (ctx(regime=Regime.OPT_IN, record=rec(analytics=no(NOW - 400 * DAY_MS))), False),  # never re-ask an opt-out
        (ctx(regime=Regime.OPT_IN, record=rec(analytics=yes())), False),
        (ctx(regime=Regime.OPT_IN, record=rec(analytics=yes(pv="old"))), True),  # new policy version
        (ctx(regime=Regime.OPT_IN, record=rec(analytics=yes(NOW - 366 * DAY_MS))), True),  # expired
        (ctx(regime=Regime.OPT_OUT, record=rec(analytics=yes(pv="old"))), False),
        (ctx(regime=Regime.OPT_IN, unavailable=True), False),
        # a lapsed opt-in next to a recent opt-out: asking would offer an opt-back-in within 12 months
        (ctx(regime=Regime.OPT_IN, record=rec(analytics=yes(pv="old"), advertising=no(NOW - 30 * DAY_MS))), False),
        (ctx(regime=Regime.OPT_IN, record=rec(analytics=yes(pv="old"), advertising=no(NOW - 400 * DAY_MS))), True),
    ],
)
def test_when_the_banner_asks(context: Context, expected: bool) -> None:

    assert should_prompt(context) is expected


def test_live_choices_leave_out_lapsed_opt_ins() -> None:

    c = ctx(regime=Regime.OPT_IN, record=rec(analytics=yes(pv="old"), advertising=no(), personalization=yes()))
    assert live_choices(c) == {"advertising": False, "personalization": True}
