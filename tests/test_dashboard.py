"""The statistics dashboard: the login and its session cookie, the refusals, and the rendered page's
numbers, escaping and headers."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import socket
import time
from html.parser import HTMLParser

import httpx2 as httpx
import pytest
import redis
from itsdangerous import TimestampSigner
from starlette.testclient import TestClient

from consent_service.stats.model import Counts, Day, StatsReport
from consent_service.web.admin.dashboard import render_dashboard
from consent_service.web.admin.pages import parse_range
from consent_service.web.admin.session import safe_next
from consent_service.web.admin_sessions import MAX_AGE_S, AdminSessions
from consent_service.web.validation import DayRangeError, parse_day
from tests.conftest import CA, CHROME, DE, GOOGLEBOT, TEST_KEYS, TWO_SITES, AppFactory, tampered

DEMO_KEY = "demo-admin-key-" + "d" * 32
ALL_KEY = "every-site-key-" + "a" * 32
ORIGIN = {"Origin": "http://consent.test"}
PAGE = "/admin/sites/demo/stats"


IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
IPAD = "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
JP = {"CloudFront-Viewer-Country": "JP"}


def admin_client(make_client: AppFactory, sites: str | None = TWO_SITES) -> TestClient:
    """Two sites (demo and shop), or with `sites=None` the bundled demo site (its purposes)."""
    keys = ((DEMO_KEY, frozenset({"demo"})), (ALL_KEY, frozenset({"*"})))
    return make_client(sites, admin_keys=keys)


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def login(
    client: TestClient, key: str, next_path: str | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    form = client.get("/admin/login").text
    data = {"csrf": csrf_of(form), "key": key, **({"next": next_path} if next_path else {})}
    return client.post(
        "/admin/login", data=data, headers=ORIGIN if headers is None else headers, follow_redirects=False
    )


def set_cookie(response: httpx.Response) -> str:
    headers = [v for k, v in response.headers.multi_items() if k == "set-cookie"]
    assert len(headers) == 1, headers
    return str(headers[0])


# ---- login and the session cookie -----------------------------------------------------------------


def test_a_wrong_key_is_401_and_sets_nothing(make_client: AppFactory) -> None:
    client = admin_client(make_client)
    for key in ("x" * 48, "", DEMO_KEY[:-1], DEMO_KEY + "x"):
        r = login(client, key)
        assert r.status_code == 401 and 'id="problem"' in r.text, key
        assert "set-cookie" not in r.headers
    assert client.get(PAGE, follow_redirects=False).status_code == 303


def test_the_right_key_sets_a_strict_httponly_expiring_cookie_that_holds_no_key(make_client: AppFactory) -> None:
    client = admin_client(make_client)
    r = login(client, DEMO_KEY)
    assert r.status_code == 303 and r.headers["location"] == PAGE  # the key's first site
    cookie = set_cookie(r)
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite", "path", "max-age"} <= attributes.keys()
    assert attributes["samesite"].lower() == "samesite=strict" and attributes["path"] == "Path=/admin"
    assert attributes["max-age"] == f"Max-Age={MAX_AGE_S}" and "secure" not in attributes  # plain http here
    value = cookie.split(";")[0].partition("=")[2]
    raw, _, _ = value.rpartition(".")[0].rpartition(".")
    payload = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    assert '"sites":["demo"]' in payload and '"kid":' in payload
    for text in (value, payload):  # neither the key nor any 6 characters of it in a row
        assert not any(DEMO_KEY[i : i + 6] in text for i in range(len(DEMO_KEY) - 5)), text
    assert "cache-control" in r.headers and r.headers["cache-control"] == "no-store"


def test_the_cookie_is_secure_over_https(make_client: AppFactory) -> None:
    client, https = admin_client(make_client), "https://consent.test"
    token = csrf_of(client.get(f"{https}/admin/login").text)
    data = {"csrf": token, "key": DEMO_KEY}
    r = client.post(f"{https}/admin/login", data=data, headers={"Origin": https}, follow_redirects=False)
    assert r.status_code == 303 and "; secure" in set_cookie(r).lower()


def test_login_goes_back_to_next_only_when_it_is_one_of_our_admin_pages(make_client: AppFactory) -> None:
    client = admin_client(make_client)
    wanted = "/admin/sites/shop/stats?from=2026-11-01&to=2026-11-02"
    assert login(client, ALL_KEY, wanted).headers["location"] == wanted
    for evil in ("https://evil.example/admin/", "//evil.example/admin/", "/\\evil.example", "/privacy/demo/data",
                 "/admin/login", "javascript:alert(1)"):  # fmt: skip
        assert login(client, ALL_KEY, evil).headers["location"] == PAGE, evil
    crlf = login(client, ALL_KEY, "/admin/\r\nx")  # control characters: the form itself is malformed
    assert crlf.status_code == 400 and "set-cookie" not in crlf.headers and "location" not in crlf.headers
    assert safe_next("/admin/sites/demo/stats") == "/admin/sites/demo/stats" and safe_next("/admin/\r\nx") is None


def test_no_session_is_sent_to_login_and_back(make_client: AppFactory) -> None:
    client = admin_client(make_client)
    r = client.get(PAGE + "?from=2026-11-01&to=2026-11-30", follow_redirects=False)
    assert r.status_code == 303
    assert (
        r.headers["location"]
        == "/admin/login?next=%2Fadmin%2Fsites%2Fdemo%2Fstats%3Ffrom%3D2026-11-01%26to%3D2026-11-30"
    )
    form = client.get(r.headers["location"]).text
    assert 'name="next" value="/admin/sites/demo/stats?from=2026-11-01&amp;to=2026-11-30"' in form
    for path in ("/admin/sites/demo/stats.csv", "/admin/sites/demo/stats.json", "/admin/sites/nope/stats"):
        assert client.get(path, follow_redirects=False).status_code == 303, path


def forged_cookies(valid: str) -> dict[str, str]:
    other = AdminSessions(("another-signing-key-" + "z" * 32,), TEST_KEYS.pseudonym)
    _, ts_sig = valid.split(".", 1)
    return {
        "tampered signature": tampered(valid),
        "tampered sites": base64.urlsafe_b64encode(b'{"v":1,"sites":["*"],"kid":"x"}').decode().rstrip("=")
        + "."
        + ts_sig,
        "another key": other.issue(DEMO_KEY, frozenset({"*"})),
        "garbage": "not-a-session",
        "empty": "",
    }


def test_forged_tampered_and_expired_cookies_are_no_session(
    make_client: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = admin_client(make_client)
    sessions = AdminSessions(TEST_KEYS.signing, TEST_KEYS.pseudonym)
    valid = sessions.issue(DEMO_KEY, frozenset({"demo"}))
    assert sessions.verify(valid, ((DEMO_KEY, frozenset({"demo"})),)) is not None
    cases = forged_cookies(valid)
    now = int(time.time())
    with monkeypatch.context() as m:  # signed 8 hours and a minute ago
        m.setattr(TimestampSigner, "get_timestamp", lambda self: now - MAX_AGE_S - 60)
        cases["expired"] = sessions.issue(DEMO_KEY, frozenset({"demo"}))
    with monkeypatch.context() as m:  # signed in the future (more than the tolerated clock skew)
        m.setattr(TimestampSigner, "get_timestamp", lambda self: now + 3600)
        cases["from the future"] = sessions.issue(DEMO_KEY, frozenset({"demo"}))
    with monkeypatch.context() as m:  # 7 hours 59 minutes ago: still valid
        m.setattr(TimestampSigner, "get_timestamp", lambda self: now - MAX_AGE_S + 60)
        assert sessions.verify(sessions.issue(DEMO_KEY, frozenset({"demo"})), ((DEMO_KEY, frozenset({"demo"})),))
    for name, cookie in cases.items():
        assert sessions.verify(cookie, ((DEMO_KEY, frozenset({"demo"})),)) is None, name
        client.cookies.clear()
        client.cookies.set("cs_admin", cookie, domain="consent.test", path="/admin")
        r = client.get(PAGE, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/admin/login?next="), name


def test_a_session_ends_when_its_key_is_taken_out_of_the_configuration(make_client: AppFactory) -> None:
    sessions = AdminSessions(TEST_KEYS.signing, TEST_KEYS.pseudonym)
    cookie = sessions.issue(DEMO_KEY, frozenset({"demo"}))
    assert sessions.verify(cookie, ((ALL_KEY, frozenset({"*"})),)) is None
    narrowed = sessions.verify(cookie, ((DEMO_KEY, frozenset({"shop"})),))  # the key's sites changed
    assert narrowed is not None and not narrowed.may_see("demo") and not narrowed.may_see("shop")
    client = make_client(TWO_SITES, admin_keys=((ALL_KEY, frozenset({"*"})),))
    client.cookies.set("cs_admin", cookie, domain="consent.test", path="/admin")
    assert client.get(PAGE, follow_redirects=False).status_code == 303


def test_another_sites_session_is_403_and_an_unknown_site_404(make_client: AppFactory) -> None:
    client = admin_client(make_client)
    login(client, DEMO_KEY)
    r = client.get("/admin/sites/shop/stats", follow_redirects=False)
    assert r.status_code == 403 and "<script" not in r.text and 'id="message"' in r.text
    assert client.get("/admin/sites/shop/stats.csv", follow_redirects=False).status_code == 403
    r = client.get("/admin/sites/%3Cimg%20src%3Dx%3E/stats", follow_redirects=False)
    assert r.status_code == 404 and "<img" not in r.text and "&lt;img src=x&gt;" in r.text
    assert r.headers["content-security-policy"].startswith("default-src 'none'")


def test_login_refuses_a_missing_or_foreign_csrf_and_sets_nothing(make_client: AppFactory) -> None:
    client = admin_client(make_client)
    token = csrf_of(client.get("/admin/login").text)
    logout_token = client.app.state.consent.forms.issue("admin", "admin-logout")  # type: ignore[attr-defined]
    attempts = [
        ({"key": DEMO_KEY}, ORIGIN),  # no token
        ({"key": DEMO_KEY, "csrf": "forged"}, ORIGIN),
        ({"key": DEMO_KEY, "csrf": logout_token}, ORIGIN),  # another form's token
        ({"key": DEMO_KEY, "csrf": token}, {"Origin": "https://evil.example"}),
        ({"key": DEMO_KEY, "csrf": token}, {"Origin": "null"}),
    ]
    for data, headers in attempts:
        r = client.post("/admin/login", data=data, headers=headers, follow_redirects=False)
        assert r.status_code == 403 and "set-cookie" not in r.headers, (data, headers)
    assert login(client, DEMO_KEY).status_code == 303  # and the same token from our own origin works


def test_logout_needs_its_form_and_clears_the_cookie(make_client: AppFactory) -> None:
    client = admin_client(make_client)
    login(client, DEMO_KEY)
    stale = client.post("/admin/logout", data={"csrf": "x"}, headers=ORIGIN)
    assert stale.status_code == 403 and "set-cookie" not in stale.headers and client.cookies.get("cs_admin")
    token = csrf_of(stale.text)  # the refusal offers a fresh form
    evil = client.post("/admin/logout", data={"csrf": token}, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403
    r = client.post("/admin/logout", data={"csrf": token}, headers=ORIGIN, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin/login"
    assert "Max-Age=0" in set_cookie(r) and "Path=/admin" in set_cookie(r)
    assert not client.cookies.get("cs_admin")
    assert client.get(PAGE, follow_redirects=False).status_code == 303


def session_cookie(response: httpx.Response) -> str:
    """The cs_admin value a login's answer sets."""
    return set_cookie(response).split(";")[0].partition("=")[2]


