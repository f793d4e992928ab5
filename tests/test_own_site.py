"""The operator's own site in three steps (issue 14): a site made from `--site` and `--origin` (or a
file), the demo only when asked for beside it, and introductions that name the site's own purposes."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from consent_service.config.catalogs import site_texts_for, texts_for
from consent_service.config.selection import FLAGS_SOURCE, origins_source, sites_for, starter_text
from consent_service.config.settings import Settings, SettingsError, settings_from_env
from consent_service.config.sites import DEMO_SOURCE, load_sites, parse_sites
from consent_service.config.validator import ConfigError
from consent_service.core.texts import LANGUAGES
from consent_service.web.app import create_app
from tests.conftest import CA, DE, TEST_KEYS, AppFactory

PAGE = "http://localhost:5500"
SHOP = """
[[sites]]
id = "shop"
origins = ["https://shop.example"]
[[sites.purposes]]
id = "necessary"
kind = "necessary"
text.en.label = "Necessary"
[[sites.purposes]]
id = "stats"
kind = "analytics"
text.en.label = "Statistics"
"""


def test_a_site_from_the_command_line_is_a_minimal_site_with_sensible_purposes() -> None:
    config = sites_for(Settings(site_id="mysite", site_origins=(PAGE, "https://www.example.com:443/")))
    assert list(config.sites) == ["mysite"] and not config.bundled_demo
    site = config.sites["mysite"]
    assert site.origins == {PAGE, "https://www.example.com"}  # normalized like a browser's Origin
    assert list(site.purposes) == ["necessary", "analytics", "advertising"]
    assert site.has_sale_share and [p for p, v in site.purposes.items() if v.sale_share] == ["advertising"]
    assert site.regimes == {} and site.default_region is None  # the regional defaults (REGIONS.md)
    assert all(set(p.text) == set(LANGUAGES) for p in site.purposes.values())  # labels in every language
    assert origins_source(config, "mysite") == FLAGS_SOURCE


def test_new_site_prints_the_same_site_as_a_file_to_start_from(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "consent_service.cli", "new-site", "mysite", "--origin", PAGE],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert result.stdout == starter_text("mysite", (PAGE,))
    path = tmp_path / "site.toml"
    path.write_text(result.stdout)
    from_file = load_sites(path).sites["mysite"]
    assert from_file == sites_for(Settings(site_id="mysite", site_origins=(PAGE,))).sites["mysite"]
    checked = subprocess.run(
        [sys.executable, "-m", "consent_service.cli", "check-config", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert checked.returncode == 0 and f"mysite: origins {PAGE}" in checked.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "consent_service.cli", "new-site", "mysite", "--origin", "localhost:5500/index.html"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert bad.returncode == 2 and bad.stdout == "" and "is not an origin like https://" in bad.stderr


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        (Settings(site_id="My Site", site_origins=(PAGE,)), "--site (CONSENT_SITE): 'My Site' must be lowercase"),
        (Settings(site_id="mysite"), "--site (CONSENT_SITE) needs --origin (CONSENT_ORIGINS)"),
        (Settings(site_origins=(PAGE,)), "--origin (CONSENT_ORIGINS) needs --site (CONSENT_SITE)"),
        (Settings(site_id="s", site_origins=(PAGE,), config_path=Path("x.toml")), "give one"),
        (Settings(site_id="s", site_origins=("http://localhost:5500/page",)), "is not an origin like"),
    ],
)
def test_a_wrong_site_or_origin_stops_the_start_saying_what_to_give(settings: Settings, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        sites_for(settings)
    assert words in str(caught.value)


def test_the_environment_names_the_site_and_the_demo() -> None:
    env = {"CONSENT_SITE": "mysite", "CONSENT_ORIGINS": f"{PAGE}, https://www.example.com", "CONSENT_DEMO": "on"}
    settings = settings_from_env(env)
    assert settings.site_id == "mysite" and settings.site_origins == (PAGE, "https://www.example.com")
    assert settings.demo == "on" and settings.demo_enabled
    assert settings_from_env({}).demo == "auto" and settings_from_env({}).demo_enabled
    assert settings_from_env({"CONSENT_DEMO": "false"}).demo == "off"
    with pytest.raises(SettingsError, match="CONSENT_DEMO"):
        settings_from_env({"CONSENT_DEMO": "maybe"})


def test_the_demo_is_served_alone_without_configuration_and_beside_own_sites_only_when_asked(tmp_path: Path) -> None:
    alone = sites_for(Settings())
    assert list(alone.sites) == ["demo"] and alone.bundled_demo and alone.source == DEMO_SOURCE
    path = tmp_path / "shop.toml"
    path.write_text(SHOP)
    own = sites_for(Settings(config_path=path))
    assert list(own.sites) == ["shop"] and not own.bundled_demo
    assert list(sites_for(Settings(site_id="mysite", site_origins=(PAGE,))).sites) == ["mysite"]
    both = sites_for(Settings(config_path=path, demo="on"))
    assert list(both.sites) == ["shop", "demo"] and both.bundled_demo
    assert origins_source(both, "shop") == str(path) and origins_source(both, "demo") == DEMO_SOURCE
    flags_and_demo = sites_for(Settings(site_id="mysite", site_origins=(PAGE,), demo="on"))
    assert origins_source(flags_and_demo, "mysite") == FLAGS_SOURCE
    path.write_text(SHOP.replace('id = "shop"', 'id = "demo"'))  # a demo of one's own (e.g. with partners)
    own_demo = sites_for(Settings(config_path=path, demo="on"))
    assert list(own_demo.sites) == ["demo"] and not own_demo.bundled_demo
    assert own_demo.sites["demo"].origins == {"https://shop.example"}


def test_demo_page_only_where_the_demo_site_is_served(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "shop.toml"
    path.write_text(SHOP)

    def app_for(**overrides: object) -> TestClient:
        chosen = dataclasses.replace(settings, **overrides)  # type: ignore[arg-type]
        return TestClient(create_app(chosen, sites_for(chosen), TEST_KEYS), base_url="http://consent.test")

    with app_for(config_path=path) as own:
        assert own.get("/demo").status_code == 404 and own.get("/demo/ads.js").status_code == 404
        assert own.get("/v1/sites/demo/experience").json()["error"] == "unknown_site"
        assert own.get("/v1/sites/shop/experience").status_code == 200
    with app_for(config_path=path, demo="on") as both:
        assert both.get("/demo").status_code == 200
        assert both.get("/v1/sites/demo/experience").status_code == 200
        assert both.get("/v1/sites/shop/experience").status_code == 200
        both.get("/demo?region=DE")  # the region override applies to the bundled demo site only
        assert both.get("/v1/sites/demo/experience").json()["region"] == "DE"
        assert both.get("/v1/sites/shop/experience").json()["region"] is None
    with app_for() as alone:
        assert alone.get("/demo").status_code == 200
    with app_for(demo="off") as off:
        assert off.get("/demo").status_code == 404 and off.get("/v1/sites/demo/experience").status_code == 200
    path.write_text(SHOP.replace('id = "shop"', 'id = "demo"'))
    with app_for(config_path=path) as own_demo:  # a configured copy of the demo gets its page
        assert own_demo.get("/demo").status_code == 200
        own_demo.get("/demo?region=DE")  # the region override stays the bundled demo's
        assert own_demo.get("/v1/sites/demo/experience").json()["region"] is None
    with app_for(config_path=path, demo="off") as off:
        assert off.get("/demo").status_code == 404


def test_the_introduction_names_only_the_sites_own_purposes() -> None:
    mine = sites_for(Settings(site_id="mysite", site_origins=(PAGE,))).sites["mysite"]
    demo = load_sites(None).sites["demo"]
    for language in LANGUAGES:
        assert site_texts_for(language, demo) == texts_for(language)  # the demo names exactly its purposes
        texts = site_texts_for(language, mine)
        assert set(texts) == set(texts_for(language))
        assert texts["intro_opt_in"] != texts_for(language)["intro_opt_in"]
        assert "{" not in texts["intro_opt_in"] + texts["intro_notice"]
    english = site_texts_for("en", mine)
    assert english["intro_opt_in"] == (
        "We use cookies and similar technologies for analytics and advertising. Choose what you allow; you can "
        "change it at any time."
    )
    assert english["intro_notice"] == "This site uses cookies for analytics and advertising."
    assert site_texts_for("de", mine)["intro_notice"] == "Diese Website verwendet Cookies für Analyse und Werbung."
    assert "personnalisation" not in site_texts_for("fr", mine)["intro_opt_in"]
    three = parse_sites(SHOP.replace('kind = "analytics"', 'kind = "functional"'), source="<t>").sites["shop"]
    assert site_texts_for("en", three)["intro_notice"] == "This site uses cookies for site features."
    bare = parse_sites(SHOP.split('[[sites.purposes]]\nid = "stats"', maxsplit=1)[0], source="<t>").sites["shop"]
    assert site_texts_for("en", bare)["intro_opt_in"] == "This site uses only the cookies it needs to work."


def test_the_sites_own_texts_still_win(make_client: AppFactory) -> None:
    own = SHOP + '[sites.texts.en]\nintro_opt_in = "Our own words."\n'
    client = make_client(own)
    english = client.get("/v1/sites/shop/experience", headers=DE).json()["texts"]
    assert english["intro_opt_in"] == "Our own words."
    assert english["intro_notice"] == "This site uses cookies for analytics."
    dutch = client.get("/v1/sites/shop/experience", headers={**DE, "Accept-Language": "nl"}).json()["texts"]
    assert dutch["intro_opt_in"].startswith("Wij gebruiken cookies en vergelijkbare technieken voor analyse.")
    assert client.get("/v1/sites/shop/experience", headers=CA).json()["texts"]["title"] == "Your privacy choices"
    with pytest.raises(ConfigError, match=r"sites\[0\]\.texts\.en\.intro: unknown field"):
        parse_sites(SHOP + '[sites.texts.en]\nintro = "x"\n', source="<t>")
