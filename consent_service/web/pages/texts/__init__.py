"""Texts of the privacy notice and the your-data page, per language (English where one is missing).

They are kept apart from texts.py on purpose: those keys are shared with the banner script (a test
checks that both lists agree), and none of these pages' words belong in the banner's weight budget.
Placeholders in braces (`{business}`, `{days}`, …) are filled in by the templates (the `fill`
filter, web/templating.py), and the result escaped.
"""

from __future__ import annotations

from collections.abc import Mapping

from consent_service.web.pages.texts import de, en, es, fr, nl, sv

# Each language named in itself, for the notice's language links.
LANGUAGE_NAMES = {
    "en": "English",
    "nl": "Nederlands",
    "sv": "Svenska",
    "de": "Deutsch",
    "fr": "Français",
    "es": "Español",
}

PAGE_TEXTS: Mapping[str, Mapping[str, str]] = {
    "en": en.TEXTS,
    "nl": nl.TEXTS,
    "sv": sv.TEXTS,
    "de": de.TEXTS,
    "fr": fr.TEXTS,
    "es": es.TEXTS,
}


def page_texts_for(language: str) -> dict[str, str]:
    """Every key in `language`, English where a translation is missing."""
    return {**en.TEXTS, **PAGE_TEXTS.get(language, {})}
