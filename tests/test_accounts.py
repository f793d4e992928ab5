"""Account-wide opt-out against real Redis: linking, carrying an opt-out or GPC to every linked
device, unlinking, account access and deletion, and the admin calls' refusals."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import redis
from starlette.testclient import TestClient

from consent_service.consent.maintenance import drain_carries
from consent_service.core.clock import DAY_MS
from consent_service.store import Lifetimes, Store
from tests.conftest import CA, DE, AppFactory, snapshot, tampered

KEY = "k" * 8 + "a" * 32
AUTH = {"Authorization": f"Bearer {KEY}"}
ACCOUNT = "customer-4711@example.com"


def admin_client(make_client: AppFactory) -> TestClient:
    return make_client(admin_keys=((KEY, frozenset({"demo"})),))


def device(client: TestClient, **body: object) -> str:
    """A fresh browser that made one choice not about advertising (so it has a token)."""
    client.cookies.clear()
    payload = {"site": "demo", "action": "custom", "choices": {"analytics": True}, **body}
    return client.post("/v1/consent", json=payload, headers=CA).json()["device"]


def ads(client: TestClient, token: str, headers: dict[str, str] | None = None) -> dict:
    client.cookies.clear()
    r = client.get(
        "/v1/decision",
        params={"site": "demo", "purpose": ["advertising", "analytics"]},
        headers={**CA, **(headers or {}), "X-Consent-Device": token},
    )
    return r.json()


def link(client: TestClient, token: str, account: str = ACCOUNT, path: str = "link") -> dict:
    r = client.post(
        f"/v1/admin/accounts/{path}", json={"site": "demo", "account_id": account, "device": token}, headers=AUTH
    )
    assert r.status_code == 200, r.text
    return r.json()


def linked_pair_one_opted_out(client: TestClient) -> tuple[str, str]:
    """A phone and a laptop linked to one account; the phone then opts out (on itself)."""
    phone, laptop = device(client), device(client)
    link(client, phone)
    link(client, laptop)
    client.post("/v1/opt-out", json={"site": "demo"}, headers={**CA, "X-Consent-Device": phone})
    return phone, laptop


def test_an_opt_out_on_one_device_covers_every_linked_device(make_client: AppFactory) -> None:
    client = admin_client(make_client)
    phone = device(client)
    client.post("/v1/opt-out", json={"site": "demo"}, headers={**CA, "X-Consent-Device": phone})
    laptop = device(client)
    assert ads(client, laptop)["decisions"]["advertising"] == {"allowed": True, "reason": "default"}
    assert link(client, phone) == {"site": "demo", "linked": True, "account_opted_out": True, "devices": 1}
    assert link(client, laptop)["account_opted_out"] is True
    answer = ads(client, laptop)
    assert answer["decisions"]["advertising"] == {"allowed": False, "reason": "account_opt_out"}
    assert answer["decisions"]["analytics"] == {"allowed": True, "reason": "consent"}  # only sale/share purposes
    assert answer["usp"] == "1YYN" and answer["gpp"] == "DBABLA~CVQVAAAAAACA.QA"
    # A device linked later is covered at once, too.
    tablet = device(client)
    link(client, tablet)
    assert ads(client, tablet)["decisions"]["advertising"]["reason"] == "account_opt_out"
    # Unlinking stops it for the future; the device's own choices were never touched.
    assert link(client, laptop, path="unlink") == {"site": "demo", "linked": False}
    assert ads(client, laptop)["decisions"]["advertising"] == {"allowed": True, "reason": "default"}
    assert ads(client, phone)["decisions"]["advertising"]["reason"] == "account_opt_out"


def test_gpc_from_a_linked_device_opts_the_account_out(make_client: AppFactory) -> None:
    client = admin_client(make_client)
    laptop, phone = device(client), device(client)
    link(client, laptop)
    link(client, phone)
    assert ads(client, laptop)["decisions"]["advertising"]["allowed"] is True
    # The phone's browser sends GPC with a decision request: recorded, and carried to the account.
    assert ads(client, phone, {"Sec-GPC": "1"})["decisions"]["advertising"] == {"allowed": False, "reason": "gpc"}
    assert ads(client, laptop)["decisions"]["advertising"] == {"allowed": False, "reason": "account_opt_out"}


def test_a_consent_write_on_a_linked_device_answers_with_the_account_state(make_client: AppFactory) -> None:
    client = admin_client(make_client)
    _phone, laptop = linked_pair_one_opted_out(client)
    client.cookies.clear()
    r = client.post(
        "/v1/consent", json={"site": "demo", "action": "accept_all"}, headers={**DE, "X-Consent-Device": laptop}
    )
    assert r.json()["decisions"]["advertising"] == {"allowed": False, "reason": "account_opt_out"}
    assert r.json()["decisions"]["analytics"] == {"allowed": True, "reason": "consent"}


def test_a_lost_account_write_is_carried_over_at_the_next_visit(
    make_client: AppFactory, redis_client: redis.Redis
) -> None:
    client = admin_client(make_client)
    phone, laptop = linked_pair_one_opted_out(client)
    (account_key,) = redis_client.scan_iter(match="*:acct:*")
    redis_client.hdel(account_key, "ao")  # as if the account's write had failed after the device's
    assert ads(client, laptop)["decisions"]["advertising"]["allowed"] is True
    ads(client, phone)  # the phone's next visit notices and carries its opt-out to the account
    assert redis_client.hexists(account_key, "ao")
    assert ads(client, laptop)["decisions"]["advertising"]["reason"] == "account_opt_out"


def test_accounts_are_stored_by_pseudonym_only(make_client: AppFactory, redis_client: redis.Redis) -> None:
    client = admin_client(make_client)
    link(client, device(client))
    everything = " ".join(
        [*redis_client.scan_iter()]
        + [str(redis_client.hgetall(k)) for k in redis_client.scan_iter() if redis_client.type(k) == "hash"]
        + [str(redis_client.xrange(k)) for k in redis_client.scan_iter() if redis_client.type(k) == "stream"]
    )
    assert ACCOUNT not in everything and "customer" not in everything and "example.com" not in everything
    (key,) = redis_client.scan_iter(match="*:acct:*")
    assert redis_client.pttl(key) > 700 * 86_400_000  # kept like the audit


def test_account_access_and_deletion(make_client: AppFactory, redis_client: redis.Redis) -> None:
    client = admin_client(make_client)
    phone, laptop = device(client), device(client)
    client.post("/v1/opt-out", json={"site": "demo"}, headers={**CA, "X-Consent-Device": phone})
    link(client, phone)
    link(client, laptop)
    url = f"/v1/admin/accounts/{ACCOUNT}"
    data = client.get(url, params={"site": "demo"}, headers=AUTH).json()
    assert data["account"]["opted_out"] is True and data["account"]["linked_devices"] == 2
    assert len(data["devices"]) == 2 and all(d["record"] and d["history"] for d in data["devices"])
    assert {h["action"] for d in data["devices"] for h in d["history"]} >= {"custom", "opt_out", "link"}
    assert "ar" not in str(data["account"]) and ACCOUNT not in str(data)
    gone = client.delete(url, params={"site": "demo"}, headers=AUTH).json()
    assert gone["deleted"] is True and gone["devices_deleted"] == 2 and gone["kept"] == {"account_opted_out": True}
    assert "switch the sale back on" in gone["note"] and gone["note"].startswith("The account and the browsers")
    sentences = [part.strip() for part in gone["note"].split(".") if part.strip()]
    assert len(sentences) == len(set(sentences)) and gone["note"].count("switch the sale back on") == 1  # said once
    assert not list(redis_client.scan_iter(match="*:log:*"))  # every device's history is gone
    # The bare opt-out survives on both devices (the laptop only ever had the account's).
    assert ads(client, laptop)["decisions"]["advertising"] == {"allowed": False, "reason": "account_opt_out"}
    assert ads(client, phone)["decisions"]["advertising"]["allowed"] is False
    (account_key,) = redis_client.scan_iter(match="*:acct:*")
    assert set(redis_client.hgetall(account_key)) == {"ao", "del"}
    after = client.get(url, params={"site": "demo"}, headers=AUTH).json()
    assert after["devices"] == [] and after["account"]["opted_out"] is True
    # The requests are in the audit trail without any reference to the account after deletion.
    entries = [e for k in redis_client.scan_iter(match="*:audit") for _, e in redis_client.xrange(k)]
    requests = sorted((e["a"], e["rq"], e["sub"]) for e in entries if e.get("rq") and e.get("sub"))
    assert requests == [
        ("access", "access", "account"),
        ("access", "access", "account"),
        ("delete", "delete", "account"),
    ]
    assert all(e["ref"] == "" for e in entries if e["a"] == "delete")


def test_deleting_a_linked_device_keeps_the_accounts_opt_out(
    make_client: AppFactory, redis_client: redis.Redis
) -> None:
    client = admin_client(make_client)
    _phone, laptop = linked_pair_one_opted_out(client)
    client.cookies.clear()
    r = client.delete("/v1/me", params={"site": "demo"}, headers={"X-Consent-Device": laptop})
    assert r.json()["kept"] == {"choices": {}, "account_opted_out": True, "deleted": r.json()["kept"]["deleted"]}
    assert ads(client, laptop)["decisions"]["advertising"]["reason"] == "account_opt_out"
    (account_key,) = redis_client.scan_iter(match="*:acct:*")
    assert len([f for f in redis_client.hgetall(account_key) if f.startswith("d:")]) == 1  # the laptop left it


def test_admin_calls_refuse_without_the_right_key_and_write_nothing(
    make_client: AppFactory, redis_client: redis.Redis
) -> None:
    client = make_client(admin_keys=((KEY, frozenset({"demo"})), ("o" * 40, frozenset({"other"}))))
    token = device(client)
    before = snapshot(redis_client)
    body = {"site": "demo", "account_id": ACCOUNT, "device": token}
    for path in ("/v1/admin/accounts/link", "/v1/admin/accounts/unlink", "/v1/admin/agent-requests"):
        assert client.post(path, json=body).status_code == 401
        assert client.post(path, json=body, headers={"Authorization": "Bearer " + "x" * 40}).status_code == 401
        r = client.post(path, json=body, headers={"Authorization": "Bearer " + "o" * 40})
        assert r.status_code == 403 and r.json()["error"] == "forbidden"
    for method in ("GET", "DELETE"):
        assert client.request(method, f"/v1/admin/accounts/{ACCOUNT}", params={"site": "demo"}).status_code == 401
    assert snapshot(redis_client) == before


def test_hostile_admin_input_gets_a_4xx_and_changes_nothing(make_client: AppFactory, redis_client: redis.Redis) -> None:
    client = admin_client(make_client)
    token = device(client)
    before = snapshot(redis_client)
    url = "/v1/admin/accounts/link"
    bad = [
        {"site": "demo", "account_id": ACCOUNT},
        {"site": "demo", "account_id": "", "device": token},
        {"site": "demo", "account_id": "x" * 257, "device": token},
        {"site": "demo", "account_id": 42, "device": token},
        {"site": "demo", "account_id": ACCOUNT, "device": tampered(token)},
        {"site": "demo", "account_id": ACCOUNT, "device": token, "extra": 1},
        {"site": "nope", "account_id": ACCOUNT, "device": token},
        {"site": ["demo"], "account_id": ACCOUNT, "device": token},
    ]
    for body in bad:
        r = client.post(url, json=body, headers=AUTH)
        assert 400 <= r.status_code < 500 and r.json()["error"], body
    assert client.post(url, content=b"{nope", headers={**AUTH, "content-type": "application/json"}).status_code == 400
    assert client.post(url, content=b"[" * 20000, headers=AUTH).status_code == 413
    r = client.post(
        "/v1/admin/accounts/unlink", json={"site": "demo", "account_id": ACCOUNT, "device": token}, headers=AUTH
    )
    assert r.status_code == 404  # not linked to this account
    assert snapshot(redis_client) == before


def test_a_failed_account_write_is_made_good_without_the_device(
    make_client: AppFactory, redis_client: redis.Redis, redis_url: str
) -> None:
    client = admin_client(make_client)
    phone, laptop = device(client), device(client)
    link(client, phone)
    link(client, laptop)
    (account_key,) = redis_client.scan_iter(match="*:acct:*")
    saved = redis_client.dump(account_key)
    redis_client.delete(account_key)
    redis_client.set(account_key, "not a hash")  # the account's own write now fails (WRONGTYPE)
    r = client.post("/v1/opt-out", json={"site": "demo"}, headers={**CA, "X-Consent-Device": phone})
    assert r.status_code == 200 and r.json()["decisions"]["advertising"]["allowed"] is False
    redis_client.delete(account_key)
    redis_client.restore(account_key, 0, saved)  # type: ignore[arg-type]
    (carry_key,) = redis_client.scan_iter(match="*:carry")  # queued in the device's own atomic write
    assert redis_client.smembers(carry_key) == {account_key.rsplit(":", 1)[1]}
    assert ads(client, laptop)["decisions"]["advertising"]["allowed"] is True  # not yet carried over

    async def drain() -> int:
        store = Store.from_url(redis_url, Lifetimes(400 * DAY_MS, 750 * DAY_MS), timeout_s=1.0)
        try:
            return await drain_carries(store, ["demo"], 1.0)
        finally:
            await store.close()

    assert asyncio.run(drain()) == 1  # the service's drain, without the phone coming back
    assert ads(client, laptop)["decisions"]["advertising"] == {"allowed": False, "reason": "account_opt_out"}
    assert not redis_client.exists(carry_key)
    assert asyncio.run(drain()) == 0


def test_account_ids_may_hold_any_character(make_client: AppFactory) -> None:
    client = admin_client(make_client)
    odd = "org/eu/user 7?x=1#frag%2F"
    link(client, device(client), account=odd)
    r = client.get(f"/v1/admin/accounts/{quote(odd, safe='')}", params={"site": "demo"}, headers=AUTH)
    assert r.status_code == 200 and r.json()["account"]["linked_devices"] == 1
