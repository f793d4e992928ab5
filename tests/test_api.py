"""The public contract, through HTTP, against a real Redis."""

from __future__ import annotations

import pytest
import redis
from starlette.testclient import TestClient

from consent_service.config.settings import Settings
from consent_service.config.sites import load_sites
from consent_service.web import visitor as web
from consent_service.web.app import create_app
from tests.conftest import CA, CHROME, DE, GOOGLEBOT, TEST_KEYS, AppFactory, tampered

ALL = ["necessary", "analytics", "advertising", "personalization"]


def decide(client: TestClient, *purposes: str, headers: dict[str, str] | None = None, **params: str) -> dict:
    r = client.get(
        "/v1/decision", params={"site": "demo", "purpose": list(purposes or ALL), **params}, headers=headers or {}
    )
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    return r.json()


def reasons(answer: dict) -> dict[str, tuple[bool, str]]:
    return {p: (d["allowed"], d["reason"]) for p, d in answer["decisions"].items()}


def test_first_visit_in_california_allows_advertising_by_default(client: TestClient) -> None:
    answer = decide(client, "advertising", headers=CA)
    assert answer["region"] == "US-CA" and answer["regime"] == "opt_out" and answer["gpc"] is False
    assert reasons(answer) == {"advertising": (True, "default")}
    assert answer["usp"] == "1YNN" and answer["gpp_sid"] == [7]
    assert answer["gpp"] == "DBABLA~CVQqAAAAAACA.QA"
    assert "device" not in answer and "cs_device_demo" not in client.cookies  # nothing to record


def test_gpc_denies_sale_share_and_is_remembered_without_the_header(
    client: TestClient, redis_client: redis.Redis
) -> None:
    answer = decide(client, headers={**CA, "Sec-GPC": "1"})
    assert reasons(answer)["advertising"] == (False, "gpc")
    assert reasons(answer)["analytics"] == (True, "default")  # GPC names sale/share only
    assert answer["usp"] == "1YYN" and answer["gpp"] == "DBABLA~CVQVAAAAAACA.YA" and answer["gpc"] is True
    assert answer["device"] and client.cookies["cs_device_demo"] == answer["device"]
    later = decide(client, headers=CA)  # no header now: still an opt-out
    assert reasons(later)["advertising"] == (False, "gpc") and later["gpc"] is True
    assert later["usp"] == "1YYN"
    audit = [e for _, e in redis_client.xrange(_only(redis_client, "*:audit"))]
    assert [(e["a"], e["s"]) for e in audit] == [("gpc", "gpc")]


def test_gpc_parsing_rule_through_http(client: TestClient) -> None:
    for value, expected in [
        ("1", True),
        (" 1\t", True),
        ("0, 1", True),
        ("0", False),
        ("true", False),
        ("yes", False),
        ("", False),
        ("11", False),
    ]:
        assert decide(client, "advertising", headers={**CA, "Sec-GPC": value})["gpc"] is expected, value
        client.cookies.clear()


def test_gpc_query_flag_counts_like_the_header(client: TestClient) -> None:
    answer = decide(client, "advertising", headers=CA, gpc="1")
    assert reasons(answer)["advertising"] == (False, "gpc") and answer["device"]


def test_german_visitor_gets_only_necessary_until_consent(client: TestClient) -> None:
    answer = decide(client, headers=DE)
    # GDPR territory on a site with TCF on (the demo): GPP carries the TC string as section 2 (tcfeuv2).
    assert answer["regime"] == "opt_in" and answer["gpp_sid"] == [2] and answer["usp"] == "1---"
    assert answer["gpp"] == "DBABMA~" + answer["tcf"]
    assert reasons(answer) == {
        "necessary": (True, "necessary"),
        "analytics": (False, "no_consent"),
        "advertising": (False, "no_consent"),
        "personalization": (False, "no_consent"),
    }
    r = client.post(
        "/v1/consent", json={"site": "demo", "action": "custom", "choices": {"analytics": True}}, headers=DE
    )
    assert r.status_code == 200, r.text
    after = decide(client, headers=DE)
    assert reasons(after)["analytics"] == (True, "consent") and reasons(after)["advertising"] == (False, "no_consent")