def with_cookie(client: TestClient, cookie: str) -> TestClient:
    client.cookies.clear()
    client.cookies.set("cs_admin", cookie, domain="consent.test", path="/admin")
    return client


def test_logout_revokes_the_session_in_every_worker(make_client: AppFactory, redis_client: redis.Redis) -> None:
    """The cookie is signed, so clearing it in the browser left any copy of it valid for 8 hours.
    Logout now revokes the session in Redis; two app instances on one Redis stand for two workers."""
    worker_a, worker_b, worker_c = admin_client(make_client), admin_client(make_client), admin_client(make_client)
    kept = session_cookie(login(worker_a, DEMO_KEY))  # a copy of the cookie, kept past the logout
    other = session_cookie(login(worker_b, DEMO_KEY))  # another session of the same key
    for client, cookie in ((worker_a, kept), (worker_c, kept), (worker_c, other)):
        assert with_cookie(client, cookie).get(PAGE, follow_redirects=False).status_code == 200
    with_cookie(worker_a, kept)
    token = worker_a.app.state.consent.forms.issue("admin", "admin-logout")  # type: ignore[attr-defined]
    out = worker_a.post("/admin/logout", data={"csrf": token}, headers=ORIGIN, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/admin/login" and "Max-Age=0" in set_cookie(out)
    for client in (worker_a, worker_b, worker_c):  # the old cookie, wherever it is presented
        for path in (PAGE, "/admin/sites/demo/stats.csv", "/admin/sites/demo/stats.json"):
            r = with_cookie(client, kept).get(path, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"].startswith("/admin/login?next="), path
            assert "text/csv" not in r.headers.get("content-type", ""), path
    assert other != kept  # each login is a session of its own (the same key, the same second)
    assert with_cookie(worker_c, other).get(PAGE, follow_redirects=False).status_code == 200  # still valid
    assert with_cookie(worker_c, other).get("/admin/sites/demo/stats.csv").status_code == 200
    (revoked,) = [key for key in redis_client.scan_iter() if ":revoked:" in key]
    assert MAX_AGE_S - 60 < redis_client.ttl(revoked) <= MAX_AGE_S + 300  # the cookie's remaining life (+ skew)
    assert login(worker_a, DEMO_KEY).status_code == 303  # signing in again: a new session
    assert worker_a.get(PAGE, follow_redirects=False).status_code == 200


def test_a_cookie_of_the_old_format_is_no_session(make_client: AppFactory) -> None:
    """Cookies from before revocation (`"v": 1`, no session id) could not be signed out: refused."""
    client = admin_client(make_client)
    sessions = AdminSessions(TEST_KEYS.signing, TEST_KEYS.pseudonym)
    signer = TimestampSigner(
        list(reversed(TEST_KEYS.signing)), salt="cs-admin-session-v1", digest_method=hashlib.sha256
    )
    for payload in (
        {"v": 1, "sites": ["demo"], "kid": sessions.fingerprint(DEMO_KEY)},
        {"v": 2, "sites": ["demo"], "kid": sessions.fingerprint(DEMO_KEY)},  # no id
        {"v": 1, "sid": "A" * 22, "sites": ["demo"], "kid": sessions.fingerprint(DEMO_KEY)},
        {"v": 2, "sid": "short", "sites": ["demo"], "kid": sessions.fingerprint(DEMO_KEY)},
    ):
        old = signer.sign(base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=")).decode()
        assert sessions.verify(old, ((DEMO_KEY, frozenset({"demo"})),)) is None, payload
        assert with_cookie(client, old).get(PAGE, follow_redirects=False).status_code == 303, payload
    assert with_cookie(client, sessions.issue(DEMO_KEY, frozenset({"demo"}))).get(PAGE).status_code == 200


def test_failed_logins_are_throttled_but_the_right_key_always_signs_in(make_client: AppFactory) -> None:
    """Behind a proxy (CONSENT_FORWARDED_HOPS=0) every user shares one address: ten wrong guesses by
    anyone must not lock the real admin out. Only failures are throttled."""
    client = admin_client(make_client)
    for _ in range(10):
        assert login(client, "w" * 40).status_code == 401
    for _ in range(3):  # past the limit: wrong keys are refused for a while
        refused = login(client, "w" * 40)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
        assert "set-cookie" not in refused.headers
    r = login(client, DEMO_KEY)  # the right key, from the same address, at once
    assert r.status_code == 303 and r.headers["location"] == PAGE and set_cookie(r).startswith("cs_admin=")
    assert client.get(PAGE, follow_redirects=False).status_code == 200  # a working session
    assert login(client, ALL_KEY).status_code == 303  # another right key too
    again = login(client, "w" * 40)  # and wrong keys are still throttled after it
    assert again.status_code == 429 and "set-cookie" not in again.headers


def test_the_login_page_and_stylesheet(make_client: AppFactory) -> None:
    client = admin_client(make_client)
    r = client.get("/admin/login")
    assert r.status_code == 200 and 'type="password"' in r.text
    assert_strict_page(r.text, r.headers)
    css = client.get("/admin/admin.css")
    assert css.headers["content-type"].startswith("text/css") and b"svg.chart" in css.content


# ---- the page against traffic sent through the API ---------------------------------------------------


def send_known_mix(client: TestClient) -> None:
    """Eight people (three device types, three regions; two with GPC, three who never choose) and a
    bot. Whether each page view shows the banner is known in advance, and asserted: `TODAY` below is
    this story's sum, not the server's."""

    def visit(ua: str, region: dict[str, str], *, show: bool, gpc: bool = False) -> dict[str, str]:
        client.cookies.clear()
        headers = {"user-agent": ua, **region, **({"Sec-GPC": "1"} if gpc else {})}
        r = client.get("/v1/sites/demo/experience", headers=headers)
        assert r.status_code == 200 and r.json()["show"] is show, (ua, region, gpc)
        return headers

    def choose(headers: dict[str, str], body: dict[str, object], path: str = "/v1/consent") -> None:
        assert client.post(path, json={"site": "demo", **body}, headers=headers).status_code == 200

    choose(visit(CHROME, CA, show=True), {"action": "accept_all"})  # California: opt_out, asks
    choose(visit(IPHONE, DE, show=True), {"action": "reject_all"})  # Germany: opt_in, asks
    choose(visit(IPAD, JP, show=True), {"action": "custom", "choices": {"analytics": True}})  # Japan: notice
    visit(CHROME, CA, show=False, gpc=True)  # GPC already opted out: no pop-up; no choice
    visit(IPAD, DE, show=True, gpc=True)  # opt_in asks all the same; no choice
    visit(CHROME, JP, show=True)  # no choice
    choose(visit(IPHONE, CA, show=True), {}, "/v1/opt-out")
    client.cookies.clear()  # the no-JS page's opt-out, from Germany on a PC: a choice, not a page view
    csrf = client.app.state.consent.forms.issue("demo", "opt-out")  # type: ignore[attr-defined]
    page = client.post("/privacy/demo/opt-out", data={"csrf": csrf}, headers={"user-agent": CHROME, **DE, **ORIGIN})
    assert page.status_code == 200
    bot = {"user-agent": GOOGLEBOT, **CA}
    client.get("/v1/decision", params={"site": "demo", "purpose": "advertising"}, headers=bot)
    client.get("/v1/sites/demo/experience", headers=bot)
    client.cookies.clear()


# send_known_mix's day, counted from its story: 7 page views (2 with GPC), 6 banners (not the one
# GPC answered), 5 choices (1 accept all, 1 reject all, 1 custom, 2 opt-outs), 2 bot requests.
TODAY = {
    "visits": "7",
    "banners_shown": "6",
    "accept_all": "1",
    "reject_all": "1",
    "custom": "1",
    "opt_outs": "2",
    "gpc_share": "28.6%",  # 2 / 7
    "consent_rate": "20.0%",  # 1 / 5
    "opt_out_rate": "60.0%",  # (1 + 2) / 5
    "bot_requests": "2",
}
GROUPS = {  # (group, metric) → text in "The numbers" under the bar charts
    ("US-CA", "visits"): "3",
    ("US-CA", "gpc_share"): "33.3%",
    ("US-CA", "consent_rate"): "50.0%",
    ("US-CA", "opt_out_rate"): "50.0%",
    ("DE", "visits"): "2",
    ("DE", "gpc_share"): "50.0%",
    ("DE", "consent_rate"): "0.0%",
    ("DE", "opt_out_rate"): "100.0%",
    ("JP", "visits"): "2",
    ("JP", "gpc_share"): "0.0%",
    ("JP", "opt_out_rate"): "0.0%",
    ("pc", "visits"): "3",
    ("pc", "gpc_share"): "33.3%",
    ("pc", "opt_out_rate"): "50.0%",  # the no-JS opt-out of the two
    ("mobile", "visits"): "2",
    ("mobile", "gpc_share"): "0.0%",
    ("mobile", "opt_out_rate"): "100.0%",
    ("tablet", "visits"): "2",
    ("tablet", "gpc_share"): "50.0%",
    ("tablet", "custom"): "1",
}


def test_the_page_shows_what_was_sent_through_the_api(make_client: AppFactory) -> None:
    client = admin_client(make_client, sites=None)
    send_known_mix(client)
    login(client, DEMO_KEY)
    r = client.get(PAGE)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert_strict_page(r.text, r.headers)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    cells = {metric: text for (day, metric), (text, _) in table_cells(r.text).items() if day == today}
    assert cells == TODAY
    found = numbers(r.text)
    summary = {a["data-summary"]: text for a, text in found if "data-summary" in a}
    assert summary == {  # the range holds only today
        "visits": "7",
        "banners_shown": "6",
        "choices": "5",
        "consent_rate": "20.0%",
        "opt_out_rate": "60.0%",
        "gpc_share": "28.6%",
        "bot_requests": "2",
    }
    groups = {
        (a["data-group"], a["data-metric"]): text for a, text in found if "data-group" in a and a.get("class") == "num"
    }
    assert {key: groups[key] for key in GROUPS} == GROUPS
    drawn = [a for a, _ in found if "data-group" in a and a.get("class", "").startswith(("bar ", "total"))]
    bars = {(a["data-group"], a["data-metric"]): a["data-value"] for a in drawn}
    assert bars["US-CA", "accept_all"] == "1" and bars["US-CA", "opt_outs"] == "1" and bars["US-CA", "choices"] == "2"
    assert bars["DE", "reject_all"] == "1" and bars["DE", "opt_outs"] == "1" and bars["JP", "custom"] == "1"
    assert bars["JP", "choices"] == "1"  # the Japanese PC viewed a page and chose nothing
    assert bars["pc", "choices"] == "2" and bars["mobile", "choices"] == "2" and bars["tablet", "choices"] == "1"
    assert 'data-channel="no_js_page">1<' in r.text and 'data-channel="banner">1<' in r.text
    # The downloads are the API's answer, for the page's session.
    api = {"Authorization": f"Bearer {DEMO_KEY}"}
    as_json = client.get("/admin/sites/demo/stats.json")
    assert as_json.status_code == 200 and "attachment" in as_json.headers["content-disposition"]
    assert as_json.json() == client.get("/v1/admin/stats", params={"site": "demo"}, headers=api).json()
    as_csv = client.get("/admin/sites/demo/stats.csv")
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.text == client.get("/v1/admin/stats", params={"site": "demo", "format": "csv"}, headers=api).text
    assert client.get("/admin/sites/demo/stats.xml").status_code == 404


def test_a_bad_range_shows_the_default_one_with_a_note(make_client: AppFactory) -> None:
    client = admin_client(make_client)
    login(client, ALL_KEY)
    r = client.get(PAGE, params={"from": "2026-02-30"})
    assert r.status_code == 400 and 'id="problem"' in r.text and 'role="alert"' in r.text
    today = dt.datetime.now(dt.UTC).date()
    assert f'value="{(today - dt.timedelta(days=29)).isoformat()}"' in r.text
    ok = client.get(PAGE, params={"from": "2026-01-01", "to": "2026-01-03"})
    assert ok.status_code == 200 and 'id="range">2026-01-01 to 2026-01-03' in ok.text
    assert 'href="/admin/sites/demo/stats.csv?from=2026-01-01&amp;to=2026-01-03"' in ok.text
    assert len(table_cells(ok.text)) == 4 * 10
    assert 'href="/admin/sites/shop/stats"' in ok.text  # the session's other site
    assert client.get("/admin/sites/demo/stats.json", params={"to": "x"}).status_code == 400


# ---- the date range --------------------------------------------------------------------------------


def test_the_date_range() -> None:
    today = dt.date(2026, 11, 30)
    assert parse_range(None, None, today) == ("2026-11-01", "2026-11-30")
    assert parse_range("2026-01-01", "2026-01-31", today) == ("2026-01-01", "2026-01-31")
    assert parse_range(None, "2026-02-28", today) == ("2026-01-30", "2026-02-28")
    for first, last in (("2026-02-01", "2026-01-01"), ("2024-01-01", "2026-01-01"), ("yesterday", None),
                        ("2026-13-01", None), ("1999-01-01", None), ("２０２６-01-01", None),
                        ("2026-W01-1", None), ("2026-001", None), ("20260101", None)):  # fmt: skip
        with pytest.raises(DayRangeError):
            parse_range(first, last, today)


def test_one_strict_day_parser() -> None:
    assert parse_day("2026-12-29") == dt.date(2026, 12, 29) and parse_day("2020-01-01") == dt.date(2020, 1, 1)
    assert dt.date.fromisoformat("2026-W01-1") == dt.date(2025, 12, 29)  # what Python would take
    for bad in ("2026-W01-1", "2026-W01", "2026-001", "20260101", "2026-1-01", "2026-02-30", "2026-01-01 ",
                "2026-01-01\n", "2026-01-0１", "2026-01-01T00:00", "1999-12-31", "2101-01-01", ""):  # fmt: skip
        assert parse_day(bad) is None, bad


def test_both_stats_endpoints_refuse_a_week_date(make_client: AppFactory) -> None:
    """GET /v1/admin/stats and the dashboard (page and downloads) read days with the same parser."""
    client = admin_client(make_client)
    login(client, DEMO_KEY)
    api = {"Authorization": f"Bearer {DEMO_KEY}"}
    for bad in ("2026-W01-1", "2026-001"):
        r = client.get("/v1/admin/stats", params={"site": "demo", "from": bad}, headers=api)
        assert (r.status_code, r.json()["error"]) == (400, "invalid_body"), bad
        page = client.get(PAGE, params={"from": bad, "to": "2026-01-05"})
        assert page.status_code == 400 and 'id="problem"' in page.text and "YYYY-MM-DD" in page.text, bad
        for download in ("stats.json", "stats.csv"):
            assert client.get(f"/admin/sites/demo/{download}", params={"to": bad}).status_code == 400, bad
    good = {"from": "2026-01-01", "to": "2026-01-05"}
    assert client.get("/v1/admin/stats", params={"site": "demo", **good}, headers=api).status_code == 200
    assert client.get(PAGE, params=good).status_code == 200


# ---- the rendered page -----------------------------------------------------------------------------


class Numbers(HTMLParser):
    """Every element with a data-metric, data-rate or data-summary attribute: its attributes and text."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[dict[str, str], str]] = []
        self._open: list[tuple[str, dict[str, str], list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if {"data-metric", "data-rate", "data-summary"} & found.keys():
            self._open.append((tag, found, []))

    def handle_data(self, data: str) -> None:
        for _, _, text in self._open:
            text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1][0] == tag:
            _, found, text = self._open.pop()
            self.found.append((found, "".join(text)))


def numbers(html: str) -> list[tuple[dict[str, str], str]]:
    parser = Numbers()
    parser.feed(html)
    return parser.found


def table_cells(html: str) -> dict[tuple[str, str], tuple[str, str | None]]:
    """(day, metric) → (text, data-value) for the daily table's cells."""
    return {
        (a["data-day"], a["data-metric"]): (text, a.get("data-value"))
        for a, text in numbers(html)
        if "data-day" in a and "data-metric" in a
    }


def known_report(site: str = "demo", region: str = "US-CA") -> StatsReport:
    quiet = Counts()
    channels = {"banner": 2, "no_js_page": 1, "agent": 1}
    busy = Counts(
        visits=60,
        gpc_visits=6,
        banners_shown=40,
        accept_all=10,
        reject_all=12,
        custom=3,
        opt_outs=channels,
        devices=50,
        gpc_devices=5,
    )  # 29 choices
    small = Counts(visits=8, gpc_visits=2, banners_shown=3, accept_all=1, reject_all=1, devices=7, gpc_devices=7)
    totals = Counts(
        visits=68,
        gpc_visits=8,
        banners_shown=43,
        accept_all=11,
        reject_all=13,
        custom=3,
        opt_outs=channels,
        devices=55,
        gpc_devices=11,
    )  # 31 choices
    return StatsReport(
        site=site,
        first_day="2026-11-28",
        last_day="2026-11-30",
        days=(Day("2026-11-28", quiet), Day("2026-11-29", busy, bot_requests=9), Day("2026-11-30", small)),
        totals=totals,
        by_region={region: busy, "DE": small},
        by_regime={"opt_out": busy, "opt_in": small},
        by_device_class={"pc": busy, "mobile": small},
        by_browser={"chrome": totals},
        bot_requests=9,
    )


EXPECTED = {  # (day, metric) → (text, data-value)
    ("2026-11-29", "visits"): ("60", "60"),
    ("2026-11-29", "banners_shown"): ("40", "40"),
    ("2026-11-29", "accept_all"): ("10", "10"),
    ("2026-11-29", "reject_all"): ("12", "12"),
    ("2026-11-29", "custom"): ("3", "3"),
    ("2026-11-29", "opt_outs"): ("4", "4"),
    ("2026-11-29", "gpc_share"): ("10.0%", "0.1"),  # 6 of 60 page views
    ("2026-11-29", "consent_rate"): ("34.5%", repr(10 / 29)),  # of 29 choices
    ("2026-11-29", "opt_out_rate"): ("55.2%", repr(16 / 29)),
    ("2026-11-29", "bot_requests"): ("9", "9"),
    ("2026-11-30", "visits"): ("8", "8"),
    ("2026-11-30", "banners_shown"): ("3", "3"),
    ("2026-11-30", "gpc_share"): ("25.0%", "0.25"),  # not the devices' 7 of 7
    ("2026-11-30", "consent_rate"): ("50.0%", "0.5"),
    ("2026-11-30", "opt_out_rate"): ("50.0%", "0.5"),
    ("2026-11-30", "bot_requests"): ("0", "0"),
    ("2026-11-28", "visits"): ("0", "0"),
    ("2026-11-28", "banners_shown"): ("0", "0"),
    ("2026-11-28", "gpc_share"): ("–", None),
    ("2026-11-28", "consent_rate"): ("–", None),
    ("2026-11-28", "opt_out_rate"): ("–", None),
    ("total", "visits"): ("68", "68"),
    ("total", "banners_shown"): ("43", "43"),
    ("total", "accept_all"): ("11", "11"),
    ("total", "opt_outs"): ("4", "4"),
    ("total", "gpc_share"): ("11.8%", repr(8 / 68)),
    ("total", "consent_rate"): ("35.5%", repr(11 / 31)),
    ("total", "opt_out_rate"): ("54.8%", repr(17 / 31)),
    ("total", "bot_requests"): ("9", "9"),
}


def test_every_number_of_the_daily_table() -> None:
    html = render_dashboard(known_report(), logout_csrf="t")
    cells = table_cells(html)
    for key, want in EXPECTED.items():
        assert cells[key] == want, key
    assert len(cells) == 4 * 10  # three days and the totals, ten numbers each
    order = re.findall(r'<tr data-day="([^"]+)">', html)
    assert order == ["2026-11-30", "2026-11-29", "2026-11-28", "total"]  # newest first, totals last
    heads = re.findall(r'<th scope="col" class="num">([^<]+)</th>', html.split('id="days-table"')[1])
    assert heads[:2] == ["Page views", "Banners shown"]


def test_the_table_shows_the_last_30_days_of_a_longer_range() -> None:
    start = dt.date(2026, 1, 1)
    days = tuple(Day((start + dt.timedelta(i)).isoformat(), Counts(visits=i, accept_all=i)) for i in range(45))
    report = StatsReport("demo", days[0].day, days[-1].day, days, Counts(), {}, {}, {}, {})
    html = render_dashboard(report, logout_csrf="t")
    shown = {day for day, metric in table_cells(html) if metric == "visits"} - {"total"}
    assert shown == {d.day for d in days[-30:]}
    points = [a for a, _ in numbers(html) if a.get("data-series") == "consent_rate"]
    assert len(points) == 44  # the charts draw the whole range (day 0 had no choice: no rate)


def test_the_charts_carry_their_numbers() -> None:
    html = render_dashboard(known_report(), logout_csrf="t")
    found = numbers(html)
    rates = {(a["data-series"], a["data-day"]): a["data-rate"] for a, _ in found if "data-rate" in a}
    assert rates == {
        ("consent_rate", "2026-11-29"): repr(10 / 29),
        ("consent_rate", "2026-11-30"): "0.5",
        ("opt_out_rate", "2026-11-29"): repr(16 / 29),
        ("opt_out_rate", "2026-11-30"): "0.5",
        ("gpc_share", "2026-11-29"): "0.1",
        ("gpc_share", "2026-11-30"): "0.25",
    }  # 2026-11-28 had no choice and no page view: no point, no bar
    bars = {
        (a["data-group"], a["data-metric"]): a["data-value"]
        for a, _ in found
        if "data-group" in a and a.get("class", "").startswith("bar ")
    }
    assert bars["US-CA", "accept_all"] == "10" and bars["US-CA", "opt_outs"] == "4" and bars["DE", "accept_all"] == "1"
    assert ("DE", "custom") not in bars  # a zero draws no bar
    assert bars["pc", "reject_all"] == "12" and bars["mobile", "accept_all"] == "1"
    totals = {a["data-group"]: text for a, text in found if a.get("data-metric") == "choices"}
    assert totals == {"US-CA": "29", "DE": "2", "pc": "29", "mobile": "2"}
    groups = {
        (a["data-group"], a["data-metric"]): text
        for a, text in found
        if "data-group" in a and "num" in a.get("class", "")
    }
    assert (groups["DE", "visits"], groups["DE", "gpc_share"], groups["DE", "opt_out_rate"]) == ("8", "25.0%", "50.0%")
    assert (groups["pc", "visits"], groups["pc", "consent_rate"]) == ("60", "34.5%")
    summary = {a["data-summary"]: text for a, text in found if "data-summary" in a}
    assert summary == {
        "visits": "68",
        "banners_shown": "43",
        "choices": "31",
        "consent_rate": "35.5%",
        "opt_out_rate": "54.8%",
        "gpc_share": "11.8%",
        "bot_requests": "9",
    }
    for label in ("Page views", "Choices made", "Page views with GPC", "Page views with GPC per day"):
        assert f">{label}<" in html, label
    assert "Devices sending GPC" not in html
    assert html.count('role="img"') == 4 and html.count("<desc ") == 4
    assert "<polyline" in html and 'class="line s-consent_rate"' in html


def test_the_page_escapes_what_it_shows_and_has_no_script_or_inline_style() -> None:
    hostile = '"><script>alert(1)</script>'
    region = "<img src=x onerror=alert(1)>"
    html = render_dashboard(known_report(site=hostile, region=region), logout_csrf='"><b>', sites=[hostile, "x&y"])
    assert "<script" not in html.lower() and "<img" not in html and "<b>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "&#34;&gt;&lt;script&gt;" in html
    assert 'data-group="&lt;img src=x onerror=alert(1)&gt;"' in html and "x&amp;y" in html
    assert_strict_page(html, None)


def test_an_empty_range_renders() -> None:
    report = StatsReport("demo", "2026-11-30", "2026-11-30", (Day("2026-11-30", Counts()),), Counts(), {}, {}, {}, {})
    html = render_dashboard(report, logout_csrf="t")
    assert "No choices in this range" in html and table_cells(html)[("total", "consent_rate")] == ("–", None)
    assert_strict_page(html, None)


def test_rates_stay_within_100_percent() -> None:
    # Opt-outs on the no-JS page come without a banner: they are choices, so the rate is 5 of 5.
    day = Day("2026-11-30", Counts(visits=2, banners_shown=2, opt_outs={"no_js_page": 5}))
    report = StatsReport("demo", day.day, day.day, (day,), day.humans, {}, {}, {}, {})
    html = render_dashboard(report, logout_csrf="t")
    assert table_cells(html)[("2026-11-30", "opt_out_rate")] == ("100.0%", "1.0")
    assert ">100%</text>" in html and ">125%</text>" not in html  # the axis ends at 100%


class Attributes(HTMLParser):
    """Every tag and attribute name in a document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.names: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.names.update(name for name, _ in attrs)


def assert_strict_page(html: str, headers: httpx.Headers | None) -> None:
    """No script, no inline style, only our stylesheet; with headers, the strict CSP and no-store."""
    lower = html.lower()
    assert "<script" not in lower and "<style" not in lower
    names = Attributes()
    names.feed(html)
    assert "style" not in names.tags and "script" not in names.tags
    assert "style" not in names.names and not any(n.startswith("on") for n in names.names)  # no inline handlers
    assert re.findall(r'<link rel="stylesheet" href="([^"]+)"', html) == ["/admin/admin.css"]
    if headers is not None:
        h = headers
        csp = h["content-security-policy"]
        for directive in ("default-src 'none'", "style-src 'self'", "img-src 'self'", "form-action 'self'",
                          "frame-ancestors 'none'", "base-uri 'none'"):  # fmt: skip
            assert directive in csp, directive
        assert "script-src" not in csp and "unsafe" not in csp
        assert h["cache-control"] == "no-store" and h["x-content-type-options"] == "nosniff"
        assert h["referrer-policy"] == "same-origin"


@pytest.mark.standalone_only  # no Redis at all: once is enough
def test_an_unreachable_store_is_a_503_page(make_client: AppFactory, unused_port: int) -> None:
    keys = ((DEMO_KEY, frozenset({"demo"})),)
    unreachable = f"redis://127.0.0.1:{unused_port}"
    client = make_client(
        TWO_SITES,
        admin_keys=keys,
        redis_url=unreachable,
        write_timeout_ms=300,
        rate_limit_device=None,
        rate_limit_client=None,
    )
    assert login(client, DEMO_KEY).status_code == 303  # signing in needs no Redis
    r = client.get(PAGE)  # nor can it say whether the session was signed out: closed, not open
    assert r.status_code == 503 and r.headers["retry-after"] == "5" and 'id="message"' in r.text
    assert_strict_page(r.text, r.headers)
    assert client.get("/admin/sites/demo/stats.json").status_code == 503
    token = client.app.state.consent.forms.issue("admin", "admin-logout")  # type: ignore[attr-defined]
    out = client.post("/admin/logout", data={"csrf": token}, headers=ORIGIN, follow_redirects=False)
    assert out.status_code == 503 and out.headers["retry-after"] == "5" and 'id="logout"' in out.text
    assert "set-cookie" not in out.headers and client.cookies.get("cs_admin")  # kept: sign out again later


@pytest.fixture
def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
