"""TC strings from decisions (core/tcf_signals.py): the one rule (a TCF signal never grants what the
decision of its site purpose denies), "Reject all" as an objection to every legitimate interest, vendors
from the GVL, and GDPR territory; the strings read back by IAB's `@iabtechlabtcf/core` and, as GPP
section 2, by `@iabgpp/cmpapi`."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess

import pytest

from consent_service.config.sites import load_sites
from consent_service.core.gvl import CONSENT_ONLY_PURPOSES, Gvl, GvlText, GvlVendor
from consent_service.core.iab import TCFEUV2_ID, encode_gpp, parsed_sections
from consent_service.core.model import Decision
from consent_service.core.regions import in_gdpr_territory
from consent_service.core.tcf import decode
from consent_service.core.tcf_signals import Cmp, policy_version, signals, tcf_applies
from consent_service.core.vocab import Reason
from tests.test_tcf import IAB_NODE_DIR, reference_decode

SITE = load_sites(None).sites["demo"]  # TCF on: 1-4, 7, 9, 10 advertising; 5, 6, 11 personalization; 8 analytics
CMP = Cmp(id=300, version=2)
DAY = 20_000
TEXT = GvlText("n", "d")


def vendor(vid: int, purposes: set[int], li: set[int] = frozenset(), deleted: bool = False) -> GvlVendor:  # type: ignore[assignment]
    empty: frozenset[int] = frozenset()
    return GvlVendor(vid, f"V{vid}", frozenset(purposes), frozenset(li), empty, empty, empty, empty, deleted=deleted)


GVL = Gvl(
    vendor_list_version=77,
    tcf_policy_version=5,
    last_updated="2026-12-01T00:00:00Z",
    language="en",
    purposes=dict.fromkeys(range(1, 12), TEXT),
    special_purposes={},
    features={},
    special_features={1: TEXT, 2: TEXT},
    stacks={},
    vendors={
        10: vendor(10, {1, 2, 3, 4}, {7, 10}),
        32: vendor(32, {1, 2, 3, 4, 7, 9, 10}),
        52: vendor(52, {1, 8}, {2}),
        69: vendor(69, set(), {2, 7}),  # legitimate interest only: never a consent bit
        76: vendor(76, {1}, deleted=True),  # deleted from the list: never disclosed
        755: vendor(755, {1, 3, 4}, {2, 7, 9, 10}),
        # 91 is in the site's list but not in this GVL: left out
    },
)

ALLOW, DENY = Decision(True, Reason.CONSENT), Decision(False, Reason.NO_CONSENT)


def decisions(**by_purpose: Decision) -> dict[str, Decision]:
    base = {
        "necessary": Decision(True, Reason.NECESSARY),
        "analytics": DENY,
        "advertising": DENY,
        "personalization": DENY,
    }
    return base | by_purpose


def model_for(**by_purpose: Decision):  # type: ignore[no-untyped-def]
    made = signals(SITE, GVL, decisions(**by_purpose), cmp=CMP, language="de", day=DAY)
    assert decode(made.tc_string) == made.model
    return made.model


def test_before_a_choice_nothing_is_granted_and_the_vendors_are_disclosed() -> None:
    m = model_for()
    assert not (m.purpose_consents | m.purpose_legitimate_interests | m.vendor_consents | m.vendor_legitimate_interests)
    assert m.vendors_disclosed == {10, 32, 52, 69, 755}  # 76 deleted, 91 not in the list
    assert (m.cmp_id, m.cmp_version, m.vendor_list_version, m.policy_version) == (300, 2, 77, 5)
    assert m.consent_language == "DE" and m.publisher_cc == "US" and m.is_service_specific
    assert m.created_ds == m.updated_ds == DAY * 864_000  # day-granular
    assert m.publisher_consents == frozenset()


def test_accept_all_grants_every_mapped_purpose_and_the_vendors_that_use_them() -> None:
    m = model_for(analytics=ALLOW, advertising=ALLOW, personalization=ALLOW)
    assert m.purpose_consents == set(range(1, 12))
    assert m.purpose_legitimate_interests == {2, 7, 8, 9, 10, 11}  # never 1, 3-6 (consent only)
    assert m.vendor_consents == {10, 32, 52, 755} and m.vendor_legitimate_interests == {10, 52, 69, 755}
    assert m.special_feature_opt_ins == frozenset()  # the demo maps no special feature
    assert m.publisher_consents == m.purpose_consents


def test_reject_all_refuses_every_consent_and_objects_to_every_legitimate_interest() -> None:
    refused = Decision(False, Reason.OPT_OUT)
    m = model_for(analytics=refused, advertising=refused, personalization=refused)
    assert not (m.purpose_consents | m.purpose_legitimate_interests | m.vendor_consents | m.vendor_legitimate_interests)
    assert m.vendors_disclosed == {10, 32, 52, 69, 755}


@pytest.mark.parametrize("reason", [Reason.GPC, Reason.ACCOUNT_OPT_OUT, Reason.OPT_OUT, Reason.STORE_UNAVAILABLE])
def test_a_denied_advertising_decision_denies_every_ad_purpose_whatever_else_was_granted(reason: Reason) -> None:
    m = model_for(analytics=ALLOW, advertising=Decision(False, reason), personalization=ALLOW)
    assert m.purpose_consents == {5, 6, 8, 11} and m.purpose_legitimate_interests == {8, 11}
    assert 32 not in m.vendor_consents  # Xandr declares ad purposes only
    assert 52 in m.vendor_consents  # declares purpose 8, consented through analytics


def test_a_default_is_no_consent_but_may_carry_a_legitimate_interest() -> None:
    default = Decision(True, Reason.DEFAULT)  # a site that set a notice regime in GDPR territory
    m = model_for(analytics=default, advertising=default, personalization=default)
    assert m.purpose_consents == frozenset() and m.vendor_consents == frozenset()
    assert m.purpose_legitimate_interests == {2, 7, 8, 9, 10, 11}


def test_no_signal_ever_exceeds_its_decision() -> None:
    """Every combination of decisions: a purpose's consent or legitimate interest only where the
    decision of the site purpose it follows is allowed (consent: because the visitor consented)."""
    options = [ALLOW, DENY, Decision(True, Reason.DEFAULT), Decision(False, Reason.GPC)]
    for a, b, c in itertools.product(options, repeat=3):
        ds = decisions(analytics=a, advertising=b, personalization=c)
        m = signals(SITE, GVL, ds, cmp=CMP, language="en", day=DAY).model
        for tcf_purpose, site_purpose in SITE.tcf.purposes.items():  # type: ignore[union-attr]
            d = ds[site_purpose]
            assert (tcf_purpose in m.purpose_consents) == (d.allowed and d.reason is Reason.CONSENT)
            assert (tcf_purpose in m.purpose_legitimate_interests) == (
                d.allowed and tcf_purpose not in CONSENT_ONLY_PURPOSES
            )
        for vid in m.vendor_consents:
            assert GVL.vendors[vid].purposes & m.purpose_consents


def test_the_tcdata_mirrors_the_string() -> None:
    made = signals(SITE, GVL, decisions(advertising=ALLOW), cmp=CMP, language="fr", day=DAY)
    data = made.data
    assert data["gdprApplies"] is True and data["tcString"] == made.tc_string and data["tcfPolicyVersion"] == 5
    assert data["purpose"]["consents"] == {str(i): i in {1, 2, 3, 4, 7, 9, 10} for i in range(1, 12)}  # type: ignore[index]
    assert data["vendor"]["consents"] == {"10": True, "32": True, "52": True, "69": False, "755": True}  # type: ignore[index]
    assert data["specialFeatureOptins"] == {"1": False, "2": False}


def test_gdpr_territory_is_the_eea_and_gb_not_the_opt_in_regime() -> None:
    for region in ("DE", "FR-75", "IS", "LI", "NO", "GB", "IE"):
        assert in_gdpr_territory(region) and tcf_applies(SITE, region)
    for region in ("BR", "CA-QC", "US-CA", "CH", None):
        assert not in_gdpr_territory(region) and not tcf_applies(SITE, region)
    assert in_gdpr_territory("CH", switzerland=True)


def test_the_policy_version_names_the_tcf_policy_only_where_tcf_applies() -> None:
    assert policy_version(SITE, "DE", GVL) == f"{SITE.policy_version}+tcf5"
    assert policy_version(SITE, "US-CA", GVL) == policy_version(SITE, "BR", GVL) == SITE.policy_version


def test_reference_libraries_read_the_strings_and_the_gpp_section() -> None:
    made = [
        signals(SITE, GVL, decisions(**chosen), cmp=CMP, language="nl", day=DAY)
        for chosen in ({}, {"advertising": ALLOW}, {"analytics": ALLOW, "advertising": ALLOW, "personalization": ALLOW})
    ]
    for got, s in zip(reference_decode([s.tc_string for s in made]), made, strict=True):
        m = s.model
        assert got["purpose_consents"] == sorted(m.purpose_consents), got
        assert got["vendor_consents"] == sorted(m.vendor_consents), got
        assert got["vendors_disclosed"] == sorted(m.vendors_disclosed), got
        assert got["purpose_legitimate_interests"] == sorted(m.purpose_legitimate_interests), got
    # GPP section 2: IAB's GPP library reads the same fields our `gpp_parsed` gives the banner.
    node = shutil.which("node")
    assert node is not None
    gpps = [encode_gpp({TCFEUV2_ID: s.tc_string}) for s in made]
    out = subprocess.run(
        [node, str(IAB_NODE_DIR / "gpp_tcfeuv2.mjs")], input=json.dumps(gpps), capture_output=True,
        text=True, check=True, timeout=60,
    )  # fmt: skip
    for gpp, theirs in zip(gpps, json.loads(out.stdout), strict=True):
        assert theirs["sectionList"] == [2] and theirs["hasTcfeuv2"] is True
        assert parsed_sections(gpp)["tcfeuv2"] == theirs["tcfeuv2"]
