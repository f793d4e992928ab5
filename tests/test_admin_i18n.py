"""The admin pages in the reader's language: no text left unmarked (a pseudo-translation reaches every
word), German from `?lang=de` and from `Accept-Language`, `html lang` following, the language kept in
links, forms and redirects when it was asked for by `?lang=`, and numbers written per locale while the
data attributes stay exact."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gettext
import html
import re
from html.parser import HTMLParser
from typing import get_args
from urllib.parse import parse_qs, urlsplit

import httpx2 as httpx
import pytest
from babel.messages.pofile import read_po
from starlette.testclient import TestClient

from consent_service.config.admin_catalogs import numbers_for, po_path
from consent_service.config.catalogs import LOCALE_DIR
from consent_service.stats.model import Counts, Day, StatsReport
from consent_service.web.admin import words as admin_words
from consent_service.web.admin.dashboard import render_dashboard
from consent_service.web.admin.session import LoginProblem, LogoutRefusal, login_page
from consent_service.web.admin.words import Words, page, words_for
from tests.conftest import AppFactory
from tests.test_dashboard import ALL_KEY, DEMO_KEY, ORIGIN, PAGE, admin_client, csrf_of, known_report, numbers

DE = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}


class Pseudo(gettext.NullTranslations):
    """Every text marked for translation, wrapped in ⟦ ⟧: what is left outside them was not marked."""

    def gettext(self, message: str) -> str:
        return f"⟦{message}⟧"

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        return f"⟦{msgid1 if n == 1 else msgid2}⟧"

    def pgettext(self, context: str, message: str) -> str:
        return f"⟦{message}⟧"


PSEUDO = Words("en", Pseudo(), numbers_for("en"))


class Visible(HTMLParser):
    """What a reader sees or hears of a page: its text (the head's title, the SVG titles and
    descriptions included) and the attributes read out (aria-label, title, alt, placeholder)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.parts += [v or "" for k, v in attrs if k in ("aria-label", "title", "alt", "placeholder")]

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def visible(page_html: str) -> str:
    parser = Visible()
    parser.feed(page_html)
    return " ".join(" ".join(parser.parts).split())


def unmarked_words(page_html: str) -> set[str]:
    """The words of a page outside every ⟦marked text⟧ (nested ones too: a text put into another)."""
    text, before = visible(page_html), None
    while text != before:
        text, before = re.sub(r"⟦[^⟦⟧]*⟧", " ", text), text
    return set(re.findall(r"[^\W\d_]{2,}", text))


def busy_report() -> StatsReport:
    """Every part of the page: 45 days (the table shows the last 30), 14 regions with `none` and `other`
    (12 drawn), every device type, every channel, thousands."""
    start = dt.date(2026, 1, 1)
    days = tuple(
        Day((start + dt.timedelta(i)).isoformat(), Counts(visits=1000 + i, gpc_visits=i, accept_all=i, reject_all=1))
        for i in range(45)
    )
    counts = Counts(visits=5000, gpc_visits=50, banners_shown=4000, accept_all=1200, reject_all=300, custom=20,
                    opt_outs={"banner": 5, "no_js_page": 2, "agent": 1})  # fmt: skip
    regions = {f"US-{c}": dataclasses.replace(counts, accept_all=i) for i, c in enumerate("ABCDEFGHIJKL")}
    regions |= {"none": counts, "other": counts}
    devices = {"pc": counts, "mobile": counts, "tablet": counts, "other": counts}
    return StatsReport("demo", days[0].day, days[-1].day, days, counts, regions, {}, devices, {}, 7)


DATA_WORDS = {"demo", "shop", "CSV", "JSON", "US", "CA", "DE"}  # site ids, region codes, the downloads' formats


