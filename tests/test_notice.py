"""The privacy notice: its configuration, its page, and that it cannot disagree with the decisions."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

import pytest
from starlette.testclient import TestClient

from consent_service.config.sites import load_sites, parse_sites
from consent_service.config.validator import ConfigError
from consent_service.core.notice import InfoCategory, Source
from consent_service.core.site import Site
from consent_service.core.texts import LANGUAGES
from consent_service.web import html as web_html
from consent_service.web.pages.texts import LANGUAGE_NAMES, PAGE_TEXTS
from tests.conftest import CA, AppFactory

SOURCE = "/etc/consent/sites.toml"

# A shop with two sale/share purposes (`ads`, `partners`) and one that is neither (`stats`).
SHOP = """
[[sites]]
id = "shop"

[[sites.purposes]]
id = "necessary"
kind = "necessary"
[sites.purposes.text.en]
label = "Needed"

[[sites.purposes]]
id = "ads"
kind = "advertising"
sale_share = true
[sites.purposes.text.en]
label = "Targeted ads"
[sites.purposes.text.sv]
label = "Riktade annonser"

[[sites.purposes]]
id = "partners"
kind = "personalization"
sale_share = true
[sites.purposes.text.en]
label = "Partner offers"

[[sites.purposes]]
id = "stats"
kind = "analytics"
[sites.purposes.text.en]
label = "Statistics"

[sites.notice]
business = "Shop Ltd"
last_updated = 2026-10-01

[sites.notice.contact]
email = "privacy@shop.example"

[[sites.notice.categories]]
id = "ids"
category = "identifiers"
sources = ["device"]
purposes = ["necessary", "ads", "stats"]
retention_days = 90
[sites.notice.categories.text.en]
label = "Cookie IDs"

[[sites.notice.categories]]
id = "orders"
category = "commercial"
sources = ["consumer"]
purposes = ["partners"]
retention_days = 365
[sites.notice.categories.text.en]
label = "Order history"

[[sites.notice.categories]]
id = "visits"
category = "internet_activity"
sources = ["device"]
purposes = ["stats"]
retention_days = 30
[sites.notice.categories.text.en]
label = "Visits"

[[sites.notice.third_parties]]
id = "ad_networks"
purposes = ["ads"]
[sites.notice.third_parties.text.en]
label = "Ad networks"

[[sites.notice.third_parties]]
id = "retail_partners"
purposes = ["partners"]
[sites.notice.third_parties.text.en]
label = "Retail partners"

[[sites.notice.third_parties]]
id = "analytics_vendor"
purposes = ["stats"]
[sites.notice.third_parties.text.en]
label = "Analytics vendor"
"""

# A site that sells nothing, with a notice and a second site without one.
NO_SALE = """
[[sites]]
id = "blog"
gpc_lift_by_opt_in = true
[[sites.purposes]]
id = "stats"
kind = "analytics"
[sites.purposes.text.en]
label = "Statistics"
[sites.notice]
business = "Blog"
last_updated = "2026-01-15"
[sites.notice.contact]
url = "https://blog.example/contact"
[sites.notice.text.en]
retention = "We keep visit statistics for one year."
[[sites.notice.categories]]
id = "visits"
category = "internet_activity"
sources = ["device"]
purposes = ["stats"]
[sites.notice.categories.text.en]
label = "Visits"

[[sites]]
id = "bare"
[[sites.purposes]]
id = "stats"
kind = "analytics"
[sites.purposes.text.en]
label = "Statistics"
"""


class Rows(HTMLParser):
    """The machine-readable rows of the notice: `data-<kind>` → `data-sold-shared`."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = f"data-{kind}"
        self.found: dict[str, bool] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr" and self.kind in a:
            key = a[self.kind]
            assert key is not None and key not in self.found, f"{self.kind}={key} appears twice"
            assert a["data-sold-shared"] in ("true", "false")
            self.found[key] = a["data-sold-shared"] == "true"


