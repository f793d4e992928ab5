"""What IAB TCF says about a visitor: the TC string and the CMP API's TCData, from the site's decisions.

Pure. The one rule (docs/tcf.md "Which rule wins"): a TCF signal follows the decision of the site
purpose it is mapped to (`[sites.tcf.purposes]`), and is never granted where that decision is a denial:

- a purpose's (or special feature's) consent is set only where the decision is allowed because the
  visitor consented (`reason: consent`); a default is no consent;
- its legitimate interest is established only where the decision is allowed at all, and never for the
  purposes TCF keeps on consent alone (1, 3-6); "Reject all" (every purpose refused) therefore is an
  objection to every legitimate interest too;
- GPC, an opt-out, an account-wide opt-out or an outage deny the site purpose, and so every TCF purpose
  that follows it: the law's order of precedence in core/decision.py wins over anything in TCF;
- a vendor gets consent where one of its consent purposes has it, and legitimate interest where one of
  its legitimate-interest purposes has it (TCF then asks for both the vendor's and the purpose's signal);
- only the site's vendors that the current GVL lists (and has not deleted) are disclosed or signalled.

Times are day-granular (the last choice's UTC day, else today's), as TCF v2.2+ asks: a TC string must
not become a finer clock of the visitor's visits than that.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from consent_service.core.clock import DAY_MS
from consent_service.core.gvl import CONSENT_ONLY_PURPOSES, PURPOSE_IDS, SPECIAL_FEATURE_IDS, Gvl
from consent_service.core.model import Decision
from consent_service.core.regions import in_gdpr_territory
from consent_service.core.site import Site, SiteTcf
from consent_service.core.tcf import TCModel, encode
from consent_service.core.vocab import Reason

CONSENT_SCREEN: Final = 1  # the banner's first (and, until the TCF layers, only) screen


@dataclass(frozen=True, slots=True)
class Cmp:
    """The CMP's IAB-registered id and its version (settings: CONSENT_TCF_CMP_ID / _VERSION)."""

    id: int
    version: int


@dataclass(frozen=True, slots=True)
class TcfSetup:
    """What TC strings need beyond a site and its decisions: the GVL in force (a loader's current
    copy: `gvl()` never blocks) and the CMP's registration."""

    gvl: Callable[[], Gvl]
    cmp: Cmp


@dataclass(frozen=True, slots=True)
class TcfSignals:
    tc_string: str
    model: TCModel
    data: dict[str, object]  # TCData as the CMP API gives it, minus eventStatus, cmpStatus, listenerId


def tcf_applies(site: Site, region: str | None) -> bool:
    """TCF on for the site and the visitor in GDPR territory (never the `opt_in` regime as such)."""
    return site.tcf is not None and in_gdpr_territory(region, switzerland=site.tcf.switzerland)


def policy_version(site: Site, region: str | None, gvl: Gvl | None) -> str:
    """The policy version a choice is recorded under and checked against. Where TCF applies it names
    the GVL's TCF policy version too, so a new TCF policy lapses every opt-in there and the banner asks
    again (core/decision.py); elsewhere the site's own version alone, so nobody else is re-asked."""
    if gvl is None or not tcf_applies(site, region):
        return site.policy_version
    return f"{site.policy_version}+tcf{gvl.tcf_policy_version}"


def signals(
    site: Site,
    gvl: Gvl,
    decisions: Mapping[str, Decision],
    *,
    cmp: Cmp,
    language: str,
    day: int,
) -> TcfSignals:
    """The TC string and TCData for a site with TCF on, a visitor in GDPR territory, these decisions
    (every site purpose the mapping names), the UI's language and the UTC day number of the last choice
    (or today). Memoized: on a busy site most visitors share a handful of inputs."""
    tcf = site.tcf
    if tcf is None:
        raise ValueError(f"site {site.id!r} has TCF off")
    allowed = tuple(sorted((pid, d.allowed, d.reason is Reason.CONSENT) for pid, d in decisions.items()))
    return _signals(tcf, gvl, allowed, cmp=cmp, language=language.upper()[:2], day=day)


