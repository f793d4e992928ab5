"""The banner's experience endpoint, the banner script's serving, and the demo page."""

from __future__ import annotations

import jsonschema
import redis
from starlette.testclient import TestClient

from consent_service.config.catalogs import texts_for
from consent_service.core.texts import LANGUAGES, TEXT_KEYS
from consent_service.web.openapi import openapi_document
from tests.conftest import CA, DE, AppFactory
from tests.test_api import _LIFT_SITE

DENIED_ADS = {"ad_storage": "denied", "ad_user_data": "denied", "ad_personalization": "denied"}


def experience(client: TestClient, headers: dict[str, str] | None = None, **params: str) -> dict:
    r = client.get("/v1/sites/demo/experience", params=params, headers=headers or {})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    doc = openapi_document()
    validator = jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/Experience", "components": doc["components"]}
    )
    errors = list(validator.iter_errors(r.json()))
    assert not errors, errors[0].message
    return r.json()


def test_first_visit_in_california(client: TestClient) -> None:
    exp = experience(client, CA)
    assert (exp["regime"], exp["region"], exp["show"], exp["gpc"]) == ("opt_out", "US-CA", True, False)
    assert exp["texts"]["do_not_sell"] == "Do Not Sell or Share My Personal Information"
    assert [p["id"] for p in exp["purposes"]] == ["necessary", "analytics", "advertising", "personalization"]
    ads = next(p for p in exp["purposes"] if p["id"] == "advertising")
    assert ads["sale_share"] is True and ads["label"] == "Advertising" and "_fbp" in ads["cookies"]
    assert exp["choices"] == {} and exp["decisions"]["advertising"] == {"allowed": True, "reason": "default"}
    assert exp["consent_mode"]["ad_storage"] == "granted" and exp["consent_mode"]["security_storage"] == "granted"
    assert exp["usp"] == "1YNN" and "device" not in exp
    assert exp["gpc_lift"] is False and exp["policy_version"] == "2026-11"


def test_gpc_is_recorded_and_frictionless(client: TestClient, redis_client: redis.Redis) -> None:
    exp = experience(client, {**CA, "Sec-GPC": "1"})
    assert exp["gpc"] is True and exp["show"] is False  # no pop-up because of GPC
    assert exp["decisions"]["advertising"] == {"allowed": False, "reason": "gpc"}
    assert {k: exp["consent_mode"][k] for k in DENIED_ADS} == DENIED_ADS
    assert exp["device"] and redis_client.dbsize() > 0
    flag = experience(client, CA, gpc="1")  # the page flag counts like the header
    assert flag["gpc"] is True
    core, sub = exp["gpp_parsed"]["usnat"]  # decoded for __gpp getSection/getField in the browser
    assert (core["SaleOptOut"], core["SharingOptOut"], core["TargetedAdvertisingOptOut"]) == (1, 1, 1)
    assert sub == {"SubsectionType": 1, "Gpc": True}


def test_accept_all_with_gpc_leaves_sale_share_alone(make_client: AppFactory) -> None:

    client = make_client(_LIFT_SITE)
    client.get("/v1/sites/lift/experience", headers={**CA, "Sec-GPC": "1"})  # GPC recorded first
    r = client.post("/v1/consent", json={"site": "lift", "action": "accept_all"}, headers={**CA, "Sec-GPC": "1"})
    assert r.json()["decisions"]["ads"] == {"allowed": False, "reason": "gpc"}  # "Accept all" is no lift
    r = client.post(
        "/v1/consent",
        json={"site": "lift", "action": "custom", "choices": {"ads": True}},
        headers={**CA, "Sec-GPC": "1"},
    )
    assert r.json()["decisions"]["ads"] == {"allowed": True, "reason": "consent"}  # an explicit choice is


