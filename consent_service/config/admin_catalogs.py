"""The admin pages' gettext catalogs (the `admin` domain) and their way of writing numbers.

The catalogs are `consent_service/locale/<language>/LC_MESSAGES/admin.po`, extracted into
`admin.pot` from web/admin/ and web/templates/admin/ (babel-admin.cfg, docs/translations.md). Unlike
the `messages` domain, a message's msgid is its English itself (plain gettext, no key), so a missing
translation is English. They are compiled in memory like the messages domain (catalogs.compiled):
the app loads them all when it is created (`load_all`), so a broken catalog stops the start.

Counts and percentages follow the language's CLDR conventions (Babel): `1,234` and `12.5%` in English,
`1.234` and `12,5 %` in German. A percentage is rounded by Python to one decimal first (the
`f"{rate * 100:.1f}"` the dashboard always used), then written by Babel, so no language rounds a
rate differently and the English page reads exactly as before the catalogs.
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale
from babel.numbers import NumberPattern, parse_pattern

from consent_service.config.catalogs import LOCALE_DIR, compiled
from consent_service.core.texts import DEFAULT_LANGUAGE, LANGUAGES

DOMAIN = "admin"
NO_RATE = "–"  # a rate with nothing to divide by, in every language


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def admin_translations(language: str) -> gettext.NullTranslations:
    """The compiled admin catalog of `language` (English, the msgids, for any other language)."""
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    return compiled(po_path(language), language, DOMAIN)


@dataclass(frozen=True, slots=True)
class Numbers:
    """One language's counts (`1,234`), rates with one decimal (`12.5%`) and whole percentages
    (the charts' axis: `25%`)."""

    locale: Locale
    decimal: NumberPattern
    rate: NumberPattern
    whole: NumberPattern

    def count(self, n: int) -> str:
        return str(self.decimal.apply(n, self.locale))

    def percent(self, rate: float | None) -> str:
        if rate is None:
            return NO_RATE
        # Rounded by Python as before, then only written by Babel: one rounding, the same in every language.
        return str(self.rate.apply(Decimal(f"{rate * 100:.1f}").scaleb(-2), self.locale))

    def whole_percent(self, rate: float) -> str:
        return str(self.whole.apply(Decimal(f"{rate * 100:.0f}").scaleb(-2), self.locale))


@cache
def numbers_for(language: str) -> Numbers:
    """The number formats of `language` (English's for any other)."""
    locale = Locale.parse(language if language in LANGUAGES else DEFAULT_LANGUAGE)
    percent = locale.percent_formats[None].pattern  # "#,##0%", "#,##0 %" (no-break space), …
    # Without grouping, as the f-strings before: a rate is at most 100% (a chart's axis 125%).
    return Numbers(
        locale,
        locale.decimal_formats[None],
        parse_pattern(percent.replace("#,##0", "0.0")),
        parse_pattern(percent.replace("#,##0", "0")),
    )


def load_all() -> None:
    """Compile every language's admin catalog now (the app's start), not at its first request."""
    for language in LANGUAGES:
        admin_translations(language)
        numbers_for(language)
