"""The HTML forms (the no-JS opt-out, the your-data deletion, the admin login and logout) are read by
one bounded reader, http.read_form: a malformed form gets that page's own HTML and a 4xx, never a
5xx, and changes nothing. The endpoints are found from the app's routes, so a new form cannot be
left out."""

from __future__ import annotations

from urllib.parse import quote

import pytest
import redis
from starlette.routing import Route
from starlette.testclient import TestClient

from consent_service.core.errors import ApiError
from consent_service.web.http import MAX_FORM_FIELDS, parse_form
from tests.conftest import CA, AppFactory, snapshot

ADMIN_KEY = "form-test-admin-key-" + "f" * 32
ORIGIN = {"Origin": "http://consent.test"}
FORM = "application/x-www-form-urlencoded"
# Each HTML form endpoint and the (scope, form) its CSRF token is issued for (FormTokens.issue). A new
# form endpoint fails test_every_form_endpoint_is_listed until it is added here, and so tested below.
FORMS: dict[str, tuple[str, str]] = {
    "/privacy/{site}/opt-out": ("demo", "opt-out"),
    "/privacy/{site}/data": ("demo", "delete"),
    "/admin/login": ("admin", "admin-login"),
    "/admin/logout": ("admin", "admin-logout"),
}


def form_routes(client: TestClient) -> set[str]:
    """Every route that takes a POST outside the JSON API (`/v1/`): the HTML forms."""
    return {
        route.path
        for route in client.app.routes  # type: ignore[attr-defined]
        if isinstance(route, Route) and "POST" in (route.methods or ()) and not route.path.startswith("/v1/")
    }


def malformed(csrf: str) -> dict[str, tuple[bytes, str]]:
    """Bodies that are not a well-formed form of ours, each around a VALID token: a reader that
    guessed (took the first of two tokens, dropped what it could not decode) would act on them."""
    c = quote(csrf, safe="")
    boundary = "b0undary"
    multipart = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{csrf}\r\n--{boundary}--\r\n'
    ).encode()
    cases = {
        "11 fields": f"csrf={c}&" + "&".join(f"f{i}=x" for i in range(MAX_FORM_FIELDS)),
        "1000 fields": f"csrf={c}&" + "&".join(f"f{i}=x" for i in range(999)),
        "csrf twice, valid first": f"csrf={c}&csrf=forged",
        "csrf twice, valid last": f"csrf=forged&csrf={c}",
        "csrf twice, both valid": f"csrf={c}&csrf={c}",
        "%ff (not UTF-8)": f"csrf={c}&lang=%ff",
        "%zz (not an escape)": f"csrf={c}&lang=%zz",
        "a lone %": f"csrf={c}&lang=en%",
        "NUL, escaped": f"csrf={c}&lang=en%00",
        "CR LF, escaped": f"csrf={c}&lang=en%0D%0Ax",
    }
    out = {label: (body.encode(), FORM) for label, body in cases.items()}
    out["invalid UTF-8 bytes"] = (f"csrf={c}&lang=".encode() + b"\xff\xfe", FORM)
    out["non-ASCII, unescaped"] = (f"csrf={c}&lang=é".encode(), FORM)
    out["NUL, raw"] = (f"csrf={c}&lang=en".encode() + b"\x00", FORM)
    out["multipart"] = (multipart, f"multipart/form-data; boundary={boundary}")
    out["JSON, as JSON"] = (f'{{"csrf": "{csrf}"}}'.encode(), "application/json")
    out["multipart, sent as a form"] = (multipart, FORM)
    return out


def not_ours(csrf: str) -> dict[str, tuple[bytes, str]]:
    """Well-formed enough to read, but without the form's token: refused (403) as before."""
    c = quote(csrf, safe="")
    return {
        "empty": (b"", FORM),
        "JSON, sent as a form": (f'{{"csrf":"{csrf}"}}'.encode(), FORM),
        "; separators": (f"csrf={c};lang=en".encode(), FORM),
    }


@pytest.fixture
def forms_client(make_client: AppFactory) -> TestClient:
    return make_client(None, admin_keys=((ADMIN_KEY, frozenset({"*"})),))


