"""The `[sites.tcf]` table: a site's IAB TCF setup, validated once at start.

    [sites.tcf]
    enabled = true               # the default where the table is present; false keeps it, switched off
    vendors = [32, 755]          # GVL ids of the vendors the site works with
    switzerland = false          # gdprApplies in CH too (EEA and GB always)
    publisher_cc = "DE"          # the publisher's country; "AA" when unknown
    [sites.tcf.purposes]         # TCF purpose id → the site purpose whose decision it follows
    1 = "advertising"
    8 = "analytics"
    [sites.tcf.special_features] # optional: 1 precise geolocation, 2 device scanning
    1 = "advertising"

Without `[sites.tcf.purposes]`, each TCF purpose follows the site's first purpose of the matching
kind (DEFAULT_KINDS below); a TCF purpose with no such site purpose is never granted. A TCF purpose
can never follow a necessary purpose: TCF consent is not something a site may assume.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from consent_service.config.validator import Validator
from consent_service.core.gvl import PURPOSE_IDS, SPECIAL_FEATURE_IDS
from consent_service.core.site import Purpose, SiteTcf
from consent_service.core.vocab import PurposeKind

_KEYS: Final = {
    "enabled", "vendors", "switzerland", "publisher_cc", "purpose_one_treatment", "purposes", "special_features"
}  # fmt: skip
_COUNTRY_RE: Final = re.compile(r"^[A-Z]{2}$")
MAX_VENDORS: Final = 2000

# TCF purposes by the kind of site purpose they are about (IAB's Policies, Appendix A):
# 1 store/access information, 2 basic ads, 3-4 personalised ads, 7 ad measurement, 9 market research,
# 10 product development: advertising. 5-6 personalised content, 11 limited data for content:
# personalization. 8 content measurement: analytics.
DEFAULT_KINDS: Final[Mapping[int, PurposeKind]] = {
    1: PurposeKind.ADVERTISING,
    2: PurposeKind.ADVERTISING,
    3: PurposeKind.ADVERTISING,
    4: PurposeKind.ADVERTISING,
    5: PurposeKind.PERSONALIZATION,
    6: PurposeKind.PERSONALIZATION,
    7: PurposeKind.ADVERTISING,
    8: PurposeKind.ANALYTICS,
    9: PurposeKind.ADVERTISING,
    10: PurposeKind.ADVERTISING,
    11: PurposeKind.PERSONALIZATION,
}


def parse_tcf(v: Validator, raw: object, where: str, purposes: Mapping[str, Purpose]) -> SiteTcf | None:
    """The site's TCF setup; None where TCF is switched off (`enabled = false`)."""
    if not isinstance(raw, dict):
        raise v.error(where, "must be a table ([sites.tcf])")
    v.no_unknown(raw, set(_KEYS), where)
    enabled = v.boolean(raw, "enabled", where, default=True)
    vendors = v.list_of(raw, "vendors", int, where)
    if not vendors or len(vendors) > MAX_VENDORS or any(isinstance(i, bool) or not 1 <= i <= 65535 for i in vendors):
        raise v.error(f"{where}.vendors", f"must list 1 to {MAX_VENDORS} GVL vendor ids (1-65535)")
    if len(set(vendors)) != len(vendors):
        raise v.error(f"{where}.vendors", "lists a vendor twice")
    country = v.string(raw, "publisher_cc", where, default="AA")
    if not _COUNTRY_RE.fullmatch(country):
        raise v.error(f"{where}.publisher_cc", f"{country!r} is not a two-letter country code in capitals")
    if "purposes" in raw:
        mapping = _mapping(v, raw["purposes"], f"{where}.purposes", PURPOSE_IDS, purposes)
    else:
        mapping = _defaults(purposes)
    special_features = _mapping(
        v, raw.get("special_features", {}), f"{where}.special_features", SPECIAL_FEATURE_IDS, purposes
    )
    if not enabled:
        return None
    return SiteTcf(
        vendors=frozenset(vendors),
        purposes=mapping,
        special_features=special_features,
        switzerland=v.boolean(raw, "switzerland", where, default=False),
        publisher_cc=country,
        purpose_one_treatment=v.boolean(raw, "purpose_one_treatment", where, default=False),
    )


def _mapping(v: Validator, raw: object, where: str, ids: range, purposes: Mapping[str, Purpose]) -> dict[int, str]:
    if not isinstance(raw, dict):
        raise v.error(where, "must be a table of TCF id = site purpose id")
    out: dict[int, str] = {}
    for key, pid in raw.items():
        if not key.isdigit() or int(key) not in ids:
            raise v.error(f"{where}.{key}", f"the key must be a TCF id from {ids.start} to {ids.stop - 1}")
        if not isinstance(pid, str) or pid not in purposes:
            raise v.error(f"{where}.{key}", f"{pid!r} is not one of this site's purposes")
        if purposes[pid].necessary:
            raise v.error(f"{where}.{key}", f"{pid!r} is necessary: a TCF signal cannot follow a necessary purpose")
        out[int(key)] = pid
    return out


def _defaults(purposes: Mapping[str, Purpose]) -> dict[int, str]:
    first: dict[PurposeKind, str] = {}
    for pid, purpose in purposes.items():
        first.setdefault(purpose.kind, pid)
    return {tcf_id: first[kind] for tcf_id, kind in DEFAULT_KINDS.items() if kind in first}


def cmp_warning(cmp_id: int, site_ids: list[str]) -> str | None:
    """What to tell the operator at start when TCF is on somewhere without a registered CMP id."""
    if cmp_id >= 2 or not site_ids:  # IAB's ids start at 2 (its reference library refuses 0 and 1)
        return None
    return (
        f"IAB TCF is on for site(s) {', '.join(sorted(site_ids))} but CONSENT_TCF_CMP_ID is not set: TC strings "
        f"carry CMP id {cmp_id}, which IAB's libraries and vendors treat as invalid (no consent). Register this "
        "deployment as a CMP with IAB Europe and set CONSENT_TCF_CMP_ID and CONSENT_TCF_CMP_VERSION (docs/tcf.md)."
    )