def rows(html: str, kind: str) -> dict[str, bool]:
    parser = Rows(kind)
    parser.feed(html)
    return parser.found


def notice_of(client: TestClient, site: str, **params: str) -> str:
    r = client.get(f"/privacy/{site}/notice", params=params)
    assert r.status_code == 200, r.text
    return r.text


def assert_notice_matches_behaviour(client: TestClient, site: Site) -> None:
    """Both ways: sold/shared in the notice exactly when `sale_share` in the configuration, and exactly
    the purposes that GPC and the one-click opt-out deny."""
    assert site.notice is not None
    html = notice_of(client, site.id)
    shown = rows(html, "purpose")
    assert list(shown) == list(site.purposes)  # every purpose, in the configured order
    assert shown == {pid: p.sale_share for pid, p in site.purposes.items()}
    for kind, items in (("category", site.notice.collected), ("recipient", site.notice.recipients)):
        assert rows(html, kind) == {i.id: any(site.purposes[p].sale_share for p in i.purposes) for i in items}
    sold = {pid for pid, is_sold in shown.items() if is_sold}
    query = {"site": site.id, "purpose": list(site.purposes)}
    with_gpc = client.get("/v1/decision", params=query, headers={**CA, "Sec-GPC": "1"}).json()["decisions"]
    assert {pid for pid, d in with_gpc.items() if d["reason"] == "gpc"} == sold
    assert all(d["allowed"] for pid, d in with_gpc.items() if pid not in sold)
    client.cookies.clear()
    client.post("/v1/opt-out", json={"site": site.id}, headers=CA)
    after = client.get("/v1/decision", params=query, headers=CA).json()["decisions"]
    assert {pid for pid, d in after.items() if not d["allowed"]} == sold
    client.cookies.clear()


# ---- consistency with the decisions --------------------------------------------------------------


def test_demo_notice_and_decisions_agree(client: TestClient) -> None:
    demo = load_sites(None).sites["demo"]
    assert_notice_matches_behaviour(client, demo)
    assert rows(notice_of(client, "demo"), "purpose") == {
        "necessary": False,
        "analytics": False,
        "advertising": True,
        "personalization": False,
    }


def test_two_sale_share_purposes_agree(make_client: AppFactory) -> None:
    client = make_client(SHOP)
    shop = parse_sites(SHOP, source="<test>").sites["shop"]
    assert_notice_matches_behaviour(client, shop)
    html = notice_of(client, "shop")
    sale = html[html.index('id="sale-yes"') : html.index('id="sale-recipients"')]
    assert "Targeted ads, Partner offers" in sale and "Statistics" not in sale
    assert "Cookie IDs, Order history" in sale and "Visits" not in sale  # only categories used for a sale
    recipients = html[html.index('id="sale-recipients"') : html.index("</ul>", html.index('id="sale-recipients"'))]
    assert "Ad networks, Retail partners" in recipients and "Analytics vendor" not in recipients


def test_a_site_that_sells_nothing_says_so(make_client: AppFactory) -> None:
    client = make_client(NO_SALE)
    blog = parse_sites(NO_SALE, source="<test>").sites["blog"]
    assert_notice_matches_behaviour(client, blog)
    html = notice_of(client, "blog")
    assert 'id="sale-none"' in html and "We do not sell or share personal information." in html
    assert "/privacy/blog/opt-out" not in html and 'id="right-opt-out"' not in html  # no right to offer
    assert "We keep visit statistics for one year." in html and "See “How long we keep it”" in html
    assert "we follow that newer choice" in html  # gpc_lift_by_opt_in, from the same site config


