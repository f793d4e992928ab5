"""The banner's introduction for a site whose purposes are not the ones the default texts name.

The catalog's `intro_opt_in` and `intro_notice` (core/texts.py) name analytics, personalization and
advertising: true for the demo site, not for a site without one of them. For any other site the
introduction is built from these texts instead (config/catalogs.py, `site_texts_for`): the site's
own kinds of purpose, each named as below, joined as the language joins a list. Only the built
texts are new keys here; the banner still receives them as `intro_opt_in` and `intro_notice`, and a
site's own `[sites.texts.<lang>]` overrides them all the same.
"""

from __future__ import annotations

from consent_service.core.texts import message
from consent_service.core.vocab import PurposeKind

# The kinds the catalog's own introductions name, in any order.
NAMED_KINDS = frozenset({PurposeKind.ANALYTICS, PurposeKind.PERSONALIZATION, PurposeKind.ADVERTISING})

INTRO_MESSAGES = (
    message(
        "intro_opt_in_for",
        "We use cookies and similar technologies for {purposes}. Choose what you allow; you can change it at any time.",
    ),
    message("intro_notice_for", "This site uses cookies for {purposes}."),
    message("intro_necessary_only", "This site uses only the cookies it needs to work."),
    # Each kind as the introductions name it, in the middle of a sentence ("for {purposes}").
    message("kind_analytics", "analytics"),
    message("kind_advertising", "advertising"),
    message("kind_personalization", "personalization"),
    message("kind_functional", "site features"),
)

KIND_KEYS: dict[PurposeKind, str] = {
    kind: f"kind_{kind.value}" for kind in PurposeKind if kind is not PurposeKind.NECESSARY
}