@lru_cache(maxsize=1024)
def _signals(
    tcf: SiteTcf, gvl: Gvl, allowed: tuple[tuple[str, bool, bool], ...], *, cmp: Cmp, language: str, day: int
) -> TcfSignals:
    by_purpose = {pid: (ok, consented) for pid, ok, consented in allowed}

    def consented(site_purpose: str | None) -> bool:
        return site_purpose is not None and by_purpose.get(site_purpose, (False, False))[1]

    def allowed_at_all(site_purpose: str | None) -> bool:
        return site_purpose is not None and by_purpose.get(site_purpose, (False, False))[0]

    consents = frozenset(p for p in PURPOSE_IDS if consented(tcf.purposes.get(p)))
    interests = frozenset(
        p for p in PURPOSE_IDS if p not in CONSENT_ONLY_PURPOSES and allowed_at_all(tcf.purposes.get(p))
    )
    features = frozenset(f for f in SPECIAL_FEATURE_IDS if consented(tcf.special_features.get(f)))
    disclosed = frozenset(v for v in tcf.vendors if gvl.live_vendor(v) is not None)
    vendors = [gvl.vendors[v] for v in sorted(disclosed)]
    vendor_consents = frozenset(v.id for v in vendors if v.purposes & consents or v.special_features & features)
    vendor_interests = frozenset(v.id for v in vendors if v.leg_int_purposes & interests)
    deciseconds = day * DAY_MS // 100
    model = TCModel(
        created_ds=deciseconds,
        updated_ds=deciseconds,
        cmp_id=cmp.id,
        cmp_version=cmp.version,
        consent_screen=CONSENT_SCREEN,
        consent_language=language if len(language) == 2 and language.isalpha() else "EN",
        vendor_list_version=gvl.vendor_list_version,
        policy_version=gvl.tcf_policy_version,
        special_feature_opt_ins=features,
        purpose_consents=consents,
        purpose_legitimate_interests=interests,
        purpose_one_treatment=tcf.purpose_one_treatment,
        publisher_cc=tcf.publisher_cc,
        vendor_consents=vendor_consents,
        vendor_legitimate_interests=vendor_interests,
        vendors_disclosed=disclosed,
        # The publisher's own processing follows the same decisions: its segment says so.
        publisher_consents=consents,
        publisher_legitimate_interests=interests,
    )
    tc_string = encode(model)
    return TcfSignals(tc_string, model, tc_data(model, tc_string, sorted(disclosed)))


def tc_data(model: TCModel, tc_string: str, vendor_ids: list[int]) -> dict[str, object]:
    """TCData (CMP API v2.3) for a visitor where GDPR applies; the page API adds the event fields."""

    def vector(chosen: frozenset[int], ids: list[int] | range) -> dict[str, bool]:
        return {str(i): i in chosen for i in ids}

    return {
        "gdprApplies": True,
        "tcString": tc_string,
        "tcfPolicyVersion": model.policy_version,
        "cmpId": model.cmp_id,
        "cmpVersion": model.cmp_version,
        "isServiceSpecific": model.is_service_specific,
        "useNonStandardTexts": model.use_non_standard_texts,
        "publisherCC": model.publisher_cc,
        "purposeOneTreatment": model.purpose_one_treatment,
        "purpose": {
            "consents": vector(model.purpose_consents, PURPOSE_IDS),
            "legitimateInterests": vector(model.purpose_legitimate_interests, PURPOSE_IDS),
        },
        "vendor": {
            "consents": vector(model.vendor_consents, vendor_ids),
            "legitimateInterests": vector(model.vendor_legitimate_interests, vendor_ids),
        },
        "specialFeatureOptins": vector(model.special_feature_opt_ins, SPECIAL_FEATURE_IDS),
        "publisher": {
            "consents": vector(model.publisher_consents or frozenset(), PURPOSE_IDS),
            "legitimateInterests": vector(model.publisher_legitimate_interests, PURPOSE_IDS),
            "customPurpose": {"consents": {}, "legitimateInterests": {}},
            "restrictions": {},
        },
    }


NOT_APPLICABLE: Final[dict[str, object]] = {"gdprApplies": False}
