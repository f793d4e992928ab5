"""The privacy pages' texts per language, from the gettext catalogs (config/catalogs.py).

Their keys and English are core/page_messages.py; kept apart from the banner's (core/texts.py),
which ship in the banner script's weight budget.
"""

from __future__ import annotations

from collections.abc import Mapping

from consent_service.config.catalogs import page_texts_for, plurals_for
from consent_service.core.texts import LANGUAGES

__all__ = ["LANGUAGE_NAMES", "PAGE_TEXTS", "page_texts_for", "plurals_for"]

# Each language named in itself, for the notice's language links.
LANGUAGE_NAMES = {
    "en": "English",
    "nl": "Nederlands",
    "sv": "Svenska",
    "de": "Deutsch",
    "fr": "Français",
    "es": "Español",
}

PAGE_TEXTS: Mapping[str, Mapping[str, str]] = {language: page_texts_for(language) for language in LANGUAGES}
