"""The gettext catalogs: current, complete, and saying what the Python dicts they replaced said; the
admin pages' domain (admin.pot) current, complete, apart from the visitors' one, and its numbers.

tests/texts_before_catalogs.json is every text of the dicts (core/texts.py's TEXTS, the privacy
pages' PAGE_TEXTS) as they were before the catalogs (issue 13), per language; CHANGED lists every
text whose words changed since, with why (none has changed meaning).
"""

from __future__ import annotations

import html
import json
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from consent_service.config import admin_catalogs
from consent_service.config.catalogs import LOCALE_DIR, page_texts_for, plurals_for, po_path, texts_for
from consent_service.core import page_messages
from consent_service.core.intros import INTRO_MESSAGES
from consent_service.core.texts import LANGUAGES, TEXT_KEYS
from tests.conftest import AppFactory

ROOT = Path(__file__).resolve().parent.parent
BEFORE = json.loads((Path(__file__).with_name("texts_before_catalogs.json")).read_text("utf-8"))
# (language, key) → why its text changed. The plural texts (`days`, `keep_*`) keep their old words as
# the form for 2 and more; the form for one day is new (the old "1 days" was the bug).
CHANGED: dict[tuple[str, str], str] = {}
# (part, key) → why the text was added after the catalogs (it has no "before" to compare with).
ADDED: dict[tuple[str, str], str] = {
    ("banner", "gpc_off"): "issue 14: the preferences say why GPC keeps a sale/share purpose off",
    ("banner", "unavailable"): "issue 14: a page the service is not set up for records no choice",
}


def _catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def _messages(catalog: Catalog) -> list[tuple[object, ...]]:
    return [(m.context, m.id, m.locations, sorted(m.flags), m.auto_comments) for m in catalog if m.id]


def test_the_template_is_current(tmp_path: Path) -> None:
    """Extraction from the code and the templates gives the committed messages.pot (run ./dev catalogs).

    Compared as messages (context, msgid, where it is, flags, comments), in order: the header's date
    and Babel's line wrapping, which may change with its version, do not count.
    """
    fresh = tmp_path / "messages.pot"
    subprocess.run([sys.executable, str(ROOT / "tools" / "catalogs.py"), "--pot", str(fresh)], check=True)
    assert _messages(_catalog(fresh)) == _messages(_catalog(LOCALE_DIR / "messages.pot"))


def test_every_catalog_translates_every_message() -> None:
    template = _catalog(LOCALE_DIR / "messages.pot")
    wanted = {(m.context, m.id) for m in template if m.id}
    assert len(wanted) == len(TEXT_KEYS) + len(page_messages.PAGE_KEYS) + len(INTRO_MESSAGES)
    assert sorted(p.parent.parent.name for p in LOCALE_DIR.glob("*/LC_MESSAGES/messages.po")) == sorted(LANGUAGES)
    for language in LANGUAGES:
        catalog = _catalog(po_path(language), language)
        found = {(m.context, m.id): m for m in catalog if m.id}
        assert set(found) == wanted, language
        for (key, _), m in found.items():
            assert not m.fuzzy, (language, key)
            if isinstance(m.id, tuple):  # every plural form of the language's Plural-Forms
                assert isinstance(m.string, tuple) and len(m.string) == catalog.num_plurals, (language, key)
                assert all(s.strip() for s in m.string), (language, key)
            else:
                assert isinstance(m.string, str) and m.string.strip(), (language, key)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_texts_are_those_before_the_catalogs(language: str) -> None:
    """Every text the service showed before still reads the same, save those listed in CHANGED."""
    now = {("banner", k): v for k, v in texts_for(language).items()}
    now |= {("pages", k): v for k, v in page_texts_for(language).items()}
    before = {(part, k): v for part in ("banner", "pages") for k, v in BEFORE[part][language].items()}
    assert set(now) == set(before) | set(ADDED)
    differ = {key for (part, key), value in now.items() if (part, key) not in ADDED and value != before[(part, key)]}
    assert differ == {key for (lang, key) in CHANGED if lang == language}