def test_choices_stick_and_custom_leaves_others(client: TestClient) -> None:
    r = client.post("/v1/consent", json={"site": "demo", "action": "accept_all"}, headers=DE)
    assert r.status_code == 200 and all(d["allowed"] for d in r.json()["decisions"].values())
    token = r.json()["device"]
    assert client.cookies["cs_device_demo"] == token
    r = client.post(
        "/v1/consent",
        json={"site": "demo", "action": "custom", "choices": {"advertising": False, "necessary": False}},
        headers=DE,
    )
    assert reasons(r.json()) == {
        "necessary": (True, "necessary"),
        "analytics": (True, "consent"),
        "advertising": (False, "opt_out"),
        "personalization": (True, "consent"),
    }
    client.cookies.clear()  # the header alone identifies the device too
    again = decide(client, headers={**DE, "X-Consent-Device": token})
    assert reasons(again)["advertising"] == (False, "opt_out") and reasons(again)["analytics"] == (True, "consent")
    r = client.post(
        "/v1/consent", json={"site": "demo", "action": "reject_all"}, headers={**DE, "X-Consent-Device": token}
    )
    assert r.json()["device"] != "" and not any(
        d["allowed"] for p, d in r.json()["decisions"].items() if p != "necessary"
    )


def test_opt_out_denies_every_sale_share_purpose_only(client: TestClient, redis_client: redis.Redis) -> None:
    r = client.post("/v1/opt-out", json={"site": "demo"}, headers=CA)
    assert r.status_code == 200, r.text
    assert reasons(r.json())["advertising"] == (False, "opt_out") and reasons(r.json())["analytics"] == (
        True,
        "default",
    )
    assert r.json()["usp"] == "1YYN" and r.json()["gpc"] is False
    assert reasons(decide(client, headers=CA))["advertising"] == (False, "opt_out")
    entry = redis_client.xrange(_only(redis_client, "*:audit"))[-1][1]
    assert entry["a"] == "opt_out" and entry["c"] == "advertising=0" and entry["rg"] == "US-CA" and entry["dc"] == "pc"
    assert len(redis_client.xrange(_only(redis_client, "*:log:*"))) == 1  # the device's own history


def test_opt_in_sent_with_gpc_does_not_lift_it(make_client: AppFactory) -> None:
    client = make_client(_LIFT_SITE)
    r = client.post("/v1/consent", json={"site": "lift", "action": "accept_all"}, headers={**CA, "Sec-GPC": "1"})
    assert reasons(r.json())["ads"] == (False, "gpc")
    # A later explicit opt-in (without the header) lifts it on a site that allows that.
    r = client.post("/v1/consent", json={"site": "lift", "action": "custom", "choices": {"ads": True}}, headers=CA)
    assert reasons(r.json())["ads"] == (True, "consent") and r.json()["gpc"] is True


def test_tampered_and_garbage_tokens_get_a_fresh_device(client: TestClient) -> None:
    token = client.post("/v1/opt-out", json={"site": "demo"}, headers=CA).json()["device"]
    client.cookies.clear()
    for bad in [tampered(token), "garbage", "a" * 5000, token.replace(".", "!"), "%00%ff", "a.b.c"]:
        answer = decide(client, headers={**CA, "X-Consent-Device": bad})
        assert reasons(answer)["advertising"] == (True, "default")  # not the opted-out device's data
        r = client.post(
            "/v1/consent", json={"site": "demo", "action": "accept_all"}, headers={**CA, "X-Consent-Device": bad}
        )
        assert r.status_code == 200 and r.json()["device"] != token
        client.cookies.clear()


def test_invalid_header_falls_back_to_a_valid_cookie(client: TestClient) -> None:
    client.post("/v1/opt-out", json={"site": "demo"}, headers=CA)
    answer = decide(client, headers={**CA, "X-Consent-Device": "forged.token.value"})
    assert reasons(answer)["advertising"] == (False, "opt_out")