def test_a_sale_share_purpose_cannot_be_left_out_or_flagged_in_the_notice() -> None:
    """The notice has no sold/shared flag of its own, and must list what each sale uses and who gets it."""
    cases = [
        (SHOP.replace('purposes = ["partners"]\nretention_days', 'purposes = ["stats"]\nretention_days'),
         "sites[0].notice.categories: purpose 'partners' is a sale or sharing: list what it uses"),
        (SHOP.replace('id = "retail_partners"\npurposes = ["partners"]', 'id = "retail_partners"\npurposes = ["stats"]'),
         "sites[0].notice.third_parties: purpose 'partners' is a sale or sharing: list who receives it"),
        (SHOP.replace('id = "ids"\n', 'id = "ids"\nsold = false\n'),
         "sites[0].notice.categories[0].sold: unknown field"),
        (SHOP.replace('id = "ad_networks"\n', 'id = "ad_networks"\nsale_share = false\n'),
         "sites[0].notice.third_parties[0].sale_share: unknown field"),
    ]  # fmt: skip
    for text, message in cases:
        with pytest.raises(ConfigError) as err:
            parse_sites(text, source=SOURCE)
        assert str(err.value).startswith(f"{SOURCE}: {message}"), str(err.value)


# ---- parsing ---------------------------------------------------------------------------------


def test_demo_ships_a_complete_notice() -> None:
    demo = load_sites(None).sites["demo"]
    notice = demo.notice
    assert notice is not None
    assert notice.business and notice.last_updated == dt.date(2026, 11, 29) and notice.sells_under_16 is False
    assert notice.contact.email and notice.contact.url and notice.contact.phone
    assert [c.id for c in notice.collected] == [
        "online_identifiers",
        "browsing_activity",
        "approximate_location",
        "interest_profile",
    ]
    assert all(c.retention_days and c.sources and c.purposes for c in notice.collected)
    assert {r.id for r in notice.recipients_for("advertising")} == {"advertising_partners"}
    for item in (*notice.collected, *notice.recipients):
        assert set(item.text) >= {"en", "nl", "sv", "de", "fr", "es"}
    assert set(notice.text) >= {"en", "nl", "sv"} and notice.text["sv"].intro


