"""Redis Cluster (issue 5): a real 3-master cluster (tests/cluster.py) behind the API.

- A few hundred devices through every kind of request raise no CROSSSLOT (or any other error), and
  a site's keys land on every master, evenly.
- Every call of every script the store registers has all its KEYS on one slot.
- A store from a `redis+cluster://` URL with several startup nodes (one of them down) works, and
  measures each master's clock for its writes' deadlines; scripts come back after SCRIPT FLUSH.

The rest of the API suite runs against this cluster too (the `[cluster]` tests, tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.commands.core import AsyncScript, AsyncScriptCommands
from redis.crc import key_slot
from starlette.testclient import TestClient

from consent_service.config.settings import Settings
from consent_service.config.sites import parse_sites
from consent_service.core.clock import DAY_MS
from consent_service.core.identity import new_device_id
from consent_service.core.vocab import Action, DeviceClass, Regime
from consent_service.store import Change, Lifetimes, Store, StoreUnavailable
from consent_service.store.connect import cluster_startup_nodes, is_cluster_url
from consent_service.web.app import create_app
from tests.cluster import LocalCluster
from tests.conftest import CA, CHROME, DE, TEST_KEYS
from tests.test_outbox import with_partners

KEY = "c" * 40
AUTH = {"Authorization": f"Bearer {KEY}"}
LIFETIMES = Lifetimes(record_ttl_ms=400 * DAY_MS, retention_ms=750 * DAY_MS)
DEVICES = 300


@pytest.fixture
def api(cluster_redis_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """The service on the cluster (every master a startup node), with an admin key for `demo`."""
    settings = Settings(
        redis_url=cluster_redis_url,
        data_dir=tmp_path / "data",
        admin_keys=((KEY, frozenset({"demo"})),),
        # About slots, not budgets: a first GPC sighting written within 100 ms is asked of a loaded box.
        decision_timeout_ms=1000,
    )
    # With partners, so that changes also write their outbox events (issue 7) on the cluster.
    app = create_app(settings, parse_sites(with_partners(), source="<test>"), TEST_KEYS)
    with TestClient(app, base_url="http://consent.test", headers={"user-agent": CHROME}) as client:
        yield client


class ScriptCalls:
    """Every script the store registers on a cluster client, and the KEYS of every call."""

    def __init__(self) -> None:
        self.registered: list[AsyncScript] = []
        self.calls: list[tuple[AsyncScript, list[str]]] = []


@pytest.fixture
def script_calls(monkeypatch: pytest.MonkeyPatch) -> ScriptCalls:
    seen = ScriptCalls()
    register, call = AsyncScriptCommands.register_script, AsyncScript.__call__
    assert AsyncRedisCluster.register_script is register  # what the wrapper below replaces

    def registering(self: Any, script: Any) -> AsyncScript:
        made = register(self, script)
        caller = str(sys._getframe(1).f_globals.get("__name__", ""))
        if isinstance(self, AsyncRedisCluster) and caller.startswith("consent_service.store"):
            seen.registered.append(made)
        return made

    async def calling(self: AsyncScript, keys: Any = None, args: Any = None, client: Any = None) -> Any:
        if isinstance(self.registered_client, AsyncRedisCluster):
            seen.calls.append((self, [str(k) for k in keys or []]))
        return await call(self, keys, args, client)

    monkeypatch.setattr(AsyncScriptCommands, "register_script", registering)
    monkeypatch.setattr(AsyncScript, "__call__", calling)
    return seen


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, (response.request.method, response.request.url, response.text)
    return response.json()


def browser(api: TestClient) -> TestClient:
    api.cookies.clear()
    return api


def agent(api: TestClient, **body: object) -> dict[str, Any]:
    payload = {"site": "demo", "agent": "Permission Slip", "reference": "PS-1", **body}
    return ok(api.post("/v1/admin/agent-requests", json=payload, headers=AUTH))


def run_the_api(api: TestClient, devices: int) -> list[str]:
    """Every kind of request the store serves, for `devices` new browsers. Returns their tokens."""
    tokens = []
    for i in range(devices):
        region = CA if i % 5 else DE
        if i % 4 == 0:  # GPC seen by a decision: the device is created by the signal
            answer = ok(
                browser(api).get(
                    "/v1/decision",
                    params={"site": "demo", "purpose": "advertising"},
                    headers={**region, "Sec-GPC": "1"},
                )
            )
        elif i % 4 == 1:
            answer = ok(browser(api).post("/v1/opt-out", json={"site": "demo"}, headers=region))
        elif i % 4 == 2:
            answer = ok(browser(api).post("/v1/consent", json={"site": "demo", "action": "accept_all"}, headers=region))
        else:
            body = {"site": "demo", "action": "custom", "choices": {"analytics": True, "advertising": False}}
            answer = ok(browser(api).post("/v1/consent", json=body, headers=region))
        tokens.append(answer["device"])
    for token in tokens:  # the decision path's read (and its account read for linked devices, below)
        ok(
            browser(api).get(
                "/v1/decision",
                params={"site": "demo", "purpose": "advertising"},
                headers={**CA, "X-Consent-Device": token},
            )
        )
    # Accounts: two devices each, one of them opted out (carried to the account and its other device).
    for n, (phone, laptop) in enumerate(zip(tokens[2:40:4], tokens[3:40:4], strict=True)):
        for token in (phone, laptop):
            ok(
                api.post(
                    "/v1/admin/accounts/link",
                    json={"site": "demo", "account_id": f"acct-{n}", "device": token},
                    headers=AUTH,
                )
            )
        ok(browser(api).post("/v1/opt-out", json={"site": "demo"}, headers={**CA, "X-Consent-Device": phone}))
        decision = ok(
            browser(api).get(
                "/v1/decision",
                params={"site": "demo", "purpose": "advertising"},
                headers={**CA, "X-Consent-Device": laptop},
            )
        )
        assert decision["decisions"]["advertising"] == {"allowed": False, "reason": "account_opt_out"}
    ok(
        api.post(
            "/v1/admin/accounts/unlink",
            json={"site": "demo", "account_id": "acct-0", "device": tokens[3]},
            headers=AUTH,
        )
    )
    ok(api.get("/v1/admin/accounts/acct-1", params={"site": "demo"}, headers=AUTH))
    ok(api.get("/v1/admin/stats", params={"site": "demo"}, headers=AUTH))  # flushes the statistics first
    ok(api.delete("/v1/admin/accounts/acct-2", params={"site": "demo"}, headers=AUTH))
    # Authorized agents: for accounts and devices, and one refusal (recorded as a denial).
    agent(api, account_id="agent-acct", type="opt_out")
    for token in tokens[44:48:2]:  # linked after the account opted out: named to the partners at the link
        ok(
            api.post(
                "/v1/admin/accounts/link",
                json={"site": "demo", "account_id": "agent-acct", "device": token},
                headers=AUTH,
            )
        )
    agent(api, account_id="acct-3", type="access")
    agent(api, account_id="acct-4", type="delete")
    agent(api, device=tokens[50], type="opt_out")
    agent(api, device=tokens[51], type="access")
    agent(api, device=tokens[52], type="delete")
    refused = {"site": "demo", "agent": "A", "reference": "r", "device": "forged.x.y", "type": "delete"}
    assert api.post("/v1/admin/agent-requests", json=refused, headers=AUTH).status_code == 404
    # The person's own access and deletion.
    for token in tokens[60:80]:
        ok(browser(api).get("/v1/me", params={"site": "demo"}, headers={"X-Consent-Device": token}))
    for token in tokens[80:90]:
        ok(browser(api).delete("/v1/me", params={"site": "demo"}, headers={"X-Consent-Device": token}))
    return tokens


def test_a_few_hundred_devices_raise_no_crossslot_and_spread_over_every_master(
    api: TestClient, redis_cluster: LocalCluster
) -> None:
    tokens = run_the_api(api, DEVICES)
    assert len(set(tokens)) == DEVICES

    export = api.get("/v1/admin/audit", params={"site": "demo", "format": "jsonl"}, headers=AUTH)
    assert export.status_code == 200
    rows = [json.loads(line) for line in export.text.splitlines()]
    assert [row["id"] for row in rows] == sorted(
        (row["id"] for row in rows), key=lambda i: tuple(int(p) for p in i.split("-"))
    )  # merged across every bucket (so every master) in time order, with no truncation marker
    metrics = ok(
        api.get(
            "/v1/admin/request-metrics", params={"site": "demo", "year": dt.datetime.now(dt.UTC).year}, headers=AUTH
        )
    )
    opt_outs = metrics["requests"]["opt_out"]
    assert opt_outs["received"] >= DEVICES // 2 and opt_outs["denied"] == 0
    assert metrics["requests"]["delete"]["denied"] == 1  # the forged token

    # Ask each master directly: the site's keys are on all three, the devices spread evenly.
    per_master: list[Counter[str]] = []
    audit_entries = 0
    for node in redis_cluster.node_clients():
        with node:
            keys = list(node.scan_iter(match="cs1:{demo.*"))
            per_master.append(Counter(key.split(":")[2] for key in keys))
            audit_entries += sum(node.xlen(key) for key in keys if key.endswith(":audit"))
    assert len(per_master) == 3 and all(kinds["dev"] and kinds["audit"] for kinds in per_master)
    devices = sum(kinds["dev"] for kinds in per_master)
    assert devices >= DEVICES - 10  # every device has a record (deleted ones without an opt-out aside)
    assert all(kinds["dev"] > devices * 0.2 for kinds in per_master), per_master  # about a third each
    assert len(rows) == audit_entries  # the export read every master's streams


def test_every_script_call_keeps_its_keys_on_one_slot(script_calls: ScriptCalls, api: TestClient) -> None:
    """(The recorder is set up before the service starts: its scripts are registered at start.)"""
    run_the_api(api, 100)
    api.portal.call(_work_the_outbox, api.app.state.consent.store)  # type: ignore[union-attr]
    registered = {id(script) for script in script_calls.registered}
    called = {id(script) for script, _ in script_calls.calls}
    assert len(registered) >= 9  # the store's write, erase, access, link; the accounts' four; the trail's one
    assert registered <= called, "a script the store registered was not exercised by the run"
    for script, keys in script_calls.calls:
        assert keys, "a script without keys would run on a random node"
        slots = {key_slot(key.encode()) for key in keys}
        assert len(slots) == 1, (script.script[:80], keys)
    slots_used = {key_slot(keys[0].encode()) for _, keys in script_calls.calls}
    assert len(slots_used) > 50  # and the calls spread over many slots


async def _work_the_outbox(store: Store) -> None:
    """Every outbox script on the cluster: claim, settle (retry, dead, delivered), replay and trim."""
    now = int(time.time() * 1000)
    buckets = await store.outbox.due_buckets("demo", now, 5.0)
    assert len(buckets) > 10  # the events spread over the buckets, like the audit
    outcomes = ["retry", "dead", "delivered"]
    for i, bucket in enumerate(buckets[:30]):
        for claimed in await store.outbox.claim(
            "demo", bucket, now_ms=now, lease_ms=1000, limit=5, token="t", timeout_s=5.0
        ):
            outcome = outcomes[i % 3]
            await store.outbox.settle(claimed, outcome=outcome, result="x", now_ms=now, next_ms=now + 10, timeout_s=5.0)  # type: ignore[arg-type]
    assert await store.outbox.replay("demo", None, now, 5.0) > 0
    assert await store.outbox.listing("demo", "delivered", partner=None, limit=5, timeout_s=5.0)
    assert await store.outbox.trim("demo", now + 1, 5.0) > 0  # the delivered ones


def test_a_store_from_a_cluster_url_with_several_startup_nodes(
    cluster_redis_url: str, redis_cluster: LocalCluster
) -> None:
    _, second, third = redis_cluster.ports
    url = f"redis+cluster://127.0.0.1:1,127.0.0.1:{second},127.0.0.1:{third}"  # the first one is down
    devices = [new_device_id() for _ in range(60)]

    async def main() -> None:
        store = Store.from_url(url, LIFETIMES, timeout_s=1.0)
        try:
            # Made in a running loop (as at the app's start), the store learns the slot map at once,
            # before any request: the first decisions do not spend their 100 ms on it.
            assert store._warm_up is not None
            await store._warm_up
            assert isinstance(store._redis, AsyncRedisCluster) and len(store._redis.get_primaries()) == 3
            assert await store.ping(1.0)
            now = int(time.time() * 1000)  # stream ids come from Redis's clock
            for device in devices:
                change = Change(
                    site="demo",
                    device_id=device,
                    now_ms=now,
                    policy_version="v1",
                    regime=Regime.OPT_OUT,
                    region="US-CA",
                    device_class=DeviceClass.PC,
                    choices={"advertising": False},
                    action=Action.OPT_OUT,
                )
                applied = await store.apply(change, 1.0)
                assert applied.record is not None and not applied.record.choices["advertising"].granted
            # Each master's clock was measured for the writes' deadlines (they run on its clock).
            assert len(store._clocks) == 3
            record = await store.get("demo", devices[0], 1.0)
            assert record is not None and not record.choices["advertising"].granted
            entries = [e async for e in store.trail.read("demo", now - 60_000, now + 60_000, 1.0)]
            assert len(entries) == len(devices)  # read from every bucket, so from every master
            assert await store.carried("demo", 1.0) == []
            assert await store.trail.trim("demo", now + 60_000, 1.0) == len(devices)
            # Scripts flushed on every master (a restart without persistence of the script cache):
            # the next call reloads its script on every master and runs.
            for node in redis_cluster.node_clients():
                with node:
                    node.script_flush()
            again = await store.apply(dataclasses.replace(change, now_ms=now + 1000), 1.0)
            assert again.record is not None
        finally:
            await store.close()

    asyncio.run(main())


def test_an_unreachable_cluster_is_store_unavailable() -> None:
    async def main() -> None:
        store = Store.from_url("redis+cluster://127.0.0.1:1,127.0.0.1:2", LIFETIMES, timeout_s=0.5)
        try:
            assert await store.ping(0.5) is False
            with pytest.raises(StoreUnavailable):
                await store.get("demo", new_device_id(), 0.5)
            with pytest.raises(StoreUnavailable):
                await store.carried("demo", 0.5)
        finally:
            await store.close()

    asyncio.run(main())


@pytest.mark.parametrize(
    ("url", "nodes", "single"),
    [
        ("redis+cluster://a:7000,b:7001", [("a", 7000), ("b", 7001)], "redis://a:7000"),
        ("redis+cluster://u:p%40ss@a:7000,b/", [("a", 7000), ("b", 6379)], "redis://u:p%40ss@a:7000/"),
        (
            "rediss+cluster://[::1]:7000,a:1/?ssl_cert_reqs=none",
            [("::1", 7000), ("a", 1)],
            "rediss://[::1]:7000/?ssl_cert_reqs=none",
        ),
        ("REDIS+CLUSTER://a:1?socket_keepalive=yes", [("a", 1)], "redis://a:1/?socket_keepalive=yes"),
    ],
)
def test_cluster_urls_are_parsed(url: str, nodes: list[tuple[str, int]], single: str) -> None:
    assert is_cluster_url(url)
    assert cluster_startup_nodes(url) == (nodes, single)


@pytest.mark.parametrize(
    "url",
    [
        "redis+cluster://",
        "redis+cluster://a:port",
        "redis+cluster://a:6379,b:²",  # "²".isdigit() is True and int("²") raises another ValueError
        "redis+cluster://u:secret@a:1/3",  # Redis Cluster has only database 0
        "redis+cluster://u:secret@a:1/?no_such_option=1",
    ],
)
def test_bad_cluster_urls_are_refused_without_their_credentials(url: str) -> None:
    with pytest.raises(ValueError, match="Redis Cluster") as refused:
        Store.from_url(url, LIFETIMES, timeout_s=1.0)
    assert "secret" not in str(refused.value)
    assert not is_cluster_url("redis://a:1/0") and not is_cluster_url("unix:///tmp/r.sock")
