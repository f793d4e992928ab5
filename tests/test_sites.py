from __future__ import annotations

from pathlib import Path

import pytest

from consent_service.config.sites import load_sites, parse_sites
from consent_service.config.validator import ConfigError
from consent_service.core.vocab import PurposeKind, Regime

SOURCE = "/etc/consent/sites.toml"

ANALYTICS = """
[[sites.purposes]]
id = "analytics"
kind = "analytics"
[sites.purposes.text.en]
label = "Analytics"
"""


def purpose(pid: str = "ads", kind: str = "advertising", extra: str = "", text: str | None = None) -> str:
    texts = '[sites.purposes.text.en]\nlabel = "Label"\n' if text is None else text
    return f'\n[[sites.purposes]]\nid = "{pid}"\nkind = "{kind}"\n{extra}\n{texts}'


def site(head: str = 'id = "shop"', purposes: str = ANALYTICS) -> str:
    """One [[sites]] table: `head` holds the site-level keys (they must precede the purposes)."""
    return f"\n[[sites]]\n{head}\n{purposes}"


# --- the bundled demo ------------------------------------------------------------------------


def test_demo_config_loads() -> None:
    config = load_sites(None)
    assert list(config.sites) == ["demo"]
    assert config.source == "<bundled demo_site.toml>"
    demo = config.sites["demo"]
    assert list(demo.purposes) == ["necessary", "analytics", "advertising", "personalization"]
    assert {pid: p.sale_share for pid, p in demo.purposes.items()} == {
        "necessary": False,
        "analytics": False,
        "advertising": True,
        "personalization": False,
    }
    assert demo.purposes["necessary"].necessary
    assert demo.purposes["necessary"].kind is PurposeKind.NECESSARY
    assert demo.purposes["advertising"].kind is PurposeKind.ADVERTISING
    assert demo.has_sale_share
    assert demo.optional_purposes == ("analytics", "advertising", "personalization")
    for p in demo.purposes.values():
        assert set(p.text) >= {"en", "nl", "sv", "de", "fr", "es"}
        assert all(t.label for t in p.text.values())
    assert demo.purposes["advertising"].cookies == ("_fbp", "_gcl_*", "IDE")
    assert "http://localhost:8000" in demo.origins
    assert demo.regimes == {}
    assert demo.gpc_lift_by_opt_in is False
    assert demo.mspa_signatory is False
    assert demo.consent_lifetime_days == 365
    assert config.all_origins == demo.origins


def test_minimal_site_gets_the_defaults() -> None:
    config = parse_sites(site(), source=SOURCE)
    shop = config.sites["shop"]
    assert config.source == SOURCE
    assert shop.origins == frozenset()
    assert shop.policy_version == "1"
    assert shop.default_region is None
    assert shop.regimes == {}
    assert shop.gpc_lift_by_opt_in is False
    assert shop.mspa_signatory is False
    assert shop.consent_lifetime_days == 365
    assert not shop.has_sale_share
    analytics = shop.purposes["analytics"]
    assert analytics.sale_share is False
    assert analytics.cookies == ()
    assert analytics.text["en"].label == "Analytics"
    assert analytics.text["en"].description == ""


def test_full_site_is_read() -> None:
    head = """
id = "shop-1"
origins = ["https://www.shop.example", "http://localhost:3000"]
policy_version = "2026-01"
default_region = "US-CA"
regimes = { "US-CA" = "opt_in", "DE" = "notice", "*" = "opt_out" }
gpc_lift_by_opt_in = true
mspa_signatory = true
consent_lifetime_days = 180
"""
    ads = purpose(
        "ads",
        "advertising",
        'sale_share = true\ncookies = ["_fbp", "_gcl_*"]',
        '[sites.purposes.text.en]\nlabel = "Ads"\ndescription = "Sold"\n[sites.purposes.text.nl]\nlabel = "Reclame"\n',
    )
    shop = parse_sites(site(head, ANALYTICS + ads), source=SOURCE).sites["shop-1"]
    assert shop.origins == frozenset({"https://www.shop.example", "http://localhost:3000"})
    assert shop.policy_version == "2026-01"
    assert shop.default_region == "US-CA"
    assert shop.regimes == {"US-CA": Regime.OPT_IN, "DE": Regime.NOTICE, "*": Regime.OPT_OUT}
    assert all(isinstance(r, Regime) for r in shop.regimes.values())
    assert shop.gpc_lift_by_opt_in is True
    assert shop.mspa_signatory is True
    assert shop.consent_lifetime_days == 180
    assert shop.has_sale_share
    assert shop.purposes["ads"].cookies == ("_fbp", "_gcl_*")
    assert shop.purposes["ads"].text["en"].description == "Sold"
    assert shop.purposes["ads"].text["nl"].label == "Reclame"
    assert list(shop.purposes) == ["analytics", "ads"]


