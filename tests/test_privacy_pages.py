"""The opt-out page without JavaScript: one button, a CSRF-protected form post, a confirmation."""

from __future__ import annotations

import html
import re

import pytest
import redis
from starlette.testclient import TestClient

from consent_service.consent.service import ConsentService
from consent_service.core.errors import unavailable
from consent_service.core.texts import LANGUAGES
from consent_service.web import html as web_html
from consent_service.web.pages.texts import PAGE_TEXTS
from tests.conftest import CA

PAGE = "/privacy/demo/opt-out"


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def decision(client: TestClient) -> dict:
    return client.get("/v1/decision", params={"site": "demo", "purpose": "advertising"}, headers=CA).json()


def test_one_click_opt_out_without_javascript(client: TestClient, redis_client: redis.Redis) -> None:
    page = client.get(PAGE, headers=CA)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src" not in csp and "default-src 'none'" in csp  # no script at all, by policy
    assert "<script" not in page.text and 'method="post"' in page.text
    assert "Do Not Sell or Share My Personal Information" in page.text and 'id="status"' not in page.text
    r = client.post(PAGE, data={"csrf": csrf_of(page.text), "lang": "en"}, headers=CA)
    assert r.status_code == 200 and 'id="status"' in r.text and "Your opt-out has been processed" in r.text
    assert "cs_device_demo=" in r.headers["set-cookie"] and "httponly" in r.headers["set-cookie"].lower()
    assert decision(client)["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"}
    entry = next(e for _, e in redis_client.xrange(next(iter(redis_client.scan_iter(match="*:audit")))))
    assert (entry["a"], entry["s"]) == ("opt_out", "no_js_form")
    again = client.get(PAGE)  # the page now says it was processed
    assert 'id="status"' in again.text


def test_forged_or_foreign_posts_change_nothing(client: TestClient, redis_client: redis.Redis) -> None:
    token = csrf_of(client.get(PAGE).text)
    for data, headers in [
        ({}, {}),
        ({"csrf": "forged.token.value"}, {}),
        ({"csrf": token[:-3] + "abc"}, {}),
        ({"csrf": csrf_of(client.get("/privacy/demo/opt-out").text)}, {"Origin": "https://evil.example"}),
    ]:
        r = client.post(PAGE, data=data, headers=headers)
        assert r.status_code == 403 and 'role="alert"' in r.text and csrf_of(r.text)  # a fresh form to retry
        assert 'id="problem"' in r.text and PAGE_TEXTS["en"]["problem_form"] in r.text
    assert not any(k.endswith(":audit") for k in redis_client.scan_iter())
    assert (
        client.post(
            PAGE, content=b"x" * 20000, headers={"content-type": "application/x-www-form-urlencoded"}
        ).status_code
        == 413
    )


def test_localized_gpc_and_unknown_site(client: TestClient) -> None:
    nl = client.get(PAGE, headers={"Accept-Language": "nl"})
    assert 'lang="nl"' in nl.text and "Mijn persoonsgegevens niet verkopen of delen" in nl.text
    sv = client.get(PAGE + "?lang=sv")
    assert "Sälj eller dela inte mina personuppgifter" in sv.text
    gpc = client.get(PAGE, headers={**CA, "Sec-GPC": "1"})
    assert 'id="gpc"' in gpc.text and "Opt-Out Request Honored" in gpc.text
    missing = client.get("/privacy/nope/opt-out")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert client.get("/privacy/privacy.css").headers["content-type"].startswith("text/css")


def test_the_unknown_site_page_is_in_the_readers_language(client: TestClient) -> None:
    for lang in LANGUAGES:
        missing = client.get(f"/privacy/nope/opt-out?lang={lang}")
        assert missing.status_code == 404 and f'<html lang="{lang}">' in missing.text
        texts, shown = PAGE_TEXTS[lang], html.unescape(missing.text)
        assert (
            f"<h1>{texts['not_found_title']}</h1>" in shown and f'<p id="missing">{texts["unknown_site"]}</p>' in shown
        )
        for name, value in web_html.HEADERS.items():  # the pages' strict headers, as before
            assert missing.headers[name] == value
    de = client.get("/privacy/nope/opt-out", headers={"Accept-Language": "de"})
    assert '<html lang="de">' in de.text and "Diese Website gibt es hier nicht." in de.text


def test_an_opt_out_that_cannot_be_recorded_is_a_503_page_in_the_readers_language(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the write fails (storage unavailable and no spool to keep it), the page says so in the
    reader's language and offers the button again."""

    async def failing(*args: object, **kwargs: object) -> None:
        raise unavailable()

    monkeypatch.setattr(ConsentService, "consent", failing)
    for lang in LANGUAGES:
        page = client.get(f"{PAGE}?lang={lang}")
        r = client.post(PAGE, data={"csrf": csrf_of(page.text), "lang": lang})
        assert r.status_code == 503 and f'<html lang="{lang}">' in r.text
        assert '<p class="problem" role="alert" id="problem">' in r.text and 'id="status"' not in r.text
        assert PAGE_TEXTS[lang]["problem_opt_out"] in html.unescape(r.text), lang
        assert csrf_of(r.text)  # a fresh form, to press the button again