def test_no_text_of_the_dashboard_is_left_unmarked() -> None:
    pages = [
        render_dashboard(known_report(), logout_csrf="t", sites=["demo", "shop"], range_error="x", words=PSEUDO),
        render_dashboard(busy_report(), logout_csrf="t", words=PSEUDO),
        render_dashboard(
            StatsReport("demo", "2026-11-30", "2026-11-30", (Day("2026-11-30", Counts()),), Counts(), {}, {}, {}, {}),
            logout_csrf="t",
            words=PSEUDO,
        ),
    ]
    for rendered in pages:
        assert "⟦" in rendered
        assert unmarked_words(rendered) <= DATA_WORDS, unmarked_words(rendered)


def test_no_text_of_the_login_logout_and_message_pages_is_left_unmarked(
    make_client: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    for problem in (None, *get_args(LoginProblem)):
        body = bytes(login_page("c", "/admin/x", problem=problem, words=PSEUDO).body).decode()
        assert unmarked_words(body) == set(), problem
    for why in get_args(LogoutRefusal):
        assert unmarked_words(page("admin/not_signed_out.html", PSEUDO, why=why, csrf="c")) == set()
    monkeypatch.setattr(admin_words, "words_for", lambda language="en", kept=False: PSEUDO)
    client = admin_client(make_client)
    assert login_of(client, DEMO_KEY).status_code == 303
    answers = [
        client.get("/admin/sites/shop/stats"),  # 403
        client.get("/admin/sites/nope/stats"),  # 404
        client.get("/admin/sites/demo/stats.xml"),  # 404: no such download
        client.get("/admin/sites/demo/stats.csv", params={"from": "2026-02-01", "to": "2026-01-01"}),
        client.get("/admin/sites/demo/stats.csv", params={"from": "2020-01-01", "to": "2026-01-01"}),
        client.get("/admin/sites/demo/stats.csv", params={"from": "2026-13-01"}),
        client.get("/admin/sites/demo/stats.csv", params={"to": "2026-02-30"}),
        client.get(PAGE, params={"from": "2026-02-03", "to": "2026-01-03"}),  # the dashboard with a note
        client.post("/admin/logout", data={"csrf": "x"}, headers=ORIGIN),  # not signed out
    ]
    for answer in answers:
        assert answer.status_code in (400, 403, 404), answer.status_code
        assert unmarked_words(answer.text) <= DATA_WORDS, (answer.url, unmarked_words(answer.text))


def login_of(client: TestClient, key: str, **fields: str) -> httpx.Response:
    form = client.get("/admin/login", params={k: v for k, v in fields.items() if k == "lang"}).text
    data = {"csrf": csrf_of(form), "key": key, **fields}
    return client.post("/admin/login", data=data, headers=ORIGIN, follow_redirects=False)


def english_left(page_html: str, language: str) -> list[str]:
    """Every admin text whose translation differs from its English and whose English (a piece of it
    between placeholders, as whole words) is in the page as read."""
    with po_path(language).open("rb") as f:
        catalog = read_po(f, locale=language)
    shown = visible(page_html)
    found = []
    for m in catalog:
        if not m.id:
            continue
        ids = [str(i) for i in (m.id if isinstance(m.id, tuple) else (m.id,))]
        strings = [str(s) for s in (m.string if isinstance(m.string, tuple) else (m.string,))]
        if set(ids) & set(strings):
            continue  # the same word in both languages ("Region", "Datum (UTC)" is not)
        for english in ids:
            pieces = [p.strip(" :;,.") for p in re.split(r"%\(\w+\)[sd]", english)]
            found += [p for p in pieces if len(p) >= 4 and re.search(rf"(?<!\w){re.escape(p)}(?!\w)", shown)]
    return found


GERMAN = ("Einwilligungsstatistik", "Seitenaufrufe", "Getroffene Entscheidungen", "Einwilligungsrate",
          "Widerspruchsrate", "Entscheidungen nach Region", "Entscheidungen nach Gerätetyp", "Tag für Tag",
          "Ganzer Zeitraum", "Abmelden", "Anzeigen", "Herunterladen:", "Die Zahlen", "Alle akzeptieren",
          "Widersprüche", "bevollmächtigter Vertreter", "Mobilgerät", "Seitenaufrufe mit GPC pro Tag")  # fmt: skip
ENGLISH = ("Consent statistics", "Page views", "Choices made", "Consent rate", "Opt-out rate", "Choices by region",
           "Day by day", "Whole range", "Sign out", "Download:", "The numbers", "Accept all", "authorized agent",
           "stacked", "newest first", "No choices in this range", "sent GPC")  # fmt: skip


def test_the_dashboard_in_german() -> None:
    rendered = render_dashboard(busy_report(), logout_csrf="t", sites=["demo", "shop"], words=words_for("de"))
    shown = visible(rendered)
    assert '<html lang="de">' in rendered
    assert all(word in shown for word in GERMAN), [word for word in GERMAN if word not in shown]
    assert not [word for word in ENGLISH if word in shown]
    assert english_left(rendered, "de") == []
    assert "Die 12 größten von 14 Gruppen sind dargestellt" in shown  # the plural, counts per locale
    assert "Die letzten 30 Tage des Zeitraums" in shown
    # Numbers as German writes them; the data attributes exact, as in every language.
    found = {(a.get("data-day"), a.get("data-metric")): (text, a.get("data-value")) for a, text in numbers(rendered)}
    assert found["total", "visits"] == ("5.000", "5000")
    assert found["total", "consent_rate"] == ("78,5\xa0%", repr(1200 / 1528))  # of 1,528 choices
    assert "1.044" in shown  # a day's page views
    assert 'data-rate="0.5"><title>2026-01-02: Einwilligungsrate 50,0\xa0%</title>' in rendered


@pytest.mark.parametrize("language", ["nl", "sv", "fr", "es"])
def test_the_dashboard_in_every_other_language(language: str) -> None:
    rendered = render_dashboard(busy_report(), logout_csrf="t", words=words_for(language))
    assert f'<html lang="{language}">' in rendered
    assert english_left(rendered, language) == []
    assert not [word for word in ENGLISH if word in visible(rendered)]


def test_german_from_lang_or_accept_language(make_client: AppFactory) -> None:
    client = admin_client(make_client)
    for params, headers in (({"lang": "de"}, {}), ({}, DE)):
        login = client.get("/admin/login", params=params, headers=headers)
        assert '<html lang="de">' in login.text and "Admin-Schlüssel" in login.text, (params, headers)
        assert "Stunden" in login.text and "Admin key" not in login.text
        assert english_left(login.text, "de") == []
    assert '<html lang="en">' in client.get("/admin/login").text
    assert '<html lang="en">' in client.get("/admin/login", headers={"Accept-Language": "ja, pt;q=0.5"}).text
    assert '<html lang="fr">' in client.get("/admin/login", params={"lang": "fr"}, headers=DE).text  # ?lang= first
    assert login_of(client, DEMO_KEY).status_code == 303
    for params, headers in (({"lang": "de"}, {}), ({}, DE)):
        dash = client.get(PAGE, params=params, headers=headers)
        assert dash.status_code == 200 and '<html lang="de">' in dash.text, (params, headers)
        assert "Einwilligungsrate" in dash.text and english_left(dash.text, "de") == []
    wrong = client.post("/admin/login", data={"csrf": "x", "key": "k", "lang": "de"}, headers=ORIGIN)
    assert wrong.status_code == 403 and "Das Formular ist abgelaufen" in wrong.text


def test_german_messages_and_refusals(make_client: AppFactory) -> None:
    client = admin_client(make_client)
    login_of(client, DEMO_KEY)
    missing = client.get("/admin/sites/nope/stats", headers=DE)
    assert missing.status_code == 404 and "<h1>Nicht gefunden</h1>" in missing.text
    assert "Die Website &#39;nope&#39; ist nicht eingerichtet." in missing.text
    forbidden = client.get("/admin/sites/shop/stats", params={"lang": "de"})
    assert forbidden.status_code == 403 and '<a href="/admin/login?lang=de">Erneut anmelden</a>' in forbidden.text
    bad = client.get("/admin/sites/demo/stats.csv", params={"from": "2026-13-01", "lang": "de"})
    assert bad.status_code == 400 and "„Von“ muss ein Datum (YYYY-MM-DD) zwischen 2020 und 2100 sein" in bad.text
    long = client.get("/admin/sites/demo/stats.json", params={"from": "2020-01-01", "to": "2026-01-01"}, headers=DE)
    assert "ein Zeitraum umfasst höchstens 400 Tage" in long.text
    note = client.get(PAGE, params={"from": "2026-02-03", "to": "2026-01-03"}, headers=DE)
    assert "„Von“ liegt nach „Bis“; angezeigt werden die letzten 30 Tage." in html.unescape(note.text)
    refused = client.post("/admin/logout", data={"csrf": "x", "lang": "de"}, headers=ORIGIN)
    assert refused.status_code == 403 and "Nicht abgemeldet" in refused.text and "Hier abmelden:" in refused.text
    assert '<html lang="de">' in refused.text and 'name="lang" value="de"' in refused.text
    for answer in (missing, forbidden, bad, long, note, refused):
        assert english_left(answer.text, "de") == [], answer.url


def test_a_language_asked_for_by_lang_is_kept(make_client: AppFactory) -> None:
    client = admin_client(make_client)
    away = client.get(PAGE, params={"from": "2026-01-01", "lang": "de"}, follow_redirects=False)
    location = away.headers["location"]
    assert away.status_code == 303 and parse_qs(urlsplit(location).query)["lang"] == ["de"]
    assert parse_qs(urlsplit(location).query)["next"] == [f"{PAGE}?from=2026-01-01&lang=de"]
    form = client.get(location).text
    assert 'name="lang" value="de"' in form and '<html lang="de">' in form
    signed_in = login_of(client, ALL_KEY, lang="de")
    assert signed_in.headers["location"] == f"{PAGE}?lang=de"
    dash = client.get(PAGE, params={"lang": "de"}).text
    assert dash.count('<input type="hidden" name="lang" value="de">') == 2  # the range form, sign-out
    assert 'href="/admin/sites/shop/stats?lang=de"' in dash
    assert 'href="/admin/sites/demo/stats.csv?from=' in dash  # the downloads are the same in every language
    token = csrf_of(dash)
    out = client.post("/admin/logout", data={"csrf": token, "lang": "de"}, headers=ORIGIN, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/admin/login?lang=de"
    # From Accept-Language alone, the links stay as they were: the next request negotiates again.
    login_of(client, ALL_KEY)
    negotiated = client.get(PAGE, headers=DE).text
    assert '<html lang="de">' in negotiated and 'name="lang"' not in negotiated
    assert 'href="/admin/sites/shop/stats"' in negotiated


def test_each_admin_catalog_has_a_plural_form_per_number() -> None:
    one_day = {"en": "1 day", "nl": "1 dag", "sv": "1 dag", "de": "1 Tag", "fr": "1 jour", "es": "1 día"}
    days = {"en": "400 days", "nl": "400 dagen", "sv": "400 dagar", "de": "400 Tage", "fr": "400 jours",
            "es": "400 días"}  # fmt: skip
    text = "a range is at most %(num)s day", "a range is at most %(num)s days"
    for language, one in one_day.items():
        words = words_for(language)
        assert words.ngettext(*text, 1, num="1").endswith(one), language
        assert words.ngettext(*text, 400, num="400").endswith(days[language]), language
    assert {p.parent.parent.name for p in LOCALE_DIR.glob("*/LC_MESSAGES/admin.po")} == set(one_day)
