"""A site as configured: its purposes, regimes, origins, texts, notice and partners (config/sites.py
builds it from TOML, validated once at start; everything below reads it, nothing changes it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from consent_service.core.notice import Notice
from consent_service.core.partner import Partner
from consent_service.core.vocab import PurposeKind, Regime


@dataclass(frozen=True, slots=True)
class PurposeText:
    label: str
    description: str


@dataclass(frozen=True, slots=True)
class Purpose:
    id: str
    kind: PurposeKind
    sale_share: bool  # a sale or sharing of personal information (CCPA): GPC and opt-outs deny it
    text: Mapping[str, PurposeText]
    cookies: tuple[str, ...] = ()  # first-party cookie name patterns to delete when denied

    @property
    def necessary(self) -> bool:
        return self.kind is PurposeKind.NECESSARY


@dataclass(frozen=True, slots=True, eq=False)  # by identity (hashable, for memos): one per configured site
class SiteTcf:
    """The site's IAB TCF setup ([sites.tcf]): the GVL vendors it works with, and which of its own
    purposes each TCF purpose and special feature follows (a TCF signal is never granted where that
    purpose's decision is a denial: core/tcf_signals.py)."""

    vendors: frozenset[int]  # GVL ids
    purposes: Mapping[int, str]  # TCF purpose id (1-11) → site purpose id
    special_features: Mapping[int, str] = field(default_factory=dict)  # special feature id (1-2) → site purpose
    switzerland: bool = False  # gdprApplies in CH too
    publisher_cc: str = "AA"  # the publisher's country (ISO 3166-1), "AA" for unknown
    purpose_one_treatment: bool = False  # purpose 1 not disclosed (only where a country's law allows it)


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    origins: frozenset[str]
    purposes: Mapping[str, Purpose]
    policy_version: str
    default_region: str | None = None
    regimes: Mapping[str, Regime] = field(default_factory=dict)
    gpc_lift_by_opt_in: bool = False  # may a later explicit opt-in lift a GPC opt-out?
    mspa_signatory: bool = False
    consent_lifetime_days: int = 365  # an opt-in consent lapses after this; opt-outs never do
    texts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # UI text overrides per language
    notice: Notice | None = None  # the privacy notice published at /privacy/{site}/notice
    partners: tuple[Partner, ...] = ()  # told about opt-outs and deletions (partners.py, delivery.py)
    tcf: SiteTcf | None = None  # IAB TCF on (its setup) or off (None)

    @property
    def has_sale_share(self) -> bool:
        return any(p.sale_share for p in self.purposes.values())

    @property
    def optional_purposes(self) -> tuple[str, ...]:
        return tuple(pid for pid, p in self.purposes.items() if not p.necessary)


@dataclass(frozen=True, slots=True)
class SiteConfig:
    sites: Mapping[str, Site]
    source: str  # where the sites come from: a file, `--site`, the bundled demo, or several of these
    bundled_demo: bool = False  # the bundled `demo` site is among them (its page, /demo, may be served)
    # Where each site's origins are set, when not simply `source` (config/selection.py): what a
    # warning about a refused origin tells the operator to edit.
    origins_from: Mapping[str, str] = field(default_factory=dict)

    @property
    def all_origins(self) -> frozenset[str]:
        return frozenset().union(*(s.origins for s in self.sites.values()))


def sold_or_shared(purpose_ids: Sequence[str], purposes: Mapping[str, Purpose]) -> bool:
    """Whether data used for these purposes is sold or shared: only ever `Purpose.sale_share`."""
    return any(purposes[pid].sale_share for pid in purpose_ids)
