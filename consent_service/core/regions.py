"""Default region → regime table (from shared/REGIONS.md), kept as data in one place.

Legal facts change: this table carries the date it was last reviewed. Sites override any entry
in their config. Where in doubt the defaults are privacy-protective.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from consent_service.core.vocab import Regime

REVIEWED = "2026-11-29"

_EU = "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()
_EEA_AND_UK = "IS LI NO GB".split()

DEFAULT_REGIMES: Mapping[str, Regime] = {
    # GDPR + ePrivacy: non-necessary cookies need prior consent.
    **dict.fromkeys(_EU, Regime.OPT_IN),
    # UK GDPR / PECR and the EEA's ePrivacy rules.
    **dict.fromkeys(_EEA_AND_UK, Regime.OPT_IN),
    # Conservative: the Swiss FADP does not strictly require prior consent; a site may set notice.
    "CH": Regime.OPT_IN,
    # LGPD: consent as the basis for advertising cookies.
    "BR": Regime.OPT_IN,
    # Quebec Law 25: tracking technologies off by default (the rest of Canada: notice).
    "CA-QC": Regime.OPT_IN,
    # CCPA/CPRA and the other state laws; honouring opt-outs nationwide is the safe default,
    # so every state and `US` with no state is opt_out.
    "US": Regime.OPT_OUT,
}

# US states whose law obliges honouring a universal opt-out signal (GPC), for documentation and
# later state sections; GPC is honoured everywhere regardless.
GPC_MANDATORY_STATES = frozenset("CA CO CT MT OR TX DE NE NH NJ MN MD".split())

_REGION_RE = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")


# Where GDPR applies, for IAB TCF's `gdprApplies` (never the `opt_in` regime, which also covers BR and
# CA-QC): the EEA (the EU and IS, LI, NO) and GB (UK GDPR). Switzerland is not in it: its FADP is not
# the GDPR, but IAB's framework is used there, so a site may include CH (`[sites.tcf] switzerland`).
GDPR_TERRITORY = frozenset(_EU + _EEA_AND_UK)


def in_gdpr_territory(region: str | None, *, switzerland: bool = False) -> bool:
    """Whether `CC` or `CC-RR` lies where the GDPR (or UK GDPR) applies; no region known: no."""
    if region is None:
        return False
    country = region.split("-", 1)[0]
    return country in GDPR_TERRITORY or (switzerland and country == "CH")


def is_valid_region(region: str) -> bool:
    """`CC` or `CC-RR` (ISO 3166-1 alpha-2, optionally an ISO 3166-2 subdivision part)."""
    return bool(_REGION_RE.fullmatch(region))


def is_us(region: str | None) -> bool:
    return region is not None and (region == "US" or region.startswith("US-"))


def regime_for(region: str | None, overrides: Mapping[str, Regime] | None = None) -> Regime:
    """The regime for `CC-RR` or `CC`: the most specific entry wins, a site override before a default
    of the same precision. So a site's `CA = "notice"` leaves Quebec's stricter default (`CA-QC`) alone
    unless the site names `CA-QC` too: privacy-protective where in doubt.

    No region known → the site's `*` entry, else `notice` (no duty assumed; GPC is honoured anyway).
    """
    table = overrides or {}
    if region is None:
        return table.get("*", Regime.NOTICE)
    country = region.split("-", 1)[0]
    for key in (region, country):
        for source in (table, DEFAULT_REGIMES):
            if key in source:
                return source[key]
    return table.get("*", Regime.NOTICE)