def test_bots_get_answers_but_nothing_is_written(client: TestClient, redis_client: redis.Redis) -> None:
    bot = {**CA, "Sec-GPC": "1", "User-Agent": GOOGLEBOT}
    answer = decide(client, headers=bot)
    assert reasons(answer)["advertising"] == (False, "gpc") and "device" not in answer
    r = client.post("/v1/opt-out", json={"site": "demo"}, headers=bot)
    assert r.status_code == 200 and "device" not in r.json()
    assert redis_client.dbsize() == 0


def test_bad_input_gets_clean_4xx_and_writes_nothing(client: TestClient, redis_client: redis.Redis) -> None:
    cases: list[tuple[str, dict, int, str]] = [
        ("/v1/consent", {"content": b"{not json"}, 400, "invalid_json"),
        ("/v1/consent", {"content": b"[1, 2]"}, 400, "invalid_body"),
        ("/v1/consent", {"json": {"action": "accept_all"}}, 400, "invalid_body"),
        ("/v1/consent", {"json": {"site": 7, "action": "accept_all"}}, 400, "invalid_body"),
        ("/v1/consent", {"json": {"site": "demo", "action": "sell_it"}}, 400, "invalid_body"),
        ("/v1/consent", {"json": {"site": "demo", "action": "custom"}}, 400, "invalid_body"),
        (
            "/v1/consent",
            {"json": {"site": "demo", "action": "custom", "choices": {"analytics": "yes"}}},
            400,
            "invalid_body",
        ),
        ("/v1/consent", {"json": {"site": "demo", "action": "accept_all", "extra": 1}}, 400, "invalid_body"),
        ("/v1/consent", {"json": {"site": "demo", "action": "accept_all", "gpc": "1"}}, 400, "invalid_body"),
        ("/v1/consent", {"json": {"site": "nope", "action": "accept_all"}}, 404, "unknown_site"),
        (
            "/v1/consent",
            {"json": {"site": "demo", "action": "custom", "choices": {"x<script>": True}}},
            422,
            "unknown_purpose",
        ),
        (
            "/v1/consent",
            {"content": b'{"site": "demo", "action": "accept_all", "pad": "' + b"x" * 20000 + b'"}'},
            413,
            "payload_too_large",
        ),
        ("/v1/opt-out", {"json": {}}, 400, "invalid_body"),
        ("/v1/opt-out", {"json": {"site": "demo\u0000\u202e"}}, 404, "unknown_site"),
        (
            "/v1/opt-out",
            {"json": {"site": "demo"}, "headers": {"Origin": "https://evil.example"}},
            403,
            "forbidden_origin",
        ),
        ("/v1/opt-out", {"json": {"site": "demo"}, "headers": {"Origin": "null"}}, 403, "forbidden_origin"),
    ]
    for path, kwargs, status, code in cases:
        r = client.post(path, **kwargs)
        assert (r.status_code, r.json()["error"]) == (status, code), (path, kwargs.get("json"), r.text)
        assert r.headers["content-type"] == "application/json" and r.json()["detail"]
    for params, status, code in [
        ({"purpose": "analytics"}, 400, "invalid_body"),
        ({"site": "demo"}, 400, "invalid_body"),
        ({"site": "zz", "purpose": "analytics"}, 404, "unknown_site"),
        ({"site": "demo", "purpose": "sale"}, 422, "unknown_purpose"),
    ]:
        r = client.get("/v1/decision", params=params, headers={"Sec-GPC": "1"})
        assert (r.status_code, r.json()["error"]) == (status, code)
    assert client.get("/nope").json()["error"] == "not_found"
    assert client.delete("/v1/decision").status_code == 405
    assert redis_client.dbsize() == 0 and "cs_device_demo" not in client.cookies


def test_chunked_body_over_the_limit_is_refused(client: TestClient, redis_client: redis.Redis) -> None:
    def chunks():  # no Content-Length: the limit must hold while streaming
        yield b'{"site": "demo", "action": "accept_all", "pad": "'
        for _ in range(40):
            yield b"x" * 1024
        yield b'"}'

    r = client.post("/v1/consent", content=chunks())
    assert r.status_code == 413 and r.json()["error"] == "payload_too_large"
    assert redis_client.dbsize() == 0


