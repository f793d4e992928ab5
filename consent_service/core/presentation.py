"""How decisions are presented to the browser: Google Consent Mode values and purpose views."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict

from consent_service.core.decision import Context, decide
from consent_service.core.model import Decision
from consent_service.core.site import Purpose, Site
from consent_service.core.vocab import PurposeKind

_CONSENT_MODE_KEYS: dict[PurposeKind, tuple[str, ...]] = {
    PurposeKind.ADVERTISING: ("ad_storage", "ad_user_data", "ad_personalization"),
    PurposeKind.ANALYTICS: ("analytics_storage",),
    PurposeKind.FUNCTIONAL: ("functionality_storage",),
    PurposeKind.PERSONALIZATION: ("personalization_storage",),
}


def consent_mode(site: Site, decisions: Mapping[str, Decision], ctx: Context) -> dict[str, str]:
    """Google Consent Mode v2 from the decisions (DESIGN's mapping by purpose kind).

    A key is granted only when the site has purposes of its kind and every one is allowed; a kind the
    site does not declare stays denied. `security_storage` is always granted (necessary).
    """
    granted: dict[str, bool] = {}
    for pid, purpose in site.purposes.items():
        decision = decisions.get(pid) or decide(ctx, purpose)
        for key in _CONSENT_MODE_KEYS.get(purpose.kind, ()):
            granted[key] = granted.get(key, True) and decision.allowed
    mode = {key: "granted" if granted.get(key) else "denied" for keys in _CONSENT_MODE_KEYS.values() for key in keys}
    mode["security_storage"] = "granted"
    return mode


class PurposeView(TypedDict):
    """A purpose as the banner shows it (the OpenAPI document's `Purpose`)."""

    id: str
    kind: str  # a core.vocab.PurposeKind value
    sale_share: bool
    label: str
    description: str
    cookies: list[str]


def purpose_view(purpose: Purpose, language: str) -> PurposeView:
    text = purpose.text.get(language) or purpose.text["en"]
    return {
        "id": purpose.id,
        "kind": purpose.kind.value,
        "sale_share": purpose.sale_share,
        "label": text.label,
        "description": text.description,
        "cookies": list(purpose.cookies),
    }