def test_a_minimal_notice_and_its_defaults() -> None:
    blog = parse_sites(NO_SALE, source=SOURCE).sites["blog"]
    assert blog.notice is not None and parse_sites(NO_SALE, source=SOURCE).sites["bare"].notice is None
    assert blog.notice.last_updated == dt.date(2026, 1, 15)  # a quoted ISO date works too
    assert blog.notice.contact.email is None and blog.notice.contact.url == "https://blog.example/contact"
    assert blog.notice.recipients == () and blog.notice.collected[0].retention_days is None
    assert blog.notice.collected[0].sources == (Source.DEVICE,)
    assert blog.notice.collected[0].category is InfoCategory.INTERNET_ACTIVITY
    assert blog.notice.text_for("sv").retention == "We keep visit statistics for one year."  # English fallback
    demo = load_sites(None).sites["demo"].notice
    assert demo is not None and demo.text_for("sv").intro.startswith("Demo Publisher driver")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('business = "Shop Ltd"', 'business = "Shop Ltd"\ncolour = "red"', "sites[0].notice.colour: unknown field"),
        ('business = "Shop Ltd"', 'business = ""', "sites[0].notice.business: must be a non-empty string"),
        ("last_updated = 2026-10-01", "last_updated = 2026-13-01", "not valid TOML"),
        ("last_updated = 2026-10-01", 'last_updated = "2026-02-30"',
         "sites[0].notice.last_updated: '2026-02-30' is not a date like 2026-11-29"),
        ("last_updated = 2026-10-01", "last_updated = 2026-10-01T10:00:00",
         "sites[0].notice.last_updated: datetime.datetime(2026, 10, 1, 10, 0) is not a date"),
        ("last_updated = 2026-10-01", 'last_updated = "20261001"', "sites[0].notice.last_updated: '20261001' is not"),
        ("last_updated = 2026-10-01\n", "", "sites[0].notice.last_updated: is required"),
        ('email = "privacy@shop.example"', 'phone = "+1 555 0100 00"',
         "sites[0].notice.contact: give an email or a url"),
        ('email = "privacy@shop.example"', 'url = "javascript:alert(1)"',
         "sites[0].notice.contact.url: 'javascript:alert(1)' must be an http(s) URL"),
        ('email = "privacy@shop.example"', 'url = "https://shop.example/x\\"onmouseover=alert(1)"',
         "sites[0].notice.contact.url:"),
        ('email = "privacy@shop.example"', 'email = "not an address"',
         "sites[0].notice.contact.email: 'not an address' must be an email address"),
        ('email = "privacy@shop.example"', 'email = "a@b.example"\nfax = "1"', "sites[0].notice.contact.fax: unknown"),
        ('category = "identifiers"', 'category = "cookies"',
         "sites[0].notice.categories[0].category: 'cookies' is not one of identifiers, customer_records"),
        ('sources = ["consumer"]', 'sources = ["spies"]',
         "sites[0].notice.categories[1].sources[0]: 'spies' is not one of consumer, device"),
        ('sources = ["consumer"]', "sources = []", "sites[0].notice.categories[1].sources: name at least one source"),
        ('purposes = ["necessary", "ads", "stats"]', 'purposes = ["necessary", "adverts"]',
         "sites[0].notice.categories[0].purposes[1]: unknown purpose 'adverts' (this site's: necessary, ads, "),
        ('purposes = ["ads"]\n[sites.notice.third_parties.text.en]', 'purposes = ["sale"]\n[sites.notice.third_parties.text.en]',
         "sites[0].notice.third_parties[0].purposes[0]: unknown purpose 'sale'"),
        ('id = "orders"', 'id = "ids"', "sites[0].notice.categories[1].id: duplicate id 'ids'"),
        ('id = "orders"', 'id = "Orders!"', "sites[0].notice.categories[1].id: 'Orders!' must be a lowercase identifier"),
        ("retention_days = 90\n", "", "sites[0].notice.categories[0].retention_days: is required unless"),
        ("retention_days = 90", "retention_days = 0", "sites[0].notice.categories[0].retention_days: must be a whole"),
        ('[sites.notice.categories.text.en]\nlabel = "Cookie IDs"', '[sites.notice.categories.text.sv]\nlabel = "Kakor"',
         "sites[0].notice.categories[0].text: a table of texts per language with at least [text.en] is required"),
        ('label = "Cookie IDs"', 'label = "Cookie IDs"\ntooltip = "x"',
         "sites[0].notice.categories[0].text.en.tooltip: unknown field"),
        ('label = "Cookie IDs"', f'label = "{"x" * 4001}"', "sites[0].notice.categories[0].text.en.label: is longer"),
    ],
)  # fmt: skip
def test_notice_errors_name_file_field_and_problem(old: str, new: str, message: str) -> None:
    assert old in SHOP
    with pytest.raises(ConfigError) as err:
        parse_sites(SHOP.replace(old, new, 1), source=SOURCE)
    assert str(err.value).startswith(f"{SOURCE}: ") and message in str(err.value), str(err.value)


@pytest.mark.parametrize(
    ("notice", "message"),
    [
        ('notice = "see our website"', "sites[0].notice: must be a table ([sites.notice])"),
        ('[sites.notice]\nbusiness = "X"\nlast_updated = 2026-01-01\n[sites.notice.contact]\nemail = "a@b.example"',
         "sites[0].notice.categories: at least one [[sites.notice.categories]] table is required"),
        ('[sites.notice]\nbusiness = "X"\nlast_updated = 2026-01-01',
         "sites[0].notice.contact: a [sites.notice.contact] table with an email or url is required"),
        ('[sites.notice]\nbusiness = "X"\nlast_updated = 2026-01-01\n[sites.notice.contact]\nurl = "https://x.example"\n'
         '[sites.notice.text.EN]\nintro = "x"', "sites[0].notice.text.EN: must be a table named by an ISO 639 language code"),
    ],
)  # fmt: skip
def test_notice_table_shape_errors(notice: str, message: str) -> None:
    purposes = '[[sites.purposes]]\nid = "stats"\nkind = "analytics"\n[sites.purposes.text.en]\nlabel = "S"'
    with pytest.raises(ConfigError) as err:
        parse_sites(f'[[sites]]\nid = "x"\n{notice}\n{purposes}\n', source=SOURCE)
    assert str(err.value) == f"{SOURCE}: {message}"


