"""Issue 11: the public write endpoints under abuse, against a real Redis.

- Anonymous writes (no valid device token) count against the per-client limit; over it an opt-out
  is honoured and carried in the token, a GPC request is decided as GPC, and nothing is written;
  the §7102 request metrics count what was recorded and report the rest apart (finding 1).
- A write is exempt from the limits only when every choice refuses and its device has a valid
  token (finding 4).
- A device token is bound to its site, each site has its own cookie, and tokens signed before that
  keep every stored opt-out reachable (finding 3).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import time
from importlib import resources
from typing import Any

import pytest
import redis
from itsdangerous import TimestampSigner
from starlette.testclient import TestClient

from consent_service.config.settings import Settings
from consent_service.consent.ratelimit import WATCH_MIN_OVER, ClientLimitWatch
from consent_service.core.identity import LEGACY_SALT, DeviceTokens, new_device_id
from consent_service.store.limits import KEY_PREFIX
from tests.conftest import CA, TEST_KEYS, AppFactory, snapshot

ADMIN = "abuse-admin-key-" + "a" * 32
DECIDE = {"purpose": "advertising"}
TOKENS = DeviceTokens(TEST_KEYS.signing, max_age_s=400 * 86_400)


def two_sites() -> str:
    """The demo site twice, as `alpha` and `beta` (a sale/share purpose each), on one service."""
    demo = resources.files("consent_service.config").joinpath("demo_site.toml").read_text("utf-8")
    return "\n".join(demo.replace('id = "demo"', f'id = "{name}"', 1) for name in ("alpha", "beta"))


def limited(make_client: AppFactory, sites: str | None = None, **limits: object) -> TestClient:
    overrides: dict[str, object] = {"admin_keys": ((ADMIN, frozenset({"*"})),), **limits}
    return make_client(sites, **overrides)


def opt_out(client: TestClient, site: str = "demo", **headers: str) -> dict[str, Any]:
    client.cookies.clear()  # a visitor without a token, every time
    r = client.post("/v1/opt-out", json={"site": site}, headers={**CA, **headers})
    assert r.status_code == 200, r.text
    return dict(r.json())


def decide(client: TestClient, site: str = "demo", **headers: str) -> dict[str, Any]:
    r = client.get("/v1/decision", params={"site": site, **DECIDE}, headers={**CA, **headers})
    assert r.status_code == 200, r.text
    return dict(r.json())


def request_metrics(client: TestClient, site: str = "demo") -> dict[str, Any]:
    client.app.state.consent.stats.wake()  # type: ignore[attr-defined]
    year = dt.datetime.now(dt.UTC).year
    r = client.get(
        "/v1/admin/request-metrics", params={"site": site, "year": year}, headers={"Authorization": f"Bearer {ADMIN}"}
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def held(r: redis.Redis) -> dict[str, bytes | None]:
    """Every key but the rate limiter's own counters (which count every write, by design)."""
    return {key: value for key, value in snapshot(r).items() if not key.startswith(KEY_PREFIX)}


def records(r: redis.Redis) -> set[str]:
    return {str(key) for key in r.scan_iter(match="cs1:*:dev:*")}


# ---- finding 1: anonymous writes are bounded --------------------------------------------------------


def test_anonymous_opt_outs_over_the_client_limit_are_honoured_carried_and_not_written(
    make_client: AppFactory, redis_client: redis.Redis
) -> None:
    client = limited(make_client, rate_limit_client="3/minute", forwarded_hops=1)
    flood = {"X-Forwarded-For": "203.0.113.7"}
    stored = [opt_out(client, **flood) for _ in range(3)]
    assert all("stored" not in answer for answer in stored)
    assert len(records(redis_client)) == 3
    before = held(redis_client)
    over = [opt_out(client, **flood) for _ in range(2)]
    assert held(redis_client) == before  # nothing written: no record, no history, no audit entry
    for answer in over:
        assert answer["stored"] is False  # as during an outage: carried in the signed token
        assert answer["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"}
        assert answer["usp"] == "1YYN"
        carried = TOKENS.verify(answer["device"], "demo")
        assert carried is not None and carried.pending is not None
    # The device comes back (from its own address, under its limit): its carried opt-out is
    # written then, with its time of receipt.
    client.cookies.clear()
    back = decide(client, **{"X-Consent-Device": over[0]["device"], "X-Forwarded-For": "198.51.100.2"})
    assert back["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"}
    assert len(records(redis_client)) == 4
    metrics = request_metrics(client)
    assert metrics["requests"]["opt_out"]["channels"]["banner_or_link"]["received"] == 4
    assert metrics["over_limit"] == {"opt_out": 2, "gpc": 0}