ONE_DAY = {"en": "1 day", "nl": "1 dag", "sv": "1 dag", "de": "1 Tag", "fr": "1 jour", "es": "1 día"}
TWO_DAYS = {"en": "2 days", "nl": "2 dagen", "sv": "2 dagar", "de": "2 Tage", "fr": "2 jours", "es": "2 días"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_number_of_days_takes_its_plural_form(language: str) -> None:
    plural = plurals_for(language)
    assert plural("days", 1).format(days=1) == ONE_DAY[language]
    assert plural("days", 2).format(days=2) == TWO_DAYS[language]
    assert plural("days", 365).format(days=365) == TWO_DAYS[language].replace("2", "365")
    for key, _, _ in page_messages.PAGE_PLURALS:
        assert ONE_DAY[language] in plural(key, 1).format(days=1), (language, key)
        assert "1 " + TWO_DAYS[language][2:] not in plural(key, 1).format(days=1), (language, key)


def test_a_site_override_wins_over_the_catalog() -> None:
    overrides = {"nl": {"title": "Privacy bij Shop"}}
    assert texts_for("nl", overrides)["title"] == "Privacy bij Shop"
    assert texts_for("nl", overrides)["save"] == "Keuzes opslaan"
    assert texts_for("xx")["title"] == "Your privacy choices"  # an unknown language gets English


def test_the_notice_says_one_day_in_the_singular(make_client: AppFactory) -> None:
    client = make_client(retention_days=1, record_ttl_days=1)
    english = html.unescape(client.get("/privacy/demo/notice").text)
    assert "An opt-out of sale or sharing: 1 day after your last visit." in english
    assert "requests: 1 day." in english and "1 days" not in english
    dutch = html.unescape(client.get("/privacy/demo/notice?lang=nl").text)
    assert "Een afmelding voor verkoop of delen: 1 dag na uw laatste bezoek." in dutch and "1 dagen" not in dutch


# ---- the admin domain (admin.pot, <lang>/LC_MESSAGES/admin.po): the admin pages' texts ----------------

ADMIN_SOURCES = ("consent_service/web/admin/", "consent_service/web/templates/admin/")
PLACEHOLDER = re.compile(r"%\((\w+)\)([sd])")


def _placeholders(text: str) -> set[tuple[str, str]]:
    return set(PLACEHOLDER.findall(text))


def test_the_admin_template_is_current(tmp_path: Path) -> None:
    """Extraction (babel-admin.cfg) gives the committed admin.pot, compared as messages (./dev catalogs)."""
    fresh = tmp_path / "admin.pot"
    subprocess.run([sys.executable, str(ROOT / "tools" / "catalogs.py"), "--admin-pot", str(fresh)], check=True)
    assert _messages(_catalog(fresh)) == _messages(_catalog(LOCALE_DIR / "admin.pot"))


def test_each_domain_holds_only_its_own_texts() -> None:
    """The admin pages' texts are in admin.pot alone; the banner's and the privacy pages' in messages.pot."""
    admin = [m for m in _catalog(LOCALE_DIR / "admin.pot") if m.id]
    visitor = [m for m in _catalog(LOCALE_DIR / "messages.pot") if m.id]
    assert len(admin) > 80 and len(visitor) == len(TEXT_KEYS) + len(page_messages.PAGE_KEYS) + len(INTRO_MESSAGES)
    assert all(path.startswith(ADMIN_SOURCES) for m in admin for path, _ in m.locations)
    assert not any(path.startswith(ADMIN_SOURCES) for m in visitor for path, _ in m.locations)


def test_every_admin_catalog_translates_every_message_and_keeps_its_placeholders() -> None:
    template = _catalog(LOCALE_DIR / "admin.pot")
    wanted = {(m.context, m.id) for m in template if m.id}
    assert sorted(p.parent.parent.name for p in LOCALE_DIR.glob("*/LC_MESSAGES/admin.po")) == sorted(LANGUAGES)
    for language in LANGUAGES:
        catalog = _catalog(admin_catalogs.po_path(language), language)
        found = {(m.context, m.id): m for m in catalog if m.id}
        assert set(found) == wanted, language
        for key, m in found.items():
            assert not m.fuzzy, (language, key)
            ids = [str(i) for i in (m.id if isinstance(m.id, tuple) else (m.id,))]
            forms = [str(f or "") for f in (m.string if isinstance(m.string, tuple) else (m.string,))]
            if isinstance(m.id, tuple):  # every plural form of the language's Plural-Forms
                assert len(forms) == catalog.num_plurals, (language, key)
            # The same placeholders (name and type) in every form: the code fills them all in.
            want = set().union(*(_placeholders(i) for i in ids))
            for form in forms:
                assert form.strip(), (language, key)
                assert _placeholders(form) == want, (language, key, form)
                # A text marked in a template is put in as markup (Jinja2's i18n: only its placeholders
                # are escaped): no character that HTML would read.
                assert not set(form) & set("<>&"), (language, key, form)


ADMIN_NUMBERS = {  # language → (1234567 as a count, 0.125 as a rate, 1.0 on an axis)
    "en": ("1,234,567", "12.5%", "100%"),
    "nl": ("1.234.567", "12,5%", "100%"),
    "sv": ("1\xa0234\xa0567", "12,5\xa0%", "100\xa0%"),
    "de": ("1.234.567", "12,5\xa0%", "100\xa0%"),
    "fr": ("1\u202f234\u202f567", "12,5\xa0%", "100\xa0%"),
    "es": ("1.234.567", "12,5\xa0%", "100\xa0%"),
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_admin_numbers_follow_the_language(language: str) -> None:
    numbers = admin_catalogs.numbers_for(language)
    assert (numbers.count(1234567), numbers.percent(0.125), numbers.whole_percent(1.0)) == ADMIN_NUMBERS[language]
    assert numbers.percent(None) == "–"


def test_english_numbers_are_written_as_before_the_catalogs() -> None:
    """The dashboard's f-strings (`f"{n:,}"`, `f"{rate * 100:.1f}%"`), to the byte, rounding included."""
    numbers = admin_catalogs.numbers_for("en")
    rates = [i / 1000 for i in range(1001)] + [1 / 3, 2 / 3, 10 / 29, 0.0125, 0.0005, 0.9995, 1.25]
    rates += [random.Random(7).random() for _ in range(2000)]
    assert [numbers.percent(r) for r in rates] == [f"{r * 100:.1f}%" for r in rates]
    assert [numbers.whole_percent(k / 4) for k in range(6)] == [f"{k / 4 * 100:.0f}%" for k in range(6)]
    counts = [0, 1, 999, 1000, 12345, 999_999, 1_000_000, 123_456_789]
    assert [numbers.count(n) for n in counts] == [f"{n:,}" for n in counts]


def test_a_missing_admin_catalog_stops_the_start(
    make_client: AppFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app compiles every admin catalog when it is created: one that cannot be read fails there,
    not on an admin page's first request."""
    monkeypatch.setattr(admin_catalogs, "po_path", lambda language: tmp_path / language / "admin.po")
    admin_catalogs.admin_translations.cache_clear()
    try:
        with pytest.raises(FileNotFoundError):
            make_client()
    finally:
        admin_catalogs.admin_translations.cache_clear()  # the real catalogs again, for the other tests