@pytest.mark.parametrize(
    ("origin", "normalized"),
    [
        ("https://www.example.com", "https://www.example.com"),
        ("HTTPS://WWW.Example.COM", "https://www.example.com"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("https://www.example.com/", "https://www.example.com"),  # a trailing slash is dropped
        ("https://Shop.Example/", "https://shop.example"),
        ("https://shop.example:443", "https://shop.example"),  # browsers omit the default port
        ("http://shop.example:80", "http://shop.example"),
        ("https://shop.example:8443", "https://shop.example:8443"),
    ],
)
def test_origins_are_normalized(origin: str, normalized: str) -> None:
    shop = parse_sites(site(f'id = "shop"\norigins = ["{origin}"]'), source=SOURCE).sites["shop"]
    assert shop.origins == frozenset({normalized})


def test_all_origins_is_the_union() -> None:
    text = site('id = "a"\norigins = ["https://a.example", "https://shared.example"]') + site(
        'id = "b"\norigins = ["https://b.example", "https://shared.example"]'
    )
    config = parse_sites(text, source=SOURCE)
    assert list(config.sites) == ["a", "b"]
    assert config.all_origins == frozenset({"https://a.example", "https://b.example", "https://shared.example"})


def test_all_origins_of_sites_without_origins_is_empty() -> None:
    assert parse_sites(site(), source=SOURCE).all_origins == frozenset()


# --- invalid configurations ------------------------------------------------------------------

NECESSARY_SALE = purpose("necessary", "necessary", "sale_share = true")

INVALID = [
    # (case id, TOML, field path or None, words the problem must contain)
    ("toml-syntax", "[[sites]\nid = 1", None, "not valid TOML"),
    ("toml-unterminated", 'site = "x', None, "not valid TOML"),
    ("empty", "", "sites", "at least one"),
    ("no-sites-table", 'title = "x"', "sites", "at least one"),
    ("sites-not-tables", "sites = 1", "sites", "array of tables"),
    ("sites-list-of-strings", 'sites = ["a"]', "sites", "array of tables"),
    ("site-id-missing", site("policy_version = '1'"), "sites[0].id", "required"),
    ("site-id-uppercase", site('id = "Shop"'), "sites[0].id", "'Shop'"),
    ("site-id-space", site('id = "my shop"'), "sites[0].id", "'my shop'"),
    ("site-id-slash", site('id = "a/b"'), "sites[0].id", "'a/b'"),
    ("site-id-empty", site('id = ""'), "sites[0].id", "non-empty"),
    ("site-id-number", site("id = 7"), "sites[0].id", "string"),
    ("site-id-newline", site('id = "shop\\n"'), "sites[0].id", "shop"),
    ("site-id-too-long", site(f'id = "{"a" * 64}"'), "sites[0].id", "aaaa"),
    ("duplicate-site", site() + site(), "sites[1].id", "duplicate site id 'shop'"),
    ("duplicate-site-third", site('id = "a"') + site('id = "b"') + site('id = "a"'), "sites[2].id", "duplicate"),
    ("no-purposes", site(purposes=""), "sites[0].purposes", "at least one purpose"),
    ("purposes-not-tables", site('id = "shop"\npurposes = ["ads"]', ""), "sites[0].purposes", "array of tables"),
    ("duplicate-purpose", site(purposes=ANALYTICS + ANALYTICS), "sites[0].purposes[1].id", "duplicate purpose"),
    ("purpose-id-bad", site(purposes=purpose("Ads")), "sites[0].purposes[0].id", "'Ads'"),
    ("purpose-id-newline", site(purposes=purpose("ads\\n")), "sites[0].purposes[0].id", "ads"),
    (
        "purpose-id-missing",
        site(purposes='[[sites.purposes]]\nkind = "analytics"'),
        "sites[0].purposes[0].id",
        "required",
    ),
    ("unknown-kind", site(purposes=ANALYTICS + purpose("m", "marketing")), "sites[0].purposes[1].kind", "'marketing'"),
    ("kind-missing", site(purposes='[[sites.purposes]]\nid = "x"'), "sites[0].purposes[0].kind", "required"),
    ("kind-uppercase", site(purposes=purpose("a", "Analytics")), "sites[0].purposes[0].kind", "'Analytics'"),
    ("necessary-sale-share", site(purposes=NECESSARY_SALE), "sites[0].purposes[0].sale_share", "necessary"),
    (
        "sale-share-string",
        site(purposes=purpose(extra='sale_share = "yes"')),
        "sites[0].purposes[0].sale_share",
        "true or false",
    ),
    ("text-missing", site(purposes=purpose(text="")), "sites[0].purposes[0].text", "text.en"),
    (
        "text-en-missing",
        site(purposes=purpose(text='[sites.purposes.text.nl]\nlabel = "Reclame"\n')),
        "sites[0].purposes[0].text",
        "text.en",
    ),
    (
        "text-label-missing",
        site(purposes=purpose(text='[sites.purposes.text.en]\ndescription = "d"\n')),
        "sites[0].purposes[0].text.en.label",
        "required",
    ),
    (
        "text-label-empty",
        site(purposes=purpose(text='[sites.purposes.text.en]\nlabel = " "\n')),
        "sites[0].purposes[0].text.en.label",
        "non-empty",
    ),
    (
        "text-bad-language",
        site(
            purposes=purpose(text='[sites.purposes.text.en]\nlabel = "A"\n[sites.purposes.text.EN-us]\nlabel = "B"\n')
        ),
        "sites[0].purposes[0].text.EN-us",
        "language",
    ),
    ("text-not-a-table", site(purposes=purpose(extra='text = "Ads"', text="")), "sites[0].purposes[0].text", "text.en"),
    (
        "text-unknown-field",
        site(purposes=purpose(text='[sites.purposes.text.en]\nlabel = "A"\ntitle = "B"\n')),
        "sites[0].purposes[0].text.en.title",
        "unknown field",
    ),
    (
        "purpose-typo",
        site(purposes=purpose(extra="sale_shar = true")),
        "sites[0].purposes[0].sale_shar",
        "unknown field",
    ),
    ("site-typo", site('id = "shop"\norigin = ["https://a.example"]'), "sites[0].origin", "unknown field"),
    ("site-typo-second", site() + site('id = "b"\nmspa = true'), "sites[1].mspa", "unknown field"),
    ("origin-no-scheme", site('id = "shop"\norigins = ["example.com"]'), "sites[0].origins[0]", "'example.com'"),
    (
        "origin-with-path",
        site('id = "shop"\norigins = ["https://a.example", "https://x.com/path"]'),
        "sites[0].origins[1]",
        "'https://x.com/path'",
    ),
    ("origin-with-query", site('id = "shop"\norigins = ["https://x.com?a=1"]'), "sites[0].origins[0]", "not an origin"),
    (
        "origin-with-fragment",
        site('id = "shop"\norigins = ["https://x.com#top"]'),
        "sites[0].origins[0]",
        "not an origin",
    ),
    (
        "origin-with-userinfo",
        site('id = "shop"\norigins = ["https://user@x.com"]'),
        "sites[0].origins[0]",
        "not an origin",
    ),
    ("origin-ftp", site('id = "shop"\norigins = ["ftp://x.com"]'), "sites[0].origins[0]", "not an origin"),
    ("origin-no-host", site('id = "shop"\norigins = ["https://"]'), "sites[0].origins[0]", "not an origin"),
    ("origin-bad-ipv6", site('id = "shop"\norigins = ["http://[::1"]'), "sites[0].origins[0]", "not an origin"),
    ("origins-not-list", site('id = "shop"\norigins = "https://x.com"'), "sites[0].origins", "list of str"),
    ("origins-numbers", site('id = "shop"\norigins = [1]'), "sites[0].origins", "list of str"),
    ("default-region-bad", site('id = "shop"\ndefault_region = "usa"'), "sites[0].default_region", "'usa'"),
    ("default-region-lower", site('id = "shop"\ndefault_region = "us-ca"'), "sites[0].default_region", "ISO 3166"),
    ("default-region-newline", site('id = "shop"\ndefault_region = "DE\\n"'), "sites[0].default_region", "ISO 3166"),
    ("default-region-number", site('id = "shop"\ndefault_region = 1'), "sites[0].default_region", "string"),
    ("regime-bad-value", site('id = "shop"\nregimes = { US = "optout" }'), "sites[0].regimes.US", "'optout'"),
    ("regime-number", site('id = "shop"\nregimes = { US = 1 }'), "sites[0].regimes.US", "not one of"),
    ("regime-bad-key", site('id = "shop"\nregimes = { usa = "opt_in" }'), "sites[0].regimes.usa", "CC-RR"),
    ("regime-key-newline", site('id = "shop"\nregimes = { "US\\n" = "opt_in" }'), "sites[0].regimes.US\n", "CC-RR"),
    ("regimes-not-table", site('id = "shop"\nregimes = "opt_in"'), "sites[0].regimes", "table"),
    ("lifetime-zero", site('id = "shop"\nconsent_lifetime_days = 0'), "sites[0].consent_lifetime_days", "whole number"),
    (
        "lifetime-negative",
        site('id = "shop"\nconsent_lifetime_days = -1'),
        "sites[0].consent_lifetime_days",
        "whole number",
    ),
    (
        "lifetime-too-long",
        site('id = "shop"\nconsent_lifetime_days = 3651'),
        "sites[0].consent_lifetime_days",
        "whole number",
    ),
    (
        "lifetime-string",
        site('id = "shop"\nconsent_lifetime_days = "365"'),
        "sites[0].consent_lifetime_days",
        "whole number",
    ),
    (
        "lifetime-bool",
        site('id = "shop"\nconsent_lifetime_days = true'),
        "sites[0].consent_lifetime_days",
        "whole number",
    ),
    (
        "lifetime-float",
        site('id = "shop"\nconsent_lifetime_days = 365.0'),
        "sites[0].consent_lifetime_days",
        "whole number",
    ),
    (
        "gpc-lift-string",
        site('id = "shop"\ngpc_lift_by_opt_in = "yes"'),
        "sites[0].gpc_lift_by_opt_in",
        "true or false",
    ),
    ("mspa-number", site('id = "shop"\nmspa_signatory = 1'), "sites[0].mspa_signatory", "true or false"),
    ("policy-version-number", site('id = "shop"\npolicy_version = 2'), "sites[0].policy_version", "string"),
    (
        "cookie-space",
        site(purposes=purpose(extra='cookies = ["_ga id"]')),
        "sites[0].purposes[0].cookies[0]",
        "'_ga id'",
    ),
    (
        "cookie-second-bad",
        site(purposes=purpose(extra='cookies = ["_ga", "a;b"]')),
        "sites[0].purposes[0].cookies[1]",
        "cookie name pattern",
    ),
    (
        "cookie-empty",
        site(purposes=purpose(extra='cookies = [""]')),
        "sites[0].purposes[0].cookies[0]",
        "cookie name pattern",
    ),
    (
        "cookie-newline",
        site(purposes=purpose(extra='cookies = ["_ga\\n"]')),
        "sites[0].purposes[0].cookies[0]",
        "cookie name pattern",
    ),
    (
        "cookies-not-list",
        site(purposes=purpose(extra='cookies = "_ga"')),
        "sites[0].purposes[0].cookies",
        "list of str",
    ),
]


@pytest.mark.parametrize(("text", "path", "problem"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_config_names_source_field_and_problem(text: str, path: str | None, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_sites(text, source=SOURCE)
    message = str(info.value)
    if path is None:
        assert message.startswith(f"{SOURCE}: "), message
    else:
        assert message.startswith(f"{SOURCE}: {path}: "), message
    assert problem in message, message


def test_toml_syntax_error_names_the_line() -> None:
    with pytest.raises(ConfigError, match=r"line 3"):
        parse_sites('[[sites]]\nid = "a"\nkind = = 1\n', source=SOURCE)


def test_config_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=SOURCE):
        parse_sites("", source=SOURCE)


# --- files -----------------------------------------------------------------------------------


def test_load_sites_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "sites.toml"
    path.write_text(site('id = "shop"\norigins = ["https://Shop.example"]'), "utf-8")
    config = load_sites(path)
    assert config.source == str(path)
    assert list(config.sites) == ["shop"]
    assert config.all_origins == frozenset({"https://shop.example"})


def test_load_sites_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "sites.toml"
    with pytest.raises(ConfigError) as info:
        load_sites(path)
    assert str(info.value).startswith(f"{path}: ")
    assert "cannot read" in str(info.value)


def test_load_sites_directory_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_sites(tmp_path)
    assert str(info.value).startswith(f"{tmp_path}: ")


def test_load_sites_invalid_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "sites.toml"
    path.write_text(site('id = "Bad"'), "utf-8")
    with pytest.raises(ConfigError) as info:
        load_sites(path)
    assert str(info.value).startswith(f"{path}: sites[0].id: ")


def test_load_sites_not_utf8_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "sites.toml"
    path.write_bytes(b'[[sites]]\nid = "caf\xe9"\n')
    with pytest.raises(ConfigError) as info:
        load_sites(path)
    assert str(info.value).startswith(f"{path}: ")