def test_the_no_js_form_over_the_limit_is_honoured_and_carried(
    make_client: AppFactory, redis_client: redis.Redis
) -> None:
    client = limited(make_client, rate_limit_client="1/minute")
    opt_out(client)  # the one write the client may make this minute
    before = held(redis_client)
    client.cookies.clear()
    page = client.get("/privacy/demo/opt-out", headers=CA)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    r = client.post("/privacy/demo/opt-out", data={"csrf": csrf.group(1), "lang": "en"}, headers=CA)
    assert r.status_code == 200 and 'class="done" role="status"' in r.text
    assert held(redis_client) == before
    carried = TOKENS.verify(client.cookies.get("cs_device_demo"), "demo")
    assert carried is not None and carried.pending is not None and carried.pending.source == "no_js_form"


def test_anonymous_gpc_over_the_client_limit_is_decided_as_gpc_and_not_recorded(
    make_client: AppFactory, redis_client: redis.Redis
) -> None:
    client = limited(make_client, rate_limit_client="3/minute")
    for _ in range(3):
        client.cookies.clear()
        answer = decide(client, **{"Sec-GPC": "1"})
        assert answer["device"]  # a first sighting is recorded and a device issued
    before = held(redis_client)
    for _ in range(2):
        client.cookies.clear()
        answer = decide(client, **{"Sec-GPC": "1"})
        assert answer["decisions"]["advertising"] == {"allowed": False, "reason": "gpc"}
        assert answer["gpc"] is True and answer["usp"] == "1YYN"
        assert "device" not in answer and "cs_device_demo" not in client.cookies
    assert held(redis_client) == before
    metrics = request_metrics(client)
    assert metrics["requests"]["opt_out"]["channels"]["gpc"]["received"] == 3
    assert metrics["over_limit"] == {"opt_out": 0, "gpc": 2}