# ---- the page --------------------------------------------------------------------------------


def test_notice_page_in_english(make_client: AppFactory) -> None:
    client = make_client(retention_days=800, record_ttl_days=200)
    r = client.get("/privacy/demo/notice")
    html = r.text
    assert r.status_code == 200 and r.headers["content-type"] == "text/html; charset=utf-8"
    assert '<html lang="en">' in html and "<h1>Privacy notice: Demo Publisher, Inc.</h1>" in html
    assert '<time id="last-updated" datetime="2026-11-29">2026-11-29</time>' in html
    # the purposes' own labels and descriptions, and the CCPA terms for each category
    assert "<strong>Advertising</strong>" in html and "Counts visits and measures how the site is used." in html
    assert "Inferences drawn to create a profile" in html and "Automatically from your browser or device" in html
    # rights and how to use them
    assert html.count('href="/privacy/demo/opt-out?lang=en"') >= 3
    assert "Do Not Sell or Share My Personal Information" in html
    assert 'href="/privacy/demo/data?lang=en"' in html
    for section in ("right-know", "right-delete", "right-correct", "right-equal", "gpc", "agents", "contact"):
        assert f'id="{section}"' in html
    assert 'id="right-limit"' not in html  # no sensitive personal information in the demo
    assert "Sec-GPC: 1" in html and "when you are logged in, for your account" in html
    assert "also applies to your account" in html and "signed permission" in html
    assert "does not switch the sale or sharing back on" in html  # the demo does not lift GPC by opt-in
    assert 'href="mailto:privacy@demo-publisher.example"' in html and 'href="tel:+18005550199"' in html
    assert "We do not have actual knowledge that we sell or share" in html
    # retention from the service's settings and the site's consent lifetime, not from free text
    assert "An opt-out of sale or sharing: 800 days" in html and ": 200 days after your last visit" in html
    assert "A consent you give: 365 days" in html and "requests: 800 days" in html
    assert "<td>400 days</td>" in html  # the business's own period for a category


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("nl", ["Privacyverklaring: Demo Publisher, Inc.", "Advertenties", "Ja: verkocht of gedeeld",
                "Mijn persoonsgegevens niet verkopen of delen", "Surfgedrag", "Laatst bijgewerkt:"]),
        ("sv", ["Integritetsmeddelande: Demo Publisher, Inc.", "Annonsering", "Ja: säljs eller delas",
                "Sälj eller dela inte mina personuppgifter", "Surfaktivitet", "Begäran om avböjande har respekterats"]),
        ("de", ["Datenschutzhinweis", "Werbung", "Werbepartner"]),
        ("fr", ["Avis de confidentialité", "Publicité", "Partenaires publicitaires"]),
        ("es", ["Aviso de privacidad", "Publicidad", "Socios publicitarios"]),
    ],
)  # fmt: skip
def test_notice_page_is_localized(client: TestClient, lang: str, expected: list[str]) -> None:
    html = notice_of(client, "demo", lang=lang)
    assert f'<html lang="{lang}">' in html and f'href="/privacy/demo/data?lang={lang}"' in html
    for text in expected:
        assert text in html, text
    assert "Privacy notice" not in html and "Your rights" not in html


