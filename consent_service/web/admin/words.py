"""The admin pages' words and numbers in the reader's language (the `admin` gettext domain,
config/admin_catalogs.py; docs/translations.md).

A text of these modules is marked where it is written, in English, for `./dev catalogs` to extract
into admin.pot: `N_("…")` in a table of labels (the text stays English there, and is translated where
it is shown), `words.gettext("…")` and `words.ngettext("…", "…", n)` where it is used at once.
Placeholders are `%(name)s`, filled in after the translation.

The language is the privacy pages' rule: `?lang=`, else `Accept-Language`, among the service's
languages, English the fallback (web/visitor.py). A language asked for in `?lang=` is kept in the
page's links and forms (`Words.kept`), so that the next page speaks it too.
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from functools import cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request

from consent_service.config.admin_catalogs import Numbers, admin_translations, numbers_for
from consent_service.core.texts import DEFAULT_LANGUAGE
from consent_service.web import visitor
from consent_service.web.templating import render


def N_(text: str) -> str:  # gettext's own name for the marker, which pybabel extracts
    """Marks `text` for extraction into admin.pot; it is translated where it is shown."""
    return text


@dataclass(frozen=True, slots=True)
class Words:
    """One language's admin texts (`catalog`) and numbers; `kept`: the language came from `?lang=`,
    so the page's links and forms carry it on."""

    language: str
    catalog: gettext.NullTranslations
    numbers: Numbers
    kept: bool = False

    def gettext(self, text: str, **values: object) -> str:
        """`text` (its English, a msgid) in this language, its `%(placeholders)s` filled in."""
        found = self.catalog.gettext(text)
        return found % values if values else found

    def pgettext(self, context: str, text: str) -> str:
        """`text` in this language, where one English text needs two translations (`context`)."""
        return self.catalog.pgettext(context, text)

    def ngettext(self, one: str, other: str, n: int, **values: object) -> str:
        """The form of a text that suits the number `n`, its `%(placeholders)s` filled in."""
        return self.catalog.ngettext(one, other, n) % values

    def count(self, n: int) -> str:
        return self.numbers.count(n)

    def percent(self, rate: float | None) -> str:
        return self.numbers.percent(rate)

    def whole_percent(self, rate: float) -> str:
        return self.numbers.whole_percent(rate)

    def link(self, path: str) -> str:
        """`path` (ours, maybe with a query) with `lang=` added when the language is kept."""
        if not self.kept:
            return path
        parts = urlsplit(path)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "lang"]
        return urlunsplit(parts._replace(query=urlencode([*query, ("lang", self.language)])))


@cache
def words_for(language: str = DEFAULT_LANGUAGE, kept: bool = False) -> Words:
    return Words(language, admin_translations(language), numbers_for(language), kept)


def words_of(request: Request, requested: str | None = None) -> Words:
    """The request's language: `requested` (a posted form's `lang`), else `?lang=`, else
    `Accept-Language`. Kept in links and forms only when it was asked for by name."""
    asked = requested or request.query_params.get("lang")
    return words_for(visitor.language(request, asked), kept=bool(asked))


def page(template: str, words: Words, /, **context: object) -> str:
    """An admin template rendered in `words`' language: its `_()`, `{% trans %}` and `ngettext`
    (templating.py) read `translations`; `language` is the page's `html lang`."""
    return render(template, language=words.language, translations=words.catalog, kept=words.kept, **context)
