"""Authorized agents against real Redis: each request type for an account and for a device,
recorded with source `agent`, the agent's name and reference; denials recorded too."""

from __future__ import annotations

import datetime as dt
import json

import redis
from starlette.testclient import TestClient

from tests.conftest import CA, AppFactory, snapshot
from tests.test_accounts import AUTH, admin_client, ads, device, link

URL = "/v1/admin/agent-requests"
AGENT = {"agent": "Permission Slip", "reference": "PS-2026-0042"}


def entries(redis_client: redis.Redis) -> list[dict[str, str]]:
    found = [e for k in redis_client.scan_iter(match="*:audit") for _, e in redis_client.xrange(k)]
    return sorted(found, key=lambda e: int(e["t"]))


def agent(client: TestClient, **body: object) -> dict:
    r = client.post(URL, json={"site": "demo", **AGENT, **body}, headers=AUTH)
    assert r.status_code == 200, r.text
    return r.json()


def test_an_agents_account_opt_out_holds_for_devices_linked_later(
    make_client: AppFactory, redis_client: redis.Redis
) -> None:
    client = admin_client(make_client)
    answer = agent(client, account_id="acct-1", type="opt_out")
    assert answer == {
        "site": "demo",
        "type": "opt_out",
        **AGENT,
        "answer": "complied",
        "result": {"site": "demo", "account_opted_out": True},
    }
    laptop = device(client)
    link(client, laptop, account="acct-1")
    assert ads(client, laptop)["decisions"]["advertising"] == {"allowed": False, "reason": "account_opt_out"}
    (entry,) = [e for e in entries(redis_client) if e.get("rq")]
    assert (entry["a"], entry["s"], entry["sub"], entry["ag"], entry["agr"], entry["ans"]) == (
        "opt_out",
        "agent",
        "account",
        "Permission Slip",
        "PS-2026-0042",
        "complied",
    )
    agent(client, account_id="acct-1", type="opt_out")  # a repeated request is recorded again
    assert len([e for e in entries(redis_client) if e.get("rq")]) == 2


def test_an_agents_device_requests_act_like_the_persons_own(make_client: AppFactory, redis_client: redis.Redis) -> None:
    client = admin_client(make_client)
    token = device(client)
    result = agent(client, device=token, type="opt_out")["result"]
    assert result["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"} and "device" not in result
    assert ads(client, token)["decisions"]["advertising"]["reason"] == "opt_out"
    received = (dt.datetime.now(dt.UTC) - dt.timedelta(days=3)).date().isoformat()
    copy = agent(client, device=token, type="access", received=received)["result"]
    assert [h["action"] for h in copy["history"]] == ["custom", "opt_out"]
    assert copy["history"][1]["agent"] == "Permission Slip"
    gone = agent(client, device=token, type="delete")["result"]
    assert gone["deleted"] is True and gone["kept"]["choices"]["advertising"]["allowed"] is False
    assert ads(client, token)["decisions"]["advertising"]["reason"] == "opt_out"  # the tombstone
    requests = [(e["a"], e["s"], e["rq"], e.get("rcv")) for e in entries(redis_client) if e.get("rq")]
    assert [r[:3] for r in requests] == [
        ("opt_out", "agent", "opt_out"),
        ("access", "agent", "access"),
        ("delete", "agent", "delete"),
    ]
    assert requests[1][3] is not None and requests[0][3] is None
    assert all(e["ref"] == "" for e in entries(redis_client) if e["a"] == "delete")


def test_an_agents_account_access_and_deletion(make_client: AppFactory, redis_client: redis.Redis) -> None:
    client = admin_client(make_client)
    token = device(client)
    link(client, token, account="acct-2")
    copy = agent(client, account_id="acct-2", type="access")["result"]
    assert copy["account"]["linked_devices"] == 1 and len(copy["devices"]) == 1
    gone = agent(client, account_id="acct-2", type="delete")["result"]
    assert gone["devices_deleted"] == 1 and gone["kept"] is None  # no opt-out: nothing kept
    assert not list(redis_client.scan_iter(match="*:acct:*"))
    # Of the device, only the bare time of its deletion (announced to USP deletion callbacks at its next visit).
    assert [set(redis_client.hgetall(k)) for k in redis_client.scan_iter(match="*:dev:*")] == [{"del"}]


def test_an_unverifiable_device_is_refused_and_the_denial_recorded(
    make_client: AppFactory, redis_client: redis.Redis
) -> None:
    client = admin_client(make_client)
    r = client.post(URL, json={"site": "demo", **AGENT, "device": "forged.token.x", "type": "delete"}, headers=AUTH)
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    (entry,) = entries(redis_client)
    assert (entry["a"], entry["rq"], entry["ans"], entry["why"], entry["ref"]) == (
        "delete",
        "delete",
        "denied",
        "device_not_verifiable",
        "",
    )
    export = client.get("/v1/admin/audit", params={"site": "demo"}, headers=AUTH)
    row = json.loads(export.text.splitlines()[0])
    assert (row["answer"], row["denial_reason"], row["agent"], row["request"]) == (
        "denied",
        "device_not_verifiable",
        "Permission Slip",
        "delete",
    )


def test_bad_agent_requests_get_a_4xx_and_change_nothing(make_client: AppFactory, redis_client: redis.Redis) -> None:
    client = admin_client(make_client)
    token = device(client, site="demo")
    before = snapshot(redis_client)
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()
    bad = [
        {"type": "opt_out"},  # neither account nor device
        {"type": "opt_out", "account_id": "a", "device": token},  # both
        {"type": "sell_more", "account_id": "a"},
        {"type": "opt_out", "account_id": "a", "agent": ""},
        {"type": "opt_out", "account_id": "a", "agent": "bad\x00name"},
        {"type": "opt_out", "account_id": "a", "reference": "r" * 200},
        {"type": "opt_out", "account_id": "a", "received": future},
        {"type": "opt_out", "account_id": "a", "received": "last tuesday"},
        {"type": "opt_out", "account_id": "a", "received": "2001-01-01"},
        {"type": "opt_out", "account_id": "a", "surprise": True},
    ]
    for body in bad:
        r = client.post(URL, json={"site": "demo", **AGENT, **body}, headers=AUTH)
        assert r.status_code == 400 and r.json()["error"] == "invalid_body", body
    assert snapshot(redis_client) == before
    assert client.post(URL, json={"site": "demo", "type": "opt_out", "account_id": "a"}, headers=CA).status_code == 401
