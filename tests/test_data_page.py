"""The your-data page without JavaScript: a copy of this browser's record, and its deletion by a form."""

from __future__ import annotations

import html
import re
import socket

import redis
from starlette.testclient import TestClient

from consent_service.rights.device_data import TOMBSTONE_NOTE
from tests.conftest import CA, DE, AppFactory

PAGE = "/privacy/demo/data"


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def advertising(client: TestClient) -> dict:
    r = client.get("/v1/decision", params={"site": "demo", "purpose": "advertising"}, headers=CA)
    return r.json()["decisions"]["advertising"]


def held(redis_client: redis.Redis) -> dict[str, object]:
    """Everything Redis holds but the audit streams and rate-limit counters: the device's record and
    its history."""
    out: dict[str, object] = {}
    for key in redis_client.scan_iter():
        if key.endswith(":audit") or key.startswith("cs1rl"):
            continue
        kind = redis_client.type(key)
        out[key] = (
            redis_client.hgetall(key) if kind == "hash" else redis_client.xrange(key) if kind == "stream" else kind
        )
    return out


def opted_out_with_history(client: TestClient) -> None:
    client.post("/v1/consent", json={"site": "demo", "action": "accept_all"}, headers=DE)
    client.post("/v1/opt-out", json={"site": "demo"}, headers=CA)
    assert advertising(client) == {"allowed": False, "reason": "opt_out"}


def test_download_then_delete_keeps_only_the_opt_out(client: TestClient, redis_client: redis.Redis) -> None:
    opted_out_with_history(client)
    page = client.get(PAGE)
    assert page.status_code == 200 and "<h1>Your data</h1>" in page.text and "<script" not in page.text
    assert 'href="/v1/me?site=demo&amp;download=1"' in page.text and 'method="post"' in page.text
    assert 'href="/privacy/demo/notice?lang=en"' in page.text and 'href="/privacy/demo/opt-out?lang=en"' in page.text
    download = client.get("/v1/me", params={"site": "demo", "download": "1"})  # where the link leads
    assert "attachment" in download.headers["content-disposition"]
    assert [h["action"] for h in download.json()["history"]] == ["accept_all", "opt_out"]

    r = client.post(PAGE, data={"csrf": csrf_of(page.text), "lang": "en"}, headers={"Origin": "http://consent.test"})
    assert r.status_code == 200 and 'id="status"' in r.text and "Your data has been deleted." in r.text
    assert f'<p id="tombstone">{html.escape(TOMBSTONE_NOTE)}</p>' in r.text  # the service's own note
    assert not list(redis_client.scan_iter(match="*:log:*"))  # the history is gone
    audit = [e for _, e in redis_client.xrange(next(iter(redis_client.scan_iter(match="*:audit"))))]
    assert (audit[-1]["a"], audit[-1]["s"]) == ("delete", "no_js_form")  # the channel, for the request records
    assert advertising(client) == {"allowed": False, "reason": "opt_out"}  # the tombstone still denies the sale
    me = client.get("/v1/me", params={"site": "demo"}).json()
    assert me["history"] == [] and set(me["record"]["choices"]) == {"advertising"}  # the analytics consent is gone


def test_forged_foreign_or_other_form_posts_delete_nothing(client: TestClient, redis_client: redis.Redis) -> None:
    opted_out_with_history(client)
    before = held(redis_client)
    token = csrf_of(client.get(PAGE).text)
    # Signed, but for another form (the opt-out page of an opted-out browser has no form: issued here).
    opt_out_token = client.app.state.consent.forms.issue("demo", "opt-out")  # type: ignore[attr-defined]
    for data, headers in [
        ({}, {}),
        ({"csrf": "forged.token.value"}, {}),
        ({"csrf": token[:-3] + "abc"}, {}),
        ({"csrf": opt_out_token}, {}),
        ({"csrf": token}, {"Origin": "https://evil.example"}),
        ({"csrf": token}, {"Origin": "null"}),
    ]:
        r = client.post(PAGE, data=data, headers=headers)
        assert r.status_code == 403, data
        assert 'role="alert"' in r.text and "This form has expired" in r.text and csrf_of(r.text)  # a fresh form
        assert 'id="status"' not in r.text
    assert held(redis_client) == before


def test_a_browser_without_a_device_token(client: TestClient, redis_client: redis.Redis) -> None:
    page = client.get(PAGE + "?lang=sv")
    assert page.status_code == 200 and 'id="nothing"' in page.text and "Inget finns sparat" in page.text
    assert "download=1" not in page.text and 'method="post"' not in page.text  # no dead link, no useless button
    forms = client.app.state.consent.forms  # type: ignore[attr-defined]
    for cookies in ({}, {"cs_device_demo": "forged.token"}):
        client.cookies.clear()
        client.cookies.update(cookies)
        r = client.post(PAGE, data={"csrf": forms.issue("demo", "delete"), "lang": "en"})
        assert r.status_code == 200 and 'id="status"' in r.text
        assert "Nothing is held for this browser" in r.text and "has been deleted" not in r.text
    assert redis_client.dbsize() == 0


def test_localized_confirmation(client: TestClient) -> None:
    client.post("/v1/opt-out", json={"site": "demo"}, headers=CA)
    page = client.get(PAGE, headers={"Accept-Language": "nl"})
    assert '<html lang="nl">' in page.text and "Mijn gegevens verwijderen" in page.text
    sv = client.get(PAGE + "?lang=sv").text
    assert "Ladda ner en kopia av dina uppgifter" in sv and "Radera mina uppgifter" in sv
    r = client.post(PAGE, data={"csrf": csrf_of(sv), "lang": "sv"})
    assert '<html lang="sv">' in r.text and "Dina uppgifter har raderats." in r.text
    assert "utan några andra detaljer" in r.text  # the tombstone note, in Swedish
    assert advertising(client) == {"allowed": False, "reason": "opt_out"}


def test_storage_down_is_a_503_page_to_retry(client: TestClient, make_client: AppFactory) -> None:
    device = client.post("/v1/opt-out", json={"site": "demo"}, headers=CA).json()["device"]
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{s.getsockname()[1]}/0"
    down = make_client(redis_url=dead, write_timeout_ms=300)
    down.cookies.set("cs_device_demo", device)
    page = down.get(PAGE)
    assert 'method="post"' in page.text  # the page itself needs no storage
    r = down.post(PAGE, data={"csrf": csrf_of(page.text), "lang": "en"})
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert "could not be deleted just now" in r.text and 'id="status"' not in r.text and csrf_of(r.text)
    assert advertising(client) == {"allowed": False, "reason": "opt_out"}


def test_unknown_site_and_oversized_form(client: TestClient) -> None:
    missing = client.get("/privacy/nope/data")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert missing.headers["content-security-policy"].startswith("default-src 'none'")
    big = client.post(PAGE, content=b"x" * 20000, headers={"content-type": "application/x-www-form-urlencoded"})
    assert big.status_code == 413
