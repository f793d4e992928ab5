"""The gettext catalogs: every text the service shows or serves, in each of its languages.

The catalogs are `consent_service/locale/<language>/LC_MESSAGES/messages.po` (extracted into
`messages.pot` from core/texts.py and core/page_messages.py, see docs/translations.md). No `.mo`
file is built or committed: each `.po` is compiled in memory with Babel the first time its language
is asked for (`read_po` → `write_mo` → `GNUTranslations`); the app loads them all when it is
created (`load_all`, some 25 ms), so a broken catalog stops the start and no request waits for one.
A fresh clone, an installed package and the image need no build step.
A text's msgctxt is its key and its msgid its English, so a missing translation falls back to
English; a site's own texts from its TOML (`[sites.texts.<lang>]`) go on top.

This is the `messages` domain (the banner, the privacy pages). The admin pages' texts are a domain of
their own, `admin` (admin_catalogs.py), compiled the same way (`compiled`).
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path

from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from consent_service.core import page_messages
from consent_service.core.intros import INTRO_MESSAGES, KIND_KEYS, NAMED_KINDS
from consent_service.core.site import Site
from consent_service.core.texts import BANNER_MESSAGES, DEFAULT_LANGUAGE, LANGUAGES
from consent_service.core.vocab import PurposeKind

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def compiled(path: Path, language: str, domain: str) -> gettext.GNUTranslations:
    """The `.po` at `path` compiled in memory (a fuzzy entry is left out, as msgfmt does)."""
    with path.open("rb") as po:
        catalog = read_po(po, locale=language, domain=domain)
    mo = io.BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    return gettext.GNUTranslations(mo)


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalog of `language` (English, the msgids, for any other language)."""
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    return compiled(po_path(language), language, DOMAIN)


@cache
def _banner_texts(language: str) -> Mapping[str, str]:
    t = translations(language)
    return {key: t.pgettext(key, english) for key, english in BANNER_MESSAGES}


def texts_for(language: str, overrides: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, str]:
    """The banner's every text in `language` (English where a translation is missing), then the site's."""
    return {**_banner_texts(language), **(overrides or {}).get(language, {})}


def site_texts_for(language: str, site: Site) -> dict[str, str]:
    """The banner's texts for this site: `texts_for`, with introductions that name the site's own
    kinds of purpose where the catalog's would name others (core/intros.py), then the site's texts."""
    kinds = tuple(dict.fromkeys(p.kind for p in site.purposes.values() if not p.necessary))
    if set(kinds) == NAMED_KINDS:
        return texts_for(language, site.texts)
    return {**_banner_texts(language), **_intros(language, kinds), **site.texts.get(language, {})}


@cache
def _intros(language: str, kinds: tuple[PurposeKind, ...]) -> Mapping[str, str]:
    t = translations(language)
    english = dict(INTRO_MESSAGES)

    def text(key: str) -> str:
        return t.pgettext(key, english[key])

    if not kinds:
        return {"intro_opt_in": text("intro_necessary_only"), "intro_notice": text("intro_necessary_only")}
    # British English joins a list without the serial comma, as the catalog's own English does.
    locale = language if language in LANGUAGES and language != "en" else "en_GB"
    named = format_list([text(KIND_KEYS[kind]) for kind in kinds], locale=locale)
    return {
        "intro_opt_in": text("intro_opt_in_for").replace("{purposes}", named),
        "intro_notice": text("intro_notice_for").replace("{purposes}", named),
    }


@cache
def _page_texts(language: str) -> Mapping[str, str]:
    t = translations(language)
    texts = {key: t.pgettext(key, english) for key, english in page_messages.PAGE_MESSAGES}
    # A number's text without its number (as in a table's heading) is the "many" form.
    texts.update({key: t.npgettext(key, one, other, 2) for key, one, other in page_messages.PAGE_PLURALS})
    return texts


def page_texts_for(language: str) -> dict[str, str]:
    """The privacy pages' every text in `language`, English where a translation is missing."""
    return dict(_page_texts(language))


def plurals_for(language: str) -> Callable[[str, int], str]:
    """`plural(key, n)`: the form of a page text (`{days}`) that suits the number `n` in `language`."""
    t = translations(language)
    forms = {key: (one, other) for key, one, other in page_messages.PAGE_PLURALS}

    def plural(key: str, n: int) -> str:
        one, other = forms[key]
        return t.npgettext(key, one, other, n)

    return plural


def load_all() -> None:
    """Compile every language's catalog now (the app's start), not at its first request."""
    for language in LANGUAGES:
        _banner_texts(language)
        _page_texts(language)
        _intros(language, (PurposeKind.ANALYTICS,))  # babel's list patterns are loaded here too
