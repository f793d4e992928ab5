"""Security against real Redis: rate limits (never on an opt-out or a decision), nothing personal
stored (canary values scanned for in every key and value), key rotation, foreign origins."""

from __future__ import annotations

import redis
from starlette.testclient import TestClient

from consent_service.config.keys import Keys
from consent_service.config.settings import Settings
from consent_service.config.sites import load_sites
from consent_service.core.identity import DeviceTokens
from consent_service.web.app import create_app
from tests.conftest import CA, AppFactory, snapshot

CANARY_IP = "198.51.100.173"
CANARY_UA = "Mozilla/5.0 (X11; Linux x86_64) CanaryBrowser/7.7.7-zq9"
CANARY_ACCOUNT = "canary-account-4711-zq9@example.org"
ADMIN = "c" * 40


def test_writes_are_limited_per_device_but_opt_outs_and_decisions_never(make_client: AppFactory) -> None:
    client = make_client(rate_limit_device="3/minute", rate_limit_client=None)
    body = {"site": "demo", "action": "custom", "choices": {"analytics": True}}
    token = client.post("/v1/consent", json=body, headers=CA).json()["device"]  # a new device: no id to count yet
    for _ in range(3):
        assert client.post("/v1/consent", json=body, headers=CA).status_code == 200
    limited = client.post("/v1/consent", json=body, headers=CA)
    assert limited.status_code == 429 and limited.json()["error"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert client.get("/v1/me", params={"site": "demo"}).status_code == 429  # access records a request: a write
    opt_out = client.post("/v1/opt-out", json={"site": "demo"}, headers=CA)  # the privacy-protective choice
    assert opt_out.status_code == 200 and opt_out.json()["decisions"]["advertising"]["reason"] == "opt_out"
    for _ in range(10):
        r = client.get("/v1/decision", params={"site": "demo", "purpose": "advertising"}, headers=CA)
        assert r.status_code == 200 and r.json()["decisions"]["advertising"]["reason"] == "opt_out"
    client.cookies.clear()
    other = client.post("/v1/consent", json=body, headers=CA)  # another device is not limited
    assert other.status_code == 200 and other.json()["device"] != token


def test_writes_are_limited_per_client_address_behind_trusted_proxies(make_client: AppFactory) -> None:
    client = make_client(rate_limit_device=None, rate_limit_client="2/minute", forwarded_hops=1)
    body = {"site": "demo", "action": "accept_all"}

    def post(address: str) -> int:
        client.cookies.clear()  # a new device each time: only the address is shared
        return client.post(
            "/v1/consent", json=body, headers={**CA, "X-Forwarded-For": f"10.0.0.1, {address}"}
        ).status_code

    assert [post("203.0.113.5") for _ in range(3)] == [200, 200, 429]
    assert post("203.0.113.6") == 200  # the proxy's hop, not the client's own claim on the left
    spoofed = client.post("/v1/consent", json=body, headers={**CA, "X-Forwarded-For": "203.0.113.5, 203.0.113.7"})
    assert spoofed.status_code == 200  # a different last hop: a different client


def test_no_canary_value_is_stored_anywhere(make_client: AppFactory, redis_client: redis.Redis) -> None:
    client = make_client(admin_keys=((ADMIN, frozenset({"*"})),), forwarded_hops=1, rate_limit_client="1000/minute")
    headers = {**CA, "X-Forwarded-For": CANARY_IP, "X-Real-IP": CANARY_IP, "User-Agent": CANARY_UA, "Sec-GPC": "1"}
    client.get("/v1/decision", params={"site": "demo", "purpose": "advertising"}, headers=headers)
    token = client.post("/v1/consent", json={"site": "demo", "action": "accept_all"}, headers=headers).json()["device"]
    client.post("/v1/opt-out", json={"site": "demo"}, headers=headers)
    client.get("/v1/sites/demo/experience", headers=headers)
    client.get("/v1/me", params={"site": "demo"}, headers=headers)
    auth = {**headers, "Authorization": f"Bearer {ADMIN}"}
    link = {"site": "demo", "account_id": CANARY_ACCOUNT, "device": token}
    assert client.post("/v1/admin/accounts/link", json=link, headers=auth).status_code == 200
    agent = {"site": "demo", "account_id": CANARY_ACCOUNT, "type": "opt_out", "agent": "A", "reference": "r"}
    assert client.post("/v1/admin/agent-requests", json=agent, headers=auth).status_code == 200
    assert client.get(f"/v1/admin/accounts/{CANARY_ACCOUNT}", params={"site": "demo"}, headers=auth).status_code == 200
    assert client.get("/privacy/demo/opt-out", headers=headers).status_code == 200  # done (GPC): no form
    csrf = client.app.state.consent.forms.issue("demo", "opt-out")  # type: ignore[attr-defined]
    assert client.post("/privacy/demo/opt-out", data={"csrf": csrf}, headers=headers).status_code == 200
    client.delete("/v1/me", params={"site": "demo"}, headers=headers)
    dumped = snapshot(redis_client)
    assert len(dumped) > 5
    everything = b"\n".join(key.encode() + b"=" + (value or b"") for key, value in dumped.items())
    for canary in (CANARY_IP, CANARY_UA, "CanaryBrowser", CANARY_ACCOUNT, "canary-account", token):
        assert canary.encode() not in everything, canary


def test_key_rotation_keeps_every_device(settings: Settings) -> None:
    """CONSENT_SECRET_KEYS newest first: a token signed with the old key still verifies after a
    rotation (the device keeps its opt-out), and the answers carry tokens signed with the new key."""
    old, new = "o" * 40, "n" * 40

    def app(*signing: str) -> TestClient:
        keys = Keys(signing=signing, pseudonym="p" * 40)
        return TestClient(create_app(settings, load_sites(None), keys), base_url="http://consent.test")

    with app(old) as before:
        token = before.post("/v1/opt-out", json={"site": "demo"}, headers=CA).json()["device"]
    with app(new, old) as after:
        r = after.get(
            "/v1/decision", params={"site": "demo", "purpose": "advertising"}, headers={**CA, "X-Consent-Device": token}
        )
        assert r.json()["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"}
        fresh = after.post("/v1/opt-out", json={"site": "demo"}, headers={**CA, "X-Consent-Device": token})
        renewed = fresh.json()["device"]
    assert DeviceTokens((new,), 3600).verify(renewed, "demo") is not None  # signed with the newest key
    assert DeviceTokens((old,), 3600).verify(renewed, "demo") is None
    with app(new) as dropped:  # once the old key is retired, its tokens are just no device
        r = dropped.get(
            "/v1/decision", params={"site": "demo", "purpose": "advertising"}, headers={**CA, "X-Consent-Device": token}
        )
        assert r.status_code == 200 and r.json()["decisions"]["advertising"]["reason"] == "default"


HTML_PAGES = [
    "/privacy/demo/opt-out",
    "/privacy/demo/notice",
    "/privacy/demo/data",
    "/privacy/nope/opt-out",
    "/demo",
    "/admin/login",
]


def test_every_html_page_carries_the_security_headers(client: TestClient) -> None:
    for path in HTML_PAGES:
        r = client.get(path)
        assert r.headers["content-type"].startswith("text/html"), path
        csp = r.headers["content-security-policy"]
        assert ("frame-ancestors 'none'" in csp and "default-src 'none'" in csp) or "default-src 'self'" in csp, path
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, path
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["referrer-policy"] in ("same-origin", "no-referrer", "strict-origin-when-cross-origin"), path


def test_state_changing_calls_from_a_foreign_origin_write_nothing(
    client: TestClient, redis_client: redis.Redis
) -> None:
    token = client.post("/v1/consent", json={"site": "demo", "action": "accept_all"}, headers=CA).json()["device"]
    before = snapshot(redis_client)
    evil = {**CA, "Origin": "https://evil.example", "X-Consent-Device": token}
    calls = [
        ("POST", "/v1/consent", {"json": {"site": "demo", "action": "reject_all"}}),
        ("POST", "/v1/opt-out", {"json": {"site": "demo"}}),
        ("GET", "/v1/me?site=demo", {}),
        ("DELETE", "/v1/me?site=demo", {}),
    ]
    for method, path, extra in calls:
        r = client.request(method, path, headers=evil, **extra)  # type: ignore[arg-type]
        assert r.status_code == 403 and r.json()["error"] == "forbidden_origin", path
    for form in ("/privacy/demo/opt-out", "/privacy/demo/data"):
        csrf = client.get(form).text.split('name="csrf" value="')[1].split('"')[0]
        r = client.post(form, data={"csrf": csrf}, headers=evil)
        assert r.status_code == 403, form
    assert snapshot(redis_client) == before


def test_a_refusal_of_sale_is_never_rate_limited(make_client: AppFactory) -> None:
    client = make_client(rate_limit_device="1/minute", rate_limit_client="1/minute")
    body = {"site": "demo", "action": "accept_all"}
    client.post("/v1/consent", json=body, headers=CA)
    client.post("/v1/consent", json=body, headers=CA)
    assert client.post("/v1/consent", json=body, headers=CA).status_code == 429
    for refusal in (
        {"site": "demo", "action": "reject_all"},
        {"site": "demo", "action": "custom", "choices": {"advertising": False}},
    ):
        r = client.post("/v1/consent", json=refusal, headers=CA)
        assert r.status_code == 200 and r.json()["decisions"]["advertising"]["reason"] == "opt_out"