def test_many_writes_over_the_client_limit_log_a_warning_naming_the_proxy_setting(
    make_client: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = limited(make_client, rate_limit_client="2/minute")
    with caplog.at_level(logging.WARNING, logger="consent_service"):
        for _ in range(2 + WATCH_MIN_OVER - 1):
            opt_out(client)
        assert not [r for r in caplog.records if "CONSENT_FORWARDED_HOPS" in r.getMessage()]
        opt_out(client)
        warnings = [r for r in caplog.records if "CONSENT_FORWARDED_HOPS" in r.getMessage()]
        for _ in range(5):
            opt_out(client)
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert "CONSENT_RATE_LIMIT_CLIENT (2/minute)" in warnings[0].getMessage()
    assert len([r for r in caplog.records if "CONSENT_FORWARDED_HOPS" in r.getMessage()]) == 1  # once a minute


# ---- finding 4: only refusals from a known device are exempt -----------------------------------------


MIXED = {"analytics": True, "personalization": True, "advertising": False}


def test_a_write_that_grants_anything_is_limited_even_when_it_refuses_a_sale(
    make_client: AppFactory, redis_client: redis.Redis
) -> None:
    client = limited(make_client, rate_limit_device="3/minute")
    token = opt_out(client)["device"]
    headers = {**CA, "X-Consent-Device": token}
    body = {"site": "demo", "action": "custom", "choices": MIXED}
    answers = [client.post("/v1/consent", json=body, headers=headers).status_code for _ in range(8)]
    assert answers == [200, 200, 200, 429, 429, 429, 429, 429]
    refusal = {"site": "demo", "action": "custom", "choices": {"analytics": False, "advertising": False}}
    assert {client.post("/v1/consent", json=refusal, headers=headers).status_code for _ in range(5)} == {200}
    assert {client.post("/v1/opt-out", json={"site": "demo"}, headers=headers).status_code for _ in range(5)} == {200}
    reject = {"site": "demo", "action": "reject_all"}
    assert {client.post("/v1/consent", json=reject, headers=headers).status_code for _ in range(5)} == {200}


def test_a_refusal_without_a_token_counts_against_the_client_limit(
    make_client: AppFactory, redis_client: redis.Redis
) -> None:
    client = limited(make_client, rate_limit_client="3/minute")
    codes = []
    for _ in range(5):
        client.cookies.clear()
        codes.append(client.post("/v1/consent", json={"site": "demo", "action": "reject_all"}, headers=CA).status_code)
    assert codes == [200, 200, 200, 429, 429]
    assert len(records(redis_client)) == 3


# ---- finding 3: tokens bound to their site -----------------------------------------------------------


def test_a_token_of_one_site_is_no_device_on_another(make_client: AppFactory) -> None:
    client = limited(make_client, two_sites())
    beta = opt_out(client, "beta")["device"]
    client.cookies.clear()
    on_alpha = decide(client, "alpha", **{"X-Consent-Device": beta})
    assert "device" not in on_alpha and on_alpha["decisions"]["advertising"]["reason"] == "default"
    experience = client.get("/v1/sites/alpha/experience", headers={**CA, "X-Consent-Device": beta}).json()
    assert "device" not in experience and experience["show"] is True
    me = client.get("/v1/me", params={"site": "alpha"}, headers={"X-Consent-Device": beta})
    assert me.status_code == 404 and me.json()["error"] == "not_found"
    assert client.get("/v1/me", params={"site": "beta"}, headers={"X-Consent-Device": beta}).status_code == 200
    # The site's cookie too: beta's cookie sent to alpha is not alpha's device.
    client.cookies.set("cs_device_beta", beta)
    assert "device" not in decide(client, "alpha")
    link = client.post(
        "/v1/admin/accounts/link",
        json={"site": "alpha", "account_id": "u1", "device": beta},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert link.status_code == 400 and link.json()["error"] == "invalid_body"


def test_each_site_has_its_own_cookie_on_one_service_host(make_client: AppFactory) -> None:
    client = limited(make_client, two_sites())
    client.cookies.clear()
    alpha = client.post("/v1/opt-out", json={"site": "alpha"}, headers=CA).json()["device"]
    beta = client.post("/v1/consent", json={"site": "beta", "action": "accept_all"}, headers=CA).json()["device"]
    assert client.cookies.get("cs_device_alpha") == alpha and client.cookies.get("cs_device_beta") == beta
    # One browser, both sites: neither overwrote the other.
    assert decide(client, "alpha")["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"}
    assert decide(client, "beta")["decisions"]["advertising"] == {"allowed": True, "reason": "consent"}


def legacy_token(device_id: str, pending: str = "") -> str:
    """A token as the code before this change minted it (tests/test_identity.py proves the signer
    byte for byte against one minted by that code)."""
    signer = TimestampSigner(list(reversed(TEST_KEYS.signing)), salt=LEGACY_SALT, digest_method=hashlib.sha256)
    return signer.sign(device_id + pending).decode()


def test_a_legacy_token_is_adopted_where_its_record_is_and_no_device_elsewhere(
    make_client: AppFactory, redis_client: redis.Redis
) -> None:
    client = limited(make_client, two_sites())
    bound = TOKENS.verify(opt_out(client, "alpha")["device"], "alpha")
    assert bound is not None
    old = legacy_token(bound.device_id)  # what the browser held before the upgrade
    for carrier in ("header", "legacy cookie"):
        client.cookies.clear()
        headers = {"X-Consent-Device": old} if carrier == "header" else {}
        if carrier == "legacy cookie":
            client.cookies.set("cs_device", old)
        answer = decide(client, "alpha", **headers)
        assert answer["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"}, carrier  # not lost
        renewed = TOKENS.verify(answer["device"], "alpha")  # re-signed, bound to alpha
        assert answer["device"] != old and renewed is not None and not renewed.legacy
        assert renewed.device_id == bound.device_id
        assert client.cookies.get("cs_device_alpha") == answer["device"]
    # On beta, which holds no record of it, it is no device: not echoed, no data, nothing written.
    client.cookies.clear()
    before = held(redis_client)
    on_beta = decide(client, "beta", **{"X-Consent-Device": old})
    assert "device" not in on_beta and on_beta["decisions"]["advertising"]["reason"] == "default"
    assert client.get("/v1/me", params={"site": "beta"}, headers={"X-Consent-Device": old}).status_code == 404
    assert held(redis_client) == before
    # A consent on beta with it makes a new device of beta's, never one under the legacy id.
    made = client.post(
        "/v1/consent", json={"site": "beta", "action": "accept_all"}, headers={**CA, "X-Consent-Device": old}
    )
    new = TOKENS.verify(made.json()["device"], "beta")
    assert new is not None and new.device_id != bound.device_id


def test_a_legacy_token_carrying_an_opt_out_never_loses_it(make_client: AppFactory, redis_client: redis.Redis) -> None:
    client = limited(make_client, two_sites())
    ghost = new_device_id()  # acknowledged during an outage, never stored anywhere
    old = legacy_token(ghost, f"~{int(time.time() * 1000) - 60_000}~banner")
    answer = decide(client, "alpha", **{"X-Consent-Device": old})
    assert answer["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"}
    settled = TOKENS.verify(answer["device"], "alpha")
    assert settled is not None and settled.pending is None and settled.device_id != ghost
    assert not [k for k in records(redis_client) if k.endswith(ghost)]  # nothing under the legacy id
    assert decide(client, "alpha", **{"X-Consent-Device": answer["device"]})["decisions"]["advertising"]["reason"] == (
        "opt_out"
    )


def test_a_legacy_token_links_an_account_only_where_its_record_is(make_client: AppFactory) -> None:
    client = limited(make_client, two_sites())
    bound = TOKENS.verify(opt_out(client, "alpha")["device"], "alpha")
    assert bound is not None
    old = legacy_token(bound.device_id)
    auth = {"Authorization": f"Bearer {ADMIN}"}
    for site, status in (("alpha", 200), ("beta", 400)):
        r = client.post("/v1/admin/accounts/link", json={"site": site, "account_id": "u1", "device": old}, headers=auth)
        assert r.status_code == status, (site, r.text)


def test_a_current_cookie_wins_over_a_legacy_header(make_client: AppFactory) -> None:
    """A banner may keep sending the token it saved before the upgrade after the no-JS page set a
    current cookie: the current device must be the one decided on."""
    client = limited(make_client, two_sites())
    stale = legacy_token(new_device_id())  # a device with no record on alpha
    current = opt_out(client, "alpha")["device"]  # leaves alpha's cookie set
    assert client.cookies.get("cs_device_alpha") == current
    answer = decide(client, "alpha", **{"X-Consent-Device": stale})
    assert answer["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"}
    assert answer["device"] == current


def test_carried_tokens_are_no_way_round_the_client_limit(make_client: AppFactory, redis_client: redis.Redis) -> None:
    """Tokens carried over the limit cost nothing to mint; bringing them back must not create
    records past the limit either: a carried opt-out that would create its record counts like the
    anonymous write it stands for, and over the limit stays carried (decided on, not written)."""
    client = limited(make_client, rate_limit_client="1/minute")
    opt_out(client)
    minted = [opt_out(client)["device"] for _ in range(10)]
    for token in minted:
        client.cookies.clear()
        back = decide(client, **{"X-Consent-Device": token})
        assert back["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"}  # still honoured
        assert back["device"] == token  # the carrying token stays as it is: nothing was written
        client.cookies.clear()
        again = client.post("/v1/opt-out", json={"site": "demo"}, headers={**CA, "X-Consent-Device": token}).json()
        assert again["stored"] is False and TOKENS.verify(again["device"], "demo").pending is not None  # type: ignore[union-attr]
    assert len(records(redis_client)) == 1
    metrics = request_metrics(client)
    assert metrics["requests"]["opt_out"]["received"] == 1
    assert metrics["over_limit"]["opt_out"] == 20


def test_a_legacy_cookie_carrying_an_opt_out_is_not_hidden_by_a_legacy_header(
    make_client: AppFactory, redis_client: redis.Redis
) -> None:
    """Before the upgrade the banner saved a token; during an outage the no-JS page set the one
    cookie with an opt-out carried for the same device. Both come back: the opt-out is kept."""
    client = limited(make_client, two_sites())
    client.cookies.clear()
    made = client.post("/v1/consent", json={"site": "alpha", "action": "accept_all"}, headers=CA).json()["device"]
    device = TOKENS.verify(made, "alpha")
    assert device is not None
    client.cookies.clear()
    time.sleep(0.002)  # the opt-out below is acknowledged after that consent (a later choice would win)
    client.cookies.set("cs_device", legacy_token(device.device_id, f"~{int(time.time() * 1000)}~no_js_form"))
    first = decide(client, "alpha", **{"X-Consent-Device": legacy_token(device.device_id)})
    assert first["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"}
    client.cookies.clear()
    later = decide(client, "alpha", **{"X-Consent-Device": first["device"]})  # the re-signed token alone
    assert later["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"}


def test_the_proxy_warning_counts_a_window_from_its_first_write(caplog: pytest.LogCaptureFixture) -> None:
    """The window starts with its first write, not on the clock's minute, so a burst is never split
    in two halves that each stay under the threshold; once a window, at most one warning."""
    watch = ClientLimitWatch(Settings(rate_limit_client="2/minute", forwarded_hops=0))
    with caplog.at_level(logging.WARNING, logger="consent_service"):
        for i in range(2 * WATCH_MIN_OVER):
            watch.count(over=i % 2 == 1, now_s=59.5 + i * 0.02)  # half over, across a clock minute
        assert len(caplog.records) == 1 and "CONSENT_FORWARDED_HOPS" in caplog.records[0].getMessage()
        for i in range(WATCH_MIN_OVER):
            watch.count(over=True, now_s=119.0 + i * 0.01)  # still the same window: no second warning
        assert len(caplog.records) == 1
        for i in range(WATCH_MIN_OVER):
            watch.count(over=True, now_s=120.0 + i * 0.01)  # a new window
        assert len(caplog.records) == 2
    behind = ClientLimitWatch(Settings(rate_limit_client="2/minute", forwarded_hops=1))
    for i in range(WATCH_MIN_OVER):
        behind.count(over=True, now_s=float(i))
    assert "one client" in behind.message() and "CONSENT_FORWARDED_HOPS=1" in behind.message()
