"""Issue 7: every opt-out, first GPC signal, withdrawn consent and deletion queues one event per
concerned partner, in the same script as the change (store/outbox.py), and the admin listing shows
them. Delivery itself is tests/test_delivery.py."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import time
from importlib import resources
from typing import Any

import pytest
import redis
from starlette.testclient import TestClient

from consent_service.config.sites import parse_sites
from consent_service.config.validator import ConfigError
from consent_service.core.clock import DAY_MS
from consent_service.core.partner import SubjectKind, partner_key, subject_id
from consent_service.rights.request_metrics import business_days
from consent_service.store import Lifetimes, Store, outbox
from consent_service.store.scripts import OUTBOX, lua_file
from tests.conftest import CA, AppFactory
from tests.test_accounts import ACCOUNT, KEY, link

AUTH = {"Authorization": f"Bearer {KEY}"}
DE = {"CloudFront-Viewer-Country": "DE"}
SECRET = "partner-secret-" + "x" * 32
PARTNERS = f"""
[[sites.partners]]
name = "adnet"
url = "https://adnet.example/consent-hook"
purposes = ["advertising"]
secret = "{SECRET}"

[[sites.partners]]
name = "metrics"
url = "http://127.0.0.1:9/hook"
purposes = ["analytics"]
events = ["consent_withdrawn", "deletion"]
secret = "{SECRET}"
"""


def with_partners() -> str:
    demo = resources.files("consent_service.config").joinpath("demo_site.toml").read_text("utf-8")
    return demo + PARTNERS  # appended tables belong to the last (the only) [[sites]]


@pytest.fixture
def api(make_client: AppFactory) -> TestClient:
    return make_client(with_partners(), admin_keys=((KEY, frozenset({"demo"})),))


def events(r: redis.Redis) -> list[dict[str, str]]:
    """Every outbox entry of every bucket (on a cluster, of every master), oldest first."""
    found = [(entry_id, fields) for key in r.scan_iter(match="cs1:*:out") for entry_id, fields in r.xrange(key)]
    found.sort(key=lambda item: tuple(int(part) for part in item[0].split("-")))
    return [fields for _, fields in found]


def kinds(r: redis.Redis) -> list[tuple[str, str]]:
    return [(e["ty"], e["pt"]) for e in events(r)]


def opt_out(api: TestClient, token: str | None = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    api.cookies.clear()
    extra = {"X-Consent-Device": token} if token else {}
    r = api.post("/v1/opt-out", json={"site": "demo"}, headers={**CA, **extra, **(headers or {})})
    assert r.status_code == 200, r.text
    return r.json()


def consent(api: TestClient, headers: dict[str, str], token: str | None = None, **body: object) -> str:
    api.cookies.clear()
    extra = {"X-Consent-Device": token} if token else {}
    r = api.post("/v1/consent", json={"site": "demo", **body}, headers={**headers, **extra})
    assert r.status_code == 200, r.text
    return str(r.json()["device"])


def test_an_opt_out_tells_the_partners_in_the_refused_purpose_once(api: TestClient, redis_client: redis.Redis) -> None:
    answer = opt_out(api)
    assert kinds(redis_client) == [("opt_out", "adnet")]  # metrics takes analytics only, and no opt-outs
    event = events(redis_client)[0]
    assert event["sk"] == "device" and event["rg"] == "US-CA" and event["rm"] == "opt_out"
    assert "advertising=0" in event["c"].split(",")
    assert len(event["sub"]) == 32 and event["sub"] not in answer["device"]  # a pseudonym, never our token
    opt_out(api, answer["device"])  # a second click changes nothing: no second event
    assert len(events(redis_client)) == 1


def test_a_first_gpc_signal_is_an_event_and_a_repeated_one_is_not(api: TestClient, redis_client: redis.Redis) -> None:
    api.cookies.clear()
    query = {"site": "demo", "purpose": "advertising"}
    first = api.get("/v1/decision", params=query, headers={**CA, "Sec-GPC": "1"}).json()
    assert kinds(redis_client) == [("gpc", "adnet")]
    assert events(redis_client)[0]["g"] == "1"
    api.get("/v1/decision", params=query, headers={**CA, "Sec-GPC": "1", "X-Consent-Device": first["device"]})
    assert len(events(redis_client)) == 1


def test_withdrawn_consents_are_events_for_the_purposes_partners(api: TestClient, redis_client: redis.Redis) -> None:
    # In an opt_in region nothing was sold before consent: refusing is a withdrawal, not an opt-out.
    token = consent(api, DE, action="accept_all")
    assert events(redis_client) == []  # granting tells nobody
    consent(api, DE, token, action="reject_all")
    assert sorted(kinds(redis_client)) == [("consent_withdrawn", "adnet"), ("consent_withdrawn", "metrics")]
    # In California, dropping only analytics tells only the analytics partner.
    us = consent(api, CA, action="accept_all")
    consent(api, CA, us, action="custom", choices={"analytics": False, "advertising": True})
    assert kinds(redis_client)[2:] == [("consent_withdrawn", "metrics")]


def test_a_first_refusal_in_an_opt_in_region_tells_nobody(api: TestClient, redis_client: redis.Redis) -> None:
    consent(api, DE, action="reject_all")  # nothing was granted, so nothing was shared
    assert events(redis_client) == []


def test_the_no_js_page_and_an_agent_are_opt_outs_too(api: TestClient, redis_client: redis.Redis) -> None:
    api.cookies.clear()
    page = api.get("/privacy/demo/opt-out", headers=CA)
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    r = api.post("/privacy/demo/opt-out", data={"csrf": csrf, "lang": "en"}, headers=CA)
    assert r.status_code == 200
    agent = {"site": "demo", "account_id": "acct-9", "type": "opt_out", "agent": "Permission Slip", "reference": "r-1"}
    assert api.post("/v1/admin/agent-requests", json=agent, headers=AUTH).status_code == 200
    found = events(redis_client)
    assert [(e["ty"], e["pt"], e["s"], e["sk"]) for e in found] == [
        ("opt_out", "adnet", "no_js_form", "device"),
        ("opt_out", "adnet", "agent", "account"),
    ]


def test_an_account_opt_out_names_the_account_and_every_linked_device(
    api: TestClient, redis_client: redis.Redis
) -> None:
    """Partners know devices: the account's opt-out names each linked device by that partner's own
    id of it (computed in the account's script, the same as the answers' `partner_ids`)."""
    phone = consent(api, CA, action="custom", choices={"analytics": True})
    laptop = consent(api, CA, action="custom", choices={"analytics": True})
    link(api, phone)
    link(api, laptop)
    laptop_ids = opt_out(api, laptop)["partner_ids"]
    api.cookies.clear()
    phone_ids = api.get("/v1/sites/demo/experience", headers={**CA, "X-Consent-Device": phone}).json()["partner_ids"]
    found = events(redis_client)
    assert sorted((e["ty"], e["sk"]) for e in found) == [
        ("opt_out", "account"),
        ("opt_out", "device"),  # the laptop's own
        ("opt_out", "device"),  # the account's fan-out: the phone
        ("opt_out", "device"),  # and the laptop again (partners drop what they already applied)
    ]
    fanned = [e for e in found if e["sk"] == "device" and e["ev"].count(".") == 2]
    assert sorted(e["sub"] for e in fanned) == sorted([phone_ids["adnet"], laptop_ids["adnet"]])
    assert all(e["pt"] == "adnet" for e in found)  # metrics takes no opt-outs
    agent = {"site": "demo", "account_id": ACCOUNT, "type": "opt_out", "agent": "A", "reference": "r-2"}
    api.post("/v1/admin/agent-requests", json=agent, headers=AUTH)
    assert len(events(redis_client)) == 4  # already opted out: no new event


def test_a_deletion_tells_every_partner_that_wants_it_without_the_audit_reference(
    api: TestClient, redis_client: redis.Redis
) -> None:
    token = opt_out(api)["device"]
    api.cookies.clear()
    r = api.delete("/v1/me", params={"site": "demo"}, headers={**CA, "X-Consent-Device": token})
    assert r.status_code == 200, r.text
    found = events(redis_client)
    assert [(e["ty"], e["pt"]) for e in found] == [("opt_out", "adnet"), ("deletion", "adnet"), ("deletion", "metrics")]
    opted, deleted_adnet, deleted_metrics = found
    assert all("ref" not in e for e in found)  # never the audit reference: a deletion cuts that tie
    assert deleted_adnet["sub"] == opted["sub"]  # stable per partner: the partner can match them
    assert deleted_metrics["sub"] != deleted_adnet["sub"]  # unrelated across partners
    assert "advertising=0" in deleted_adnet["c"].split(",")  # the tombstone keeps the opt-out
    assert deleted_adnet["ev"] == deleted_metrics["ev"]  # one event, one id for every partner
    again = api.delete("/v1/me", params={"site": "demo"}, headers={**CA, "X-Consent-Device": token})
    assert again.status_code == 200 and len(events(redis_client)) == 3  # a tombstone deleted again: no news


def test_without_partners_nothing_is_queued(client: TestClient, redis_client: redis.Redis) -> None:
    opt_out(client)
    client.get("/v1/decision", params={"site": "demo", "purpose": "advertising"}, headers={**CA, "Sec-GPC": "1"})
    assert list(redis_client.scan_iter(match="cs1:*:out")) == []


def test_the_listing_shows_pending_deliveries_and_refuses_bad_queries(api: TestClient) -> None:
    opt_out(api)
    consent(api, DE, consent(api, DE, action="accept_all"), action="reject_all")
    r = api.get("/v1/admin/deliveries", params={"site": "demo"}, headers=AUTH)
    assert r.status_code == 200, r.text
    listed = r.json()["deliveries"]
    assert sorted((d["type"], d["partner"], d["status"]) for d in listed) == [
        ("consent_withdrawn", "adnet", "pending"),
        ("consent_withdrawn", "metrics", "pending"),
        ("opt_out", "adnet", "pending"),
    ]
    assert all(d["attempts"] == 0 and d["delivered"] is None for d in listed)
    only = api.get("/v1/admin/deliveries", params={"site": "demo", "partner": "metrics"}, headers=AUTH).json()
    assert [d["partner"] for d in only["deliveries"]] == ["metrics"]
    for name in ("adnet", "metrics"):  # a page of one, filtered by partner, still finds it
        one = {"site": "demo", "partner": name, "limit": "1"}
        page = api.get("/v1/admin/deliveries", params=one, headers=AUTH).json()["deliveries"]
        assert [d["partner"] for d in page] == [name]
    none = api.get("/v1/admin/deliveries", params={"site": "demo", "status": "dead"}, headers=AUTH).json()
    assert none["deliveries"] == []
    for bad in ({"partner": "nobody"}, {"status": "lost"}, {"limit": "0"}, {"limit": "x"}):
        refused = api.get("/v1/admin/deliveries", params={"site": "demo", **bad}, headers=AUTH)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_body", bad
    assert api.get("/v1/admin/deliveries", params={"site": "demo"}).status_code == 401
    replay = api.post("/v1/admin/deliveries/replay", json={"site": "demo", "partner": "nobody"}, headers=AUTH)
    assert replay.status_code == 400
    assert api.post("/v1/admin/deliveries/replay", json={"site": "demo", "x": 1}, headers=AUTH).status_code == 400
    nothing = api.post("/v1/admin/deliveries/replay", json={"site": "demo"}, headers=AUTH)
    assert nothing.status_code == 200 and nothing.json()["replayed"] == 0


def test_the_listing_limit_takes_ascii_digits_only(api: TestClient) -> None:
    """str.isdigit() is true for "²", which int() refuses (a 500), and int() reads other scripts'
    digits: the limit is ASCII digits (digits.ascii_int) or a 400."""
    for limit in ("²", "١٢", "１０", "1²", " 10", "+10", "1_0", "1001", "9" * 5000):
        r = api.get("/v1/admin/deliveries", params={"site": "demo", "limit": limit}, headers=AUTH)
        assert (r.status_code, r.json()["error"]) == (400, "invalid_body"), limit
    assert api.get("/v1/admin/deliveries", params={"site": "demo", "limit": "10"}, headers=AUTH).status_code == 200


def test_a_partner_url_must_be_https_except_to_loopback() -> None:
    for url in ("http://adnet.example/hook", "ftp://x/y", "https://user:pw@adnet.example/", "http://10.0.0.1/"):
        with pytest.raises(ConfigError, match="url"):
            parse_sites(with_partners().replace("https://adnet.example/consent-hook", url), source="<t>")
    for url in ("http://localhost:8080/h", "http://[::1]:9/h", "https://adnet.example:8443/h"):
        parse_sites(with_partners().replace("https://adnet.example/consent-hook", url), source="<t>")
    short = with_partners().replace(SECRET, "too-short")
    with pytest.raises(ConfigError, match="at least 32"):
        parse_sites(short, source="<t>")


def run(coro_factory: Any, redis_url: str) -> Any:
    """Run `coro_factory(store)` against a store of its own (closed after)."""

    async def main() -> Any:
        store = Store.from_url(redis_url, Lifetimes(400 * DAY_MS, 750 * DAY_MS), timeout_s=2.0)
        try:
            return await coro_factory(store)
        finally:
            await store.close()

    return asyncio.run(main())


def test_leases_retries_dead_letters_and_replay(api: TestClient, redis_url: str, redis_client: redis.Redis) -> None:
    """The queue's rules, at the store: a lease is exclusive until it runs out; a retry waits for its
    time; a dead entry waits for a replay; a delivery is final, recorded in the audit and counted."""
    opt_out(api)
    now = int(time.time() * 1000)

    async def scenario(store: Store) -> dict[str, Any]:
        box = store.outbox
        (bucket,) = await box.due_buckets("demo", now, 2.0)
        first = await box.claim("demo", bucket, now_ms=now, lease_ms=60_000, limit=10, token="w1", timeout_s=2.0)
        rival = await box.claim("demo", bucket, now_ms=now, lease_ms=60_000, limit=10, token="w2", timeout_s=2.0)
        # The lease runs out: another worker takes the entry; the first one's late failure changes
        # nothing in the schedule (it is recorded as an attempt all the same).
        later = now + 61_000
        taken = await box.claim("demo", bucket, now_ms=later, lease_ms=60_000, limit=10, token="w2", timeout_s=2.0)
        late = await box.settle(first[0], outcome="retry", result="503", now_ms=later, next_ms=later + 5, timeout_s=2.0)
        ours = await box.settle(
            taken[0], outcome="retry", result="timeout", now_ms=later, next_ms=later + 500, timeout_s=2.0
        )
        early = await box.claim("demo", bucket, now_ms=later + 100, lease_ms=1000, limit=10, token="w3", timeout_s=2.0)
        due = await box.claim("demo", bucket, now_ms=later + 600, lease_ms=1000, limit=10, token="w3", timeout_s=2.0)
        await box.settle(due[0], outcome="dead", result="503", now_ms=later + 700, timeout_s=2.0)
        dead = await box.listing("demo", "dead", partner=None, limit=10, timeout_s=2.0)
        after_dead = await box.due_buckets("demo", later + 10**9, 2.0)
        replayed = await box.replay("demo", "adnet", later + 800, 2.0)
        again = await box.claim("demo", bucket, now_ms=later + 800, lease_ms=1000, limit=10, token="w4", timeout_s=2.0)
        await box.settle(again[0], outcome="delivered", result="200", now_ms=later + 900, timeout_s=2.0)
        done = await box.listing("demo", "delivered", partner="adnet", limit=10, timeout_s=2.0)
        return {
            "first": len(first),
            "rival": len(rival),
            "taken": len(taken),
            "late": late,
            "ours": ours,
            "early": len(early),
            "due": len(due),
            "dead": dead,
            "after_dead": after_dead,
            "replayed": replayed,
            "again": again,
            "done": done,
        }

    seen = run(scenario, redis_url)
    assert (seen["first"], seen["rival"], seen["taken"]) == (1, 0, 1)  # one holder at a time
    assert (seen["late"], seen["ours"]) == (False, True)
    assert (seen["early"], seen["due"]) == (0, 1)  # a retry waits for its time
    assert [d.status for d in seen["dead"]] == ["dead"] and seen["after_dead"] == []  # dead: not due any more
    assert seen["replayed"] == 1 and seen["again"][0].attempts == 3 and seen["again"][0].window_start_ms > now
    (done,) = seen["done"]
    assert done.status == "delivered" and done.attempts == 4 and done.last_result == "200"
    attempts = [e for k in redis_client.scan_iter(match="cs1:*:att") for _, e in redis_client.xrange(k)]
    assert sorted(a["o"] for a in attempts) == ["dead", "delivered", "retry", "retry"]
    audit = api.get("/v1/admin/audit", params={"site": "demo", "format": "jsonl"}, headers=AUTH).text.splitlines()
    notified = [json.loads(line) for line in audit if '"partner_notified"' in line]
    assert len(notified) == 1 and notified[0]["partner"] == "adnet" and notified[0]["event_type"] == "opt_out"
    assert notified[0]["event_time"] <= notified[0]["time"] and notified[0]["source"] == "partner"
    assert sum('"partner_failed"' in line for line in audit) == 1  # the dead letter is on record too
    (change,) = [json.loads(line) for line in audit if '"action":"opt_out"' in line.replace(" ", "")]
    raw = [e for k in redis_client.scan_iter(match="cs1:*:audit") for _, e in redis_client.xrange(k)]
    (own,) = [e for e in raw if e.get("a") == "opt_out"]
    assert notified[0]["event_id"] == own["ev"] + ".opt_out" and change["ref"]  # the delivery ties to the change
    year = dt.datetime.now(dt.UTC).year
    metrics = api.get("/v1/admin/request-metrics", params={"site": "demo", "year": year}, headers=AUTH).json()
    assert metrics["partners"]["adnet"]["notified"] == 1 and metrics["partners"]["adnet"]["by_type"] == {"opt_out": 1}
    assert metrics["partners"]["adnet"]["over_15_business_days"] == 0 and metrics["partners"]["adnet"]["failed"] == 1
    assert events(redis_client) == []  # delivered: the entry, and its pseudonymous subject, are gone


def test_a_late_delivery_is_final_whatever_the_lease_holder_says(
    api: TestClient, redis_url: str, redis_client: redis.Redis
) -> None:
    opt_out(api)
    now = int(time.time() * 1000)

    async def scenario(store: Store) -> tuple[list[int], list[str], list[str]]:
        box = store.outbox
        (bucket,) = await box.due_buckets("demo", now, 2.0)
        (slow,) = await box.claim("demo", bucket, now_ms=now, lease_ms=1000, limit=5, token="w1-1", timeout_s=2.0)
        (fast,) = await box.claim(
            "demo", bucket, now_ms=now + 2000, lease_ms=1000, limit=5, token="w2-1", timeout_s=2.0
        )
        await box.settle(slow, outcome="delivered", result="200", now_ms=now + 2100, timeout_s=2.0)  # late, but true
        await box.settle(fast, outcome="retry", result="503", now_ms=now + 2200, next_ms=now + 2300, timeout_s=2.0)
        due = await box.due_buckets("demo", now + 10**8, 2.0)
        pending = await box.listing("demo", "pending", partner=None, limit=5, timeout_s=2.0)
        done = await box.listing("demo", "delivered", partner=None, limit=5, timeout_s=2.0)
        return due, [d.status for d in pending], [d.status for d in done]

    assert run(scenario, redis_url) == ([], [], ["delivered"])


def test_business_days_skip_weekends() -> None:
    friday = int(dt.datetime(2026, 11, 27, 18, tzinfo=dt.UTC).timestamp() * 1000)
    day = 86_400_000
    assert business_days(friday, friday) == 0
    assert business_days(friday, friday + day) == 0  # Saturday
    assert business_days(friday, friday + 3 * day) == 1  # Monday
    assert business_days(friday, friday + 21 * day) == 15  # three weeks later
    assert business_days(friday, friday + 22 * day) == 15  # a Saturday: still 15


def test_the_hourly_pass_forgets_settled_deliveries_past_retention_but_never_pending_ones(
    api: TestClient, redis_url: str, redis_client: redis.Redis
) -> None:
    opt_out(api)
    opt_out(api)
    now = int(time.time() * 1000)

    async def scenario(store: Store) -> tuple[int, int]:
        box = store.outbox
        (first, *_) = await box.due_buckets("demo", now, 2.0)
        (claimed,) = await box.claim("demo", first, now_ms=now, lease_ms=1000, limit=10, token="t", timeout_s=2.0)
        await box.settle(claimed, outcome="delivered", result="200", now_ms=now, timeout_s=2.0)
        kept = await box.trim("demo", now, 5.0)  # delivered at the cutoff itself: kept
        gone = await box.trim("demo", now + 1, 5.0)
        return kept, gone

    assert run(scenario, redis_url) == (0, 1)
    left = api.get("/v1/admin/deliveries", params={"site": "demo"}, headers=AUTH).json()["deliveries"]
    assert [d["status"] for d in left] == ["pending"]  # the other opt-out's, never trimmed
    assert len(events(redis_client)) == 1


def test_answers_carry_each_partners_id_of_the_device_the_same_as_in_its_events(
    api: TestClient, redis_client: redis.Redis
) -> None:
    answer = opt_out(api)
    ids = answer["partner_ids"]
    assert set(ids) == {"adnet", "metrics"} and ids["adnet"] != ids["metrics"]
    (event,) = events(redis_client)
    assert event["sub"] == ids["adnet"]  # the page hands this to adnet's tag; adnet matches the webhook on it
    api.cookies.clear()
    later = api.get("/v1/sites/demo/experience", headers={**CA, "X-Consent-Device": answer["device"]}).json()
    assert later["partner_ids"] == ids
    first = api.get("/v1/sites/demo/experience", headers=CA).json()
    assert "partner_ids" not in first  # no device, no ids


def test_sites_without_partners_carry_no_partner_ids(client: TestClient) -> None:
    assert "partner_ids" not in opt_out(client)


def test_a_device_linked_later_to_an_opted_out_account_is_named_to_the_partners(
    api: TestClient, redis_client: redis.Redis
) -> None:
    agent = {"site": "demo", "account_id": ACCOUNT, "type": "opt_out", "agent": "A", "reference": "r-3"}
    assert api.post("/v1/admin/agent-requests", json=agent, headers=AUTH).status_code == 200
    assert kinds(redis_client) == [("opt_out", "adnet")]  # the account (no device linked yet)
    tablet = consent(api, CA, action="custom", choices={"analytics": True})
    link(api, tablet)
    link(api, tablet)  # linking again changes nothing and tells nobody again
    found = events(redis_client)
    assert [(e["ty"], e["sk"], e["s"]) for e in found] == [
        ("opt_out", "account", "agent"),
        ("opt_out", "device", "account"),
    ]
    api.cookies.clear()
    ids = api.get("/v1/sites/demo/experience", headers={**CA, "X-Consent-Device": tablet}).json()["partner_ids"]
    assert found[1]["sub"] == ids["adnet"] and "advertising=0" in found[1]["c"].split(",")
    refuser = opt_out(api)["device"]  # opted out on its own: linking it tells nothing new
    link(api, refuser)
    assert len(events(redis_client)) == 3


def test_replay_in_batches_takes_only_the_partner_asked_for(
    api: TestClient, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "REPLAY_BATCH", 2)  # a few entries, many batches
    for _ in range(3):
        token = opt_out(api)["device"]  # adnet's opt_out
        api.cookies.clear()
        api.delete("/v1/me", params={"site": "demo"}, headers={**CA, "X-Consent-Device": token})  # both partners'
    now = int(time.time() * 1000)

    async def scenario(store: Store) -> tuple[int, int, int]:
        box = store.outbox
        for bucket in await box.due_buckets("demo", now, 2.0):
            for c in await box.claim("demo", bucket, now_ms=now, lease_ms=1000, limit=20, token="t", timeout_s=2.0):
                await box.settle(c, outcome="dead", result="503", now_ms=now, timeout_s=2.0)
        metrics = await box.replay("demo", "metrics", now + 1, 2.0)
        rest = await box.replay("demo", None, now + 2, 2.0)
        again = await box.replay("demo", None, now + 3, 2.0)
        return metrics, rest, again

    assert run(scenario, redis_url) == (3, 6, 0)  # metrics' 3 deletions; then adnet's 3 opt-outs and 3 deletions


def test_the_scripts_partner_subject_is_the_same_function_as_pythons(redis_client: redis.Redis) -> None:
    """The account fan-out names devices with ids computed in Lua (HMAC-SHA1 on redis.sha1hex); the
    answers' partner_ids come from Python: for any key and id they must agree, or a partner could not
    match the fan-out's events."""
    lua = lua_file(OUTBOX) + "\nreturn partner_subject(ARGV[1], ARGV[2], ARGV[3])"
    rng = random.Random(7)
    for _ in range(40):
        key = rng.randbytes(rng.choice([16, 32, 64]))
        subject = "".join(rng.choice("abcXYZ019-_") for _ in range(rng.randint(1, 60)))
        kind = rng.choice(list(SubjectKind))
        partner = rng.choice(["adnet", "metrics", "a"])
        got = redis_client.eval(lua, 0, partner_key(key, "demo", partner).hex(), kind.value, subject)
        assert got == subject_id(key, "demo", partner, kind, subject)