def test_germany_opt_in_localized(client: TestClient) -> None:
    exp = experience(client, {**DE, "Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    assert (exp["regime"], exp["language"], exp["show"]) == ("opt_in", "de", True)
    assert exp["texts"]["accept_all"] == "Alle akzeptieren"
    assert next(p for p in exp["purposes"] if p["id"] == "advertising")["label"] == "Werbung"
    assert all(v == "denied" for k, v in exp["consent_mode"].items() if k != "security_storage")
    assert experience(client, DE, lang="fr")["texts"]["reject_all"] == "Tout refuser"
    assert experience(client, {**DE, "Accept-Language": "ja"})["language"] == "en"


def test_after_a_choice_the_banner_does_not_ask(client: TestClient) -> None:
    client.post("/v1/consent", json={"site": "demo", "action": "reject_all"}, headers=DE)
    exp = experience(client, DE)
    assert exp["show"] is False and exp["choices"] == {
        "analytics": False,
        "advertising": False,
        "personalization": False,
    }
    client.cookies.clear()
    client.post("/v1/consent", json={"site": "demo", "action": "accept_all", "policy_version": "2020-01"}, headers=DE)
    again = experience(client, DE)  # an opt-in to an old policy version: ask again
    assert again["show"] is True and again["choices"] == {}


def test_site_text_overrides(make_client: AppFactory) -> None:
    client = make_client(_SITE_WITH_TEXTS)
    exp = client.get("/v1/sites/shop/experience", headers={"Accept-Language": "nl"}).json()
    assert exp["texts"]["title"] == "Privacy bij Shop" and exp["texts"]["save"] == "Keuzes opslaan"
    assert client.get("/v1/sites/shop/experience").json()["texts"]["title"] == "Your privacy choices"
    assert client.get("/v1/sites/nope/experience").json()["error"] == "unknown_site"


def test_every_language_has_every_text() -> None:
    for lang in LANGUAGES:
        texts = texts_for(lang)
        assert set(texts) == set(TEXT_KEYS), lang
        assert all(v.strip() for v in texts.values()), lang


def test_banner_script_is_served_compressed_with_etag(client: TestClient) -> None:
    plain = client.get("/v1/banner.js", headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and plain.headers["content-type"].startswith("text/javascript")
    body = plain.content
    assert "content-encoding" not in plain.headers and plain.headers["vary"] == "Accept-Encoding"
    assert plain.headers["cache-control"] == "public, max-age=300"
    etag = plain.headers["etag"]
    gz = client.get("/v1/banner.js", headers={"Accept-Encoding": "gzip"})
    assert gz.headers["content-encoding"] == "gzip" and gz.content == body  # decoded by the client
    br = client.get("/v1/banner.js", headers={"Accept-Encoding": "gzip, br"})
    assert br.headers["content-encoding"] == "br" and br.content == body
    assert (
        client.get("/v1/banner.js", headers={"Accept-Encoding": "br;q=0, gzip"}).headers["content-encoding"] == "gzip"
    )
    assert client.get("/v1/banner.js", headers={"If-None-Match": etag}).status_code == 304
    hashed = client.get(f"/v1/banner.{etag.strip(chr(34))}.js", headers={"Accept-Encoding": "identity"})
    assert hashed.content == body and "immutable" in hashed.headers["cache-control"]
    assert client.get("/v1/banner.000000000000.js").status_code == 404


def test_banner_prefs_part_is_served_by_the_hash_the_banner_names(client: TestClient) -> None:
    """The preferences' part: the plain URL, and the content-hashed one banner.js loads, cached forever."""
    banner = client.get("/v1/banner.js").text
    plain = client.get("/v1/banner-prefs.js", headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and plain.headers["content-type"].startswith("text/javascript")
    assert plain.headers["cache-control"] == "public, max-age=300"
    assert plain.headers["cross-origin-resource-policy"] == "cross-origin"
    assert plain.headers["access-control-allow-origin"] == "*"  # loaded in CORS mode, without credentials
    digest = plain.headers["etag"].strip('"')
    assert f'"banner-prefs.{digest}.js"' in banner
    hashed = client.get(f"/v1/banner-prefs.{digest}.js", headers={"Accept-Encoding": "gzip"})
    assert hashed.headers["content-encoding"] == "gzip" and hashed.content == plain.content
    assert hashed.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert client.get("/v1/banner-prefs.000000000000.js").status_code == 404


def test_demo_page_region_override_and_switch(client: TestClient, make_client: AppFactory) -> None:
    page = client.get("/demo?region=DE")
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    assert 'data-site="demo"' in page.text and "/v1/banner." in page.text and "<script>" not in page.text
    exp = client.get("/v1/sites/demo/experience").json()  # the region cookie applies to the demo site
    assert exp["regime"] == "opt_in" and exp["region"] == "DE"
    client.get("/demo?region=")
    assert client.get("/v1/sites/demo/experience").json()["region"] is None
    assert client.get("/demo?region=<script>").status_code == 200
    assert client.get("/demo/ads.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/demo/nope.js").status_code == 404
    off = make_client(demo="off")
    assert off.get("/demo").status_code == 404


_SITE_WITH_TEXTS = """
[[sites]]
id = "shop"
[sites.texts.nl]
title = "Privacy bij Shop"
[[sites.purposes]]
id = "necessary"
kind = "necessary"
text.en.label = "Necessary"
"""