def test_language_negotiation_and_english_fallback(make_client: AppFactory) -> None:
    texts = '[sites.notice.text.en]\nextra = "English only"\n[sites.notice.text.sv]\nintro = "Svensk inledning"\n'
    client = make_client(SHOP.replace("[sites.notice.contact]", texts + "[sites.notice.contact]"))
    assert '<html lang="nl">' in client.get("/privacy/shop/notice", headers={"Accept-Language": "nl;q=0.9"}).text
    assert '<html lang="en">' in client.get("/privacy/shop/notice?lang=xx").text
    sv = notice_of(client, "shop", lang="sv")
    assert "Riktade annonser" in sv and "Partner offers" in sv and "Cookie IDs" in sv  # config labels fall back to en
    assert "Dina rättigheter" in sv
    assert "<p>Svensk inledning</p>" in sv and "<p>English only</p>" in sv  # each text falls back on its own


def test_hostile_configuration_strings_are_escaped(make_client: AppFactory) -> None:
    hostile = (
        SHOP.replace('business = "Shop Ltd"', 'business = "<script>alert(1)</script> & Co"')
        .replace('label = "Cookie IDs"', 'label = "\\"><img src=x onerror=alert(1)>"\ndescription = "a <b>bold</b> claim"')
        .replace('label = "Targeted ads"', 'label = "<iframe src=//evil.example>"')
        .replace('email = "privacy@shop.example"', 'email = "privacy@shop.example"\nurl = "https://shop.example/a?b=1&c=2"')
        .replace('last_updated = 2026-10-01', 'last_updated = 2026-10-01\n[sites.notice.text.en]\nextra = "</section><script>x()</script>\\n\\nSecond"')
    )  # fmt: skip
    html = notice_of(make_client(hostile), "shop")
    for raw in ("<script", "<img", "<iframe", "<b>", "</section><"):
        assert raw not in html, raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html and "a &lt;b&gt;bold&lt;/b&gt; claim" in html
    assert 'href="https://shop.example/a?b=1&amp;c=2"' in html
    assert "<p>&lt;/section&gt;&lt;script&gt;x()&lt;/script&gt;</p>\n<p>Second</p>" in html


def test_not_found_pages_and_headers(make_client: AppFactory) -> None:
    client = make_client(NO_SALE)
    page = client.get("/privacy/blog/notice")
    for name, value in web_html.HEADERS.items():
        assert page.headers[name] == value
    assert "script-src" not in page.headers["content-security-policy"] and "<script" not in page.text
    assert 'style="' not in page.text and "<style" not in page.text  # the CSP allows only the stylesheet
    bare = client.get("/privacy/bare/notice?lang=sv")
    assert bare.status_code == 404 and bare.headers["content-type"].startswith("text/html")
    assert "har inte publicerat något integritetsmeddelande" in bare.text
    assert bare.headers["content-security-policy"] == web_html.CSP
    missing = client.get("/privacy/nope/notice")
    assert missing.status_code == 404 and "There is no such site here." in missing.text
    assert client.post("/privacy/blog/notice").status_code == 405


def test_opt_out_page_links_to_the_notice_only_when_there_is_one(make_client: AppFactory) -> None:
    client = make_client(NO_SALE)
    with_notice = client.get("/privacy/blog/opt-out?lang=sv").text
    assert 'id="notice-link" href="/privacy/blog/notice?lang=sv">Integritetsmeddelande</a>' in with_notice
    assert 'id="data-link" href="/privacy/blog/data?lang=sv"' in with_notice
    without = client.get("/privacy/bare/opt-out").text
    assert "notice-link" not in without and 'id="data-link"' in without


def test_every_language_has_every_text() -> None:
    assert set(PAGE_TEXTS) == set(LANGUAGES) == set(LANGUAGE_NAMES)
    english = set(PAGE_TEXTS["en"])
    for lang, texts in PAGE_TEXTS.items():
        assert set(texts) == english, lang
        assert all(value.strip() for value in texts.values()), lang
    assert {f"category_{c.value}" for c in InfoCategory} | {f"source_{s.value}" for s in Source} <= english