def test_cors(client: TestClient) -> None:
    site_origin = "http://localhost:8000"
    r = client.options("/v1/consent", headers={"Origin": site_origin, "Access-Control-Request-Method": "POST"})
    assert r.status_code == 204 and r.headers["access-control-allow-origin"] == site_origin
    assert "x-consent-device" in r.headers["access-control-allow-headers"]
    assert client.options("/v1/consent", headers={"Origin": "https://evil.example"}).status_code == 403
    r = client.post("/v1/opt-out", json={"site": "demo"}, headers={"Origin": site_origin})
    assert r.status_code == 200 and r.headers["access-control-allow-credentials"] == "true"
    r = client.get(
        "/v1/decision", params={"site": "demo", "purpose": "analytics"}, headers={"Origin": "https://evil.example"}
    )
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers  # answered, not CORS-granted
    own = client.post("/v1/opt-out", json={"site": "demo"}, headers={"Origin": "http://consent.test"})
    assert own.status_code == 200  # the service's own pages


def test_cookie_attributes(make_client: AppFactory) -> None:
    client = make_client(cookie_samesite="none", cookie_domain="consent.test")
    r = client.post("/v1/opt-out", json={"site": "demo"})
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=none" in cookie and "secure" in cookie and "domain=consent.test" in cookie
    max_age = int(cookie.split("max-age=")[1].split(";")[0])
    assert max_age >= 395 * 86400  # at least 13 months
    lax = make_client().post("/v1/opt-out", json={"site": "demo"}).headers["set-cookie"].lower()
    assert "samesite=lax" in lax and "secure" not in lax  # plain http in this test


def test_service_endpoints(client: TestClient) -> None:
    r = client.get("/.well-known/gpc.json")
    assert r.headers["content-type"] == "application/json"
    assert r.json()["gpc"] is True and len(r.json()["lastUpdate"]) == 10
    assert client.get("/healthz").json() == {"status": "ok"}
    gvl = {"version": 1, "policy_version": 5, "source": "bundled"}  # the bundled list: no CONSENT_GVL_URL
    assert client.get("/readyz").json() == {"status": "ready", "gvl": gvl}


def test_policy_version_change_expires_opt_in_consent(make_client: AppFactory) -> None:
    client = make_client()
    client.post("/v1/consent", json={"site": "demo", "action": "accept_all", "policy_version": "2020-01"}, headers=DE)
    assert reasons(decide(client, "analytics", headers=DE))["analytics"] == (False, "no_consent")
    assert reasons(decide(client, "analytics", headers=CA))["analytics"] == (True, "consent")  # not in opt_out


def test_user_agent_device_class_is_recorded(client: TestClient, redis_client: redis.Redis) -> None:
    iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"
    client.post("/v1/opt-out", json={"site": "demo"}, headers={"User-Agent": iphone})
    record = redis_client.hgetall(_only(redis_client, "*:dev:*"))
    assert record["dc"] == "mobile" and "ar" in record and record["c:advertising"].startswith("0:")
    assert record["rg"] == ""  # no region header, no default region: nothing invented
    assert CHROME not in str(record)


def _only(client: redis.Redis, pattern: str) -> str:
    keys = list(client.scan_iter(match=pattern))
    assert len(keys) == 1, keys
    return str(keys[0])


_LIFT_SITE = """
[[sites]]
id = "lift"
gpc_lift_by_opt_in = true
[[sites.purposes]]
id = "necessary"
kind = "necessary"
text.en.label = "Necessary"
[[sites.purposes]]
id = "ads"
kind = "advertising"
sale_share = true
text.en.label = "Ads"
"""


