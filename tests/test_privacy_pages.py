"""The opt-out page without JavaScript: one button, a CSRF-protected form post, a confirmation."""

from __future__ import annotations

import re

import redis
from starlette.testclient import TestClient

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