def prepared(client: TestClient, path: str) -> tuple[str, str]:
    """The URL to post to and a valid token for it, with something there to change: a device with
    a record (the deletion's target) and an admin session (the logout's)."""
    scope, form = FORMS[path]
    client.cookies.clear()
    assert client.post("/v1/opt-out", json={"site": "demo"}, headers=CA).status_code == 200
    forms = client.app.state.consent.forms  # type: ignore[attr-defined]
    login = {"csrf": forms.issue("admin", "admin-login"), "key": ADMIN_KEY}
    assert client.post("/admin/login", data=login, headers=ORIGIN, follow_redirects=False).status_code == 303
    assert client.cookies.get("cs_admin") and client.cookies.get("cs_device_demo")
    return path.replace("{site}", "demo"), forms.issue(scope, form)


def test_every_form_endpoint_is_listed(forms_client: TestClient) -> None:
    assert form_routes(forms_client) == set(FORMS)


@pytest.mark.parametrize("path", sorted(FORMS))
def test_a_malformed_form_is_a_400_page_and_changes_nothing(
    forms_client: TestClient, redis_client: redis.Redis, path: str
) -> None:
    url, csrf = prepared(forms_client, path)
    before = snapshot(redis_client)
    for label, (body, content_type) in malformed(csrf).items():
        headers = {**ORIGIN, "content-type": content_type}
        r = forms_client.post(url, content=body, headers=headers, follow_redirects=False)
        assert r.status_code == 400, (label, r.status_code, r.text[:300])
        assert r.headers["content-type"].startswith("text/html"), label  # the page's own answer, not JSON
        assert "set-cookie" not in r.headers, label  # nothing signed in or out, no cookie cleared
        assert snapshot(redis_client) == before, label
    for label, (body, content_type) in not_ours(csrf).items():
        headers = {**ORIGIN, "content-type": content_type}
        r = forms_client.post(url, content=body, headers=headers, follow_redirects=False)
        assert r.status_code == 403 and r.headers["content-type"].startswith("text/html"), (label, r.status_code)
        assert snapshot(redis_client) == before, label
    # And the same token in a well-formed form still works: the refusals were about the form.
    ok = forms_client.post(url, data={"csrf": csrf, "key": ADMIN_KEY}, headers=ORIGIN, follow_redirects=False)
    assert ok.status_code in (200, 303), ok.text[:300]


@pytest.mark.standalone_only
def test_an_oversized_form_is_a_413_page(forms_client: TestClient) -> None:
    for path in sorted(FORMS):
        url, csrf = prepared(forms_client, path)
        body = f"csrf={quote(csrf, safe='')}&x=".encode() + b"y" * 20_000
        r = forms_client.post(url, content=body, headers={**ORIGIN, "content-type": FORM}, follow_redirects=False)
        assert r.status_code == 413 and r.headers["content-type"].startswith("text/html"), path


def test_the_form_reader() -> None:
    assert parse_form(b"") == {}
    assert parse_form(b"csrf=a.b-c_d&lang=en&next=%2Fadmin%2Fx%3Fa%3D1") == {
        "csrf": "a.b-c_d",
        "lang": "en",
        "next": "/admin/x?a=1",
    }
    assert parse_form(b"key=a+b%20c&empty=&bare") == {"key": "a b c", "empty": "", "bare": ""}
    assert parse_form(b"&&a=1&&") == {"a": "1"}  # empty pieces are no fields
    assert parse_form(b"k=%C3%A9") == {"k": "é"}  # UTF-8, percent-encoded
    assert parse_form(b"a=1;b=2") == {"a": "1;b=2"}  # `;` is no separator
    assert len(parse_form("&".join(f"f{i}=x" for i in range(MAX_FORM_FIELDS)).encode())) == MAX_FORM_FIELDS
    for bad in (
        "&".join(f"f{i}=x" for i in range(MAX_FORM_FIELDS + 1)).encode(),
        b"a=1&a=2",
        b"a=1&a=1",
        b"a=%ff",
        b"a=%zz",
        b"a=%",
        b"a=%4",
        b"a%zz=1",
        b"a=\xff",
        b"a=%00",
        b"a=\x00",
        b"a=%C2%85",  # U+0085, a C1 control
        b"a=x%7F",
    ):
        with pytest.raises(ApiError) as info:
            parse_form(bad)
        assert info.value.status == 400, bad