def test_decision_path_is_read_only_except_a_daily_refresh(
    client: TestClient, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = client.post("/v1/opt-out", json={"site": "demo"}, headers=CA).json()["device"]
    key = _only(redis_client, "*:dev:*")
    writes_before = _script_calls(redis_client)
    for _ in range(5):
        answer = decide(client, "advertising", headers={**CA, "X-Consent-Device": token})
        assert answer["decisions"]["advertising"]["reason"] == "opt_out" and answer["device"] == token
    assert _script_calls(redis_client) == writes_before  # the common case: one read, no write
    redis_client.pexpire(key, 60_000)  # about to lapse
    tomorrow = web.now_ms() + 86_400_000 + 1000
    monkeypatch.setattr(web, "now_ms", lambda: tomorrow)
    client.cookies.clear()
    r = client.get(
        "/v1/decision", params={"site": "demo", "purpose": "advertising"}, headers={**CA, "X-Consent-Device": token}
    )
    assert _script_calls(redis_client) == writes_before + 1  # the daily refresh
    assert redis_client.pttl(key) > 700 * 86_400_000  # an opt-out's record slid forward
    assert "cs_device_demo=" in r.headers["set-cookie"]  # re-signed: the cookie's lifetime slides too
    decide(client, "advertising", headers={**CA, "X-Consent-Device": r.json()["device"]})
    assert _script_calls(redis_client) == writes_before + 1  # at most once a day


def _script_calls(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return sum(int(v["calls"]) for k, v in stats.items() if k in ("cmdstat_evalsha", "cmdstat_eval"))


def test_errors_are_readable_cross_origin_with_retry_after_exposed(client: TestClient) -> None:
    origin = "http://localhost:8000"
    r = client.post(
        "/v1/consent", json={"site": "demo", "action": "custom", "choices": {"x": True}}, headers={"Origin": origin}
    )
    assert r.status_code == 422 and r.headers["access-control-allow-origin"] == origin
    assert "retry-after" in r.headers["access-control-expose-headers"]
    r = client.post("/v1/consent", json={"site": "zz", "action": "x"}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 400 and "access-control-allow-origin" not in r.headers  # not for any origin


def test_a_page_not_set_up_reads_why(client: TestClient, redis_client: redis.Redis) -> None:
    """An unlisted origin or an unknown site is a misconfigured page, not an outage: its banner may read
    the refusal (docs/banner.md) and tell the operator. That grants nothing: the body is the error
    alone, and the experience of a site is not answered to an origin it does not list."""
    evil = {"Origin": "https://evil.example", **CA}
    for method, path, kwargs, status, code in [
        ("GET", "/v1/sites/demo/experience", {}, 403, "forbidden_origin"),
        ("GET", "/v1/sites/nope/experience", {}, 404, "unknown_site"),
        ("POST", "/v1/opt-out", {"json": {"site": "demo"}}, 403, "forbidden_origin"),
        ("POST", "/v1/consent", {"json": {"site": "nope", "action": "accept_all"}}, 404, "unknown_site"),
    ]:
        r = client.request(method, path, headers=evil, **kwargs)  # type: ignore[arg-type]
        assert (r.status_code, r.json()["error"]) == (status, code), path
        assert set(r.json()) == {"error", "detail"}, path
        assert r.headers["access-control-allow-origin"] == "https://evil.example", path
        assert r.headers["access-control-allow-credentials"] == "true", path
        assert "set-cookie" not in r.headers, path
    assert redis_client.dbsize() == 0  # refused before anything was read or written
    # A preflight is still refused (a browser sends nothing after it), and the page's own origins
    # still get the experience.
    assert client.options("/v1/consent", headers={"Origin": "https://evil.example"}).status_code == 403
    r = client.get("/v1/sites/demo/experience", headers={"Origin": "http://localhost:8000", **CA})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "http://localhost:8000"
    assert client.get("/v1/sites/demo/experience", headers=CA).status_code == 200  # no Origin: a server


def test_gpc_query_values_follow_the_header_rule(client: TestClient) -> None:
    for query, expected in [
        ("gpc=1&gpc=0", True),
        ("gpc=0&gpc=1", True),
        ("gpc=1,0", True),
        ("gpc=0", False),
        ("gpc=true", False),
    ]:
        r = client.get(f"/v1/decision?site=demo&purpose=advertising&{query}", headers=CA)
        assert r.json()["gpc"] is expected, query
        client.cookies.clear()


def test_bots_choices_answer_as_made_and_their_refresh_writes_nothing(
    client: TestClient, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = client.post("/v1/opt-out", json={"site": "demo"}, headers={**CA, "User-Agent": GOOGLEBOT})
    assert reasons(r.json())["advertising"] == (False, "opt_out") and r.json()["usp"] == "1YYN"
    assert redis_client.dbsize() == 0
    token = client.post("/v1/opt-out", json={"site": "demo"}, headers=CA).json()["device"]
    snapshot = redis_client.hgetall(_only(redis_client, "*:dev:*"))
    tomorrow = web.now_ms() + 86_400_000
    monkeypatch.setattr(web, "now_ms", lambda: tomorrow)
    decide(client, headers={**CA, "User-Agent": GOOGLEBOT, "X-Consent-Device": token, "Sec-GPC": "1"})
    assert redis_client.hgetall(_only(redis_client, "*:dev:*")) == snapshot


def test_a_device_minted_by_a_cookieless_gpc_sighting_is_provisional_until_it_returns(
    client: TestClient, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = decide(client, "advertising", headers={**CA, "Sec-GPC": "1"})["device"]
    key = _only(redis_client, "*:dev:*")
    assert redis_client.pttl(key) <= 30 * 86_400_000  # server-side callers cannot pile up long-lived records
    tomorrow = web.now_ms() + 86_400_000
    monkeypatch.setattr(web, "now_ms", lambda: tomorrow)
    decide(client, "advertising", headers={**CA, "X-Consent-Device": token})  # it came back
    assert redis_client.pttl(key) > 390 * 86_400_000


def test_a_valid_header_wins_over_a_valid_cookie(client: TestClient) -> None:
    opted_out = client.post("/v1/opt-out", json={"site": "demo"}, headers=CA).json()["device"]
    client.cookies.clear()
    client.post("/v1/consent", json={"site": "demo", "action": "accept_all"}, headers=CA)  # cookie: another device
    answer = decide(client, "advertising", headers={**CA, "X-Consent-Device": opted_out})
    assert reasons(answer)["advertising"] == (False, "opt_out") and answer["device"] == opted_out


def test_cookie_is_secure_over_https(make_client: AppFactory) -> None:
    client = make_client()
    client.base_url = client.base_url.copy_with(scheme="https")  # type: ignore[assignment]
    cookie = client.post("/v1/opt-out", json={"site": "demo"}).headers["set-cookie"].lower()
    assert "secure" in cookie and "samesite=lax" in cookie and "httponly" in cookie


def test_custom_choice_naming_nothing_optional_is_refused(client: TestClient, redis_client: redis.Redis) -> None:
    for choices in [{}, {"necessary": False}]:
        r = client.post("/v1/consent", json={"site": "demo", "action": "custom", "choices": choices})
        assert r.status_code == 400 and r.json()["error"] == "invalid_body"
    assert redis_client.dbsize() == 0


def test_without_its_lifespan_the_app_refuses_plainly(settings: Settings) -> None:
    """The services are built in the lifespan (web/state.py). A client that skips it (not used as a
    context manager; uvicorn --lifespan off) gets a 500 that says nothing of the request from every
    route that needs them; what needs none still answers."""
    client = TestClient(create_app(settings, load_sites(None), TEST_KEYS), raise_server_exceptions=False)
    origin = {"origin": "http://localhost:8000"}
    missing = client.get("/no-such-page", headers=origin)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert client.get("/healthz").json() == {"status": "ok"}
    unbuilt = client.get("/v1/decision?site=demo&purpose=advertising", headers=origin)
    assert unbuilt.status_code == 500 and unbuilt.json() == {"error": "internal", "detail": "unexpected error"}
    with TestClient(create_app(settings, load_sites(None), TEST_KEYS)) as started:
        answered = started.get("/v1/decision?site=demo&purpose=advertising", headers=origin)
        assert answered.status_code == 200 and answered.headers["access-control-allow-origin"] == origin["origin"]
        unknown = started.get("/v1/decision?site=nope&purpose=advertising", headers=origin)
        assert unknown.json()["error"] == "unknown_site"
        assert unknown.headers["access-control-allow-origin"] == origin["origin"]  # errors are readable too
