"""A Jepsen-style failover test (issue 15): no opt-out acknowledged as stored is lost when a master
that was cut off from its replica dies and the replica takes over.

The run, on a real cluster of 3 masters and 3 replicas made for the test (`failover_cluster`):

1. The service runs in this process (uvicorn on a loopback port), with the per-client write limit
   off so that every tokenless opt-out is really written; `WRITERS` threads send tokenless
   `POST /v1/opt-out` all along, and each answer is kept with the device's slot and when it was
   asked and answered.
2. The replication link of one master (the victim) is cut, by the proxy of tests/tcp_proxy.py:
   its replica is turned away, its clients are not. The writers go on until `WHILE_CUT` opt-outs
   on the victim's slots were answered while it was cut (without WAIT, answered as stored).
3. The victim is SIGKILLed; the test waits until its replica serves its slots and every live
   node says `cluster_state:ok`, then until writes on those slots are answered again (stored,
   without WAIT; with WAIT they cannot be: the promoted node has no replica yet).
4. The old master restarts on its AOF (which holds the writes its replica never had) and rejoins
   as the promoted node's replica, dropping them; writes on its old slots are stored again.
5. Every opt-out acknowledged as stored is asked for again (`GET /v1/decision` with its device
   token): one that is no longer opted out is lost.

Without WAIT the test asserts that opt-outs were lost, and only ones answered on the victim's
slots after the cut began: the partition bit, and nothing else loses data. With
`CONSENT_REDIS_WAIT_REPLICAS=1`, none is lost. Meanwhile a prober asks for decisions of devices
on the victim's slots (they answer within their budget and fail closed) and `/readyz` (it reports
the dead master, then recovers).

The cluster's settings, and why:

- `appendonly yes`, `appendfsync always` (as the service's own Redis runs): what is lost is lost
  to the failover, not to a crash.
- `cluster-node-timeout 2000`: the failover happens in seconds (detection takes a node timeout).
- `cluster-replica-validity-factor 0`: a replica whose link has been down longer than
  node timeout × factor + `repl-ping-replica-period` (2 s × 10 + 10 s by default) does not stand
  for election, and the slots would stay down. The cut here lasts as long as the writers need
  for `WHILE_CUT` writes, which a slow box can stretch beyond that: factor 0 lets the replica stand
  however long it was cut off, so the test does not depend on the machine's speed. (That is what
  an operator who prefers availability sets; it is exactly the setting under which WAIT matters.)

Everything is counted in work done, not time: waits are bounded generously (`BOUND_S`) and no
speed is asserted, except that decisions answer within their budget plus `DECISION_SLACK_S`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import redis
import uvicorn
from redis.crc import key_slot
from starlette.applications import Starlette

from consent_service.cli.redis_runner import EmbeddedRedis
from consent_service.config.settings import Settings
from consent_service.config.sites import load_sites
from consent_service.core.identity import DeviceTokens
from consent_service.store.record_data import record_key
from consent_service.web.app import create_app
from tests.cluster import LocalCluster, cluster_info
from tests.conftest import CA, CHROME, TEST_KEYS
from tests.tcp_proxy import ReplicationProxy

TOKENS = DeviceTokens(TEST_KEYS.signing, max_age_s=400 * 86_400)
WRITERS = 6
WHILE_CUT = 200  # opt-outs on the victim's slots answered while its replication link was cut
BEFORE_CUT = 50  # stored on the victim's slots before the cut (its replica has them)
AFTER_PROMOTION = 20  # stored on the victim's slots once its replica took over
CONSENTED = 3  # devices that accepted all, on the victim's slots: the fail-closed probe asks for them
NODE_TIMEOUT_MS = 2000
DECISION_BUDGET_MS = 250
DECISION_SLACK_S = 1.0  # on top of the budget: HTTP, threads and a loaded box (well below a failover)
BOUND_S = 60.0  # the longest any phase may take (a bound on waiting, not a speed claim)
ADS = {"site": "demo", "purpose": "advertising"}
OPTED_OUT = {"allowed": False, "reason": "opt_out"}


# ---- the service in this process -----------------------------------------------------------------


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextlib.contextmanager
def serving(app: Starlette) -> Iterator[str]:
    """The app under uvicorn on a free loopback port (as tools/live.py), its base URL until the block
    ends. A start that fails (the lifespan raised) fails with the error uvicorn logged."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    errors = _Collect()
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(errors)

    def run() -> None:
        try:
            server.run()
        except SystemExit as exc:  # uvicorn's own exit after a failed start
            errors.lines.append(f"uvicorn exited ({exc.code})")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + BOUND_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the service did not start:\n" + "\n".join(errors.lines))
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(BOUND_S)
        logger.removeHandler(errors)


def http_client(base: str) -> httpx.Client:
    """A client of the service as a new browser in California (no cookie is kept: see `fresh`)."""
    return httpx.Client(base_url=base, headers={"user-agent": CHROME, **CA}, timeout=BOUND_S)


def fresh(client: httpx.Client) -> httpx.Client:
    client.cookies.clear()  # each request stands alone: tokenless unless it names its device
    return client


def slot_of(token: str) -> int:
    device = TOKENS.verify(token, "demo")
    assert device is not None, token
    return key_slot(record_key("demo", device.device_id).encode())


# ---- the writers -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Write:
    """One answered `POST /v1/opt-out`."""

    token: str
    on_victim: bool  # its device's slot was the victim's when the run began
    stored: bool  # acknowledged as stored (no `"stored": false`)
    asked: float  # monotonic, when sent
    answered: float  # monotonic, when its answer came


class Writers:
    """`count` threads sending tokenless opt-outs until stopped; every answer is kept."""

    def __init__(self, base: str, count: int, victim_slots: frozenset[int]) -> None:
        self.base, self.victim_slots = base, victim_slots
        self.writes: list[Write] = []
        self.failures: list[str] = []  # answers other than 200, and transport errors
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(count)]

    def __enter__(self) -> Writers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(BOUND_S)

    def count(self, keep: Callable[[Write], bool]) -> int:
        with self._lock:
            return sum(1 for write in self.writes if keep(write))

    def wait_for(self, keep: Callable[[Write], bool], at_least: int, what: str) -> None:
        deadline = time.monotonic() + BOUND_S
        while (seen := self.count(keep)) < at_least:
            assert not self.failures, self.failures[:5]
            assert time.monotonic() < deadline, f"{what}: {seen} of {at_least} in {BOUND_S:g} s"
            time.sleep(0.05)

    def _run(self) -> None:
        with http_client(self.base) as client:
            while not self._stop.is_set():
                asked = time.monotonic()
                try:
                    answer = fresh(client).post("/v1/opt-out", json={"site": "demo"})
                except httpx.HTTPError as exc:
                    self._fail(f"{type(exc).__name__}: {exc}")
                    continue
                answered = time.monotonic()
                if answer.status_code != 200:
                    self._fail(f"{answer.status_code} {answer.text[:200]}")
                    continue
                body = answer.json()
                token = body["device"]
                write = Write(
                    token, slot_of(token) in self.victim_slots, body.get("stored") is not False, asked, answered
                )
                with self._lock:
                    self.writes.append(write)

    def _fail(self, what: str) -> None:
        with self._lock:
            self.failures.append(what)
        time.sleep(0.05)


# ---- the prober: decisions and /readyz during the failover ----------------------------------------


@dataclasses.dataclass(frozen=True)
class Probe:
    at: float  # monotonic, when answered
    what: str  # "consented", "opted_out" or "readyz"
    status: int
    seconds: float
    answer: dict[str, Any]


class Prober:
    """Asks, in a loop until stopped, for the decision of a device that accepted all and of one that
    opted out (both on the victim's slots), and for /readyz."""

    def __init__(self, base: str, consented: str, opted_out: str) -> None:
        self.base, self.tokens = base, {"consented": consented, "opted_out": opted_out}
        self.probes: list[Probe] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(BOUND_S)

    def _run(self) -> None:
        with http_client(self.base) as client:
            while not self._stop.is_set():
                for what, token in self.tokens.items():
                    self._ask(client, what, "/v1/decision", ADS, {"X-Consent-Device": token})
                self._ask(client, "readyz", "/readyz", {}, {})
                time.sleep(0.02)

    def _ask(self, client: httpx.Client, what: str, path: str, params: dict[str, str], headers: dict[str, str]) -> None:
        asked = time.monotonic()
        try:
            answer = fresh(client).get(path, params=params, headers=headers)
        except httpx.HTTPError as exc:
            self.failures.append(f"{what}: {type(exc).__name__}: {exc}")
            return
        now = time.monotonic()
        self.probes.append(Probe(now, what, answer.status_code, now - asked, answer.json()))


# ---- the cluster -------------------------------------------------------------------------------------


@pytest.fixture
def failover_cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    """3 masters and 3 replicas of the test's own (it kills one), each master behind the replication
    proxy (settings: see the module's docstring)."""
    config = {
        "appendonly": "yes",
        "appendfsync": "always",
        "cluster-replica-validity-factor": "0",
    }
    with LocalCluster(
        tmp_path / "cluster", replicas=1, node_timeout_ms=NODE_TIMEOUT_MS, config=config, proxied=True
    ) as cluster:
        yield cluster


def info(port: int, section: str) -> dict[str, Any]:
    with redis.Redis(host="127.0.0.1", port=port, socket_timeout=5, decode_responses=True) as node:
        return dict(node.info(section))


def wait_until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + BOUND_S
    while not check():
        assert time.monotonic() < deadline, f"{what} (waited {BOUND_S:g} s)"
        time.sleep(0.1)


def promoted(cluster: LocalCluster, replica: int, victim_id: str, slots: frozenset[int]) -> bool:
    """The replica serves the victim's slots, and every live node says the cluster is ok."""
    try:
        live = cluster.node_ids()
        if any(cluster_info(port).get("cluster_state") != "ok" for port in live):
            return False
        replica_id, owners = live[replica], cluster.slot_owners(replica)
    except redis.RedisError:
        return False
    return all(owners[slot] == replica_id for slot in slots) and victim_id not in owners


# ---- the tests -------------------------------------------------------------------------------------


def test_the_proxy_cuts_the_replication_link_and_nothing_else(tmp_path: Path) -> None:
    """A standalone master and its replica through the proxy: cut, the replica falls behind while
    clients still write through the proxy; healed, it catches up."""
    master = EmbeddedRedis(tmp_path / "master", persistent=False)
    replica = EmbeddedRedis(tmp_path / "replica", persistent=False)
    master.start()
    replica.start()
    proxy = ReplicationProxy([master.port], tmp_path / "proxy.log")
    try:
        port = proxy.start()[master.port]
        with (
            redis.Redis(port=replica.port, decode_responses=True) as follower,
            redis.Redis(port=port, decode_responses=True) as through,
        ):
            follower.replicaof("127.0.0.1", port)
            wait_until(lambda: info(replica.port, "replication").get("master_link_status") == "up", "no sync")
            through.set("before", "1")
            wait_until(lambda: follower.get("before") == "1", "not replicated")
            assert proxy.stats()[master.port].replication_active == 1

            stats = proxy.cut(master.port)[master.port]
            assert stats.cut and stats.replication_closed_by_cut == 1
            through.set("during", "1")  # a client still goes through
            assert through.get("during") == "1"
            wait_until(lambda: info(replica.port, "replication").get("master_link_status") == "down", "not cut")
            wait_until(lambda: proxy.stats()[master.port].replication_refused >= 1, "the replica did not retry")
            assert follower.get("during") is None and info(master.port, "replication")["connected_slaves"] == 0

            proxy.heal(master.port)
            wait_until(lambda: follower.get("during") == "1", "not caught up after the cut was healed")
            stats = proxy.stats()[master.port]
            assert stats.replication_active == 1 and stats.clients >= 1
    finally:
        proxy.stop()
        replica.stop()
        master.stop()


@pytest.mark.parametrize("wait_replicas", [pytest.param(0, id="no_wait"), pytest.param(1, id="wait")])
def test_no_opt_out_acknowledged_as_stored_is_lost_to_a_failover(
    wait_replicas: int, failover_cluster: LocalCluster, tmp_path: Path
) -> None:
    cluster = failover_cluster
    assert cluster.proxy is not None
    victim = cluster.ports[0]  # any master: each serves a third of the slots
    ids = cluster.node_ids()
    victim_id, replica = ids[victim], cluster.replica_of(victim)
    victim_slots = frozenset(slot for slot, owner in enumerate(cluster.slot_owners(victim)) if owner == victim_id)
    with redis.Redis(host="127.0.0.1", port=victim, decode_responses=True) as node:
        assert node.config_get("appendfsync") == {"appendfsync": "always"}

    settings = Settings(
        redis_url=cluster.url,
        data_dir=tmp_path / "data",
        rate_limit_client=None,  # tokenless opt-outs over it would be carried, not stored
        rate_limit_device=None,
        decision_timeout_ms=DECISION_BUDGET_MS,
        redis_wait_replicas=wait_replicas,
    )
    app = create_app(settings, load_sites(None), TEST_KEYS)
    report: dict[str, Any] = {"wait_replicas": wait_replicas}
    with serving(app) as base, http_client(base) as client:
        with Writers(base, WRITERS, victim_slots) as writers:
            # 1. Before the cut: opt-outs on the victim's slots, stored (and replicated).
            writers.wait_for(lambda w: w.on_victim and w.stored, BEFORE_CUT, "stored on the victim before the cut")
            consented = accepted_on_victim(client, victim_slots)
            opted_out = next(w.token for w in writers.writes if w.on_victim and w.stored)
            written = info(victim, "replication")["master_repl_offset"]
            wait_until(lambda: replicated(replica, written), "the replica did not catch up before the cut")

            # 2. The victim's replication link is cut; the writers go on.
            cut_began = time.monotonic()
            stats = cluster.proxy.cut(victim)[victim]
            cut = time.monotonic()
            assert stats.replication_closed_by_cut == 1, stats
            wait_until(lambda: info(replica, "replication")["master_link_status"] == "down", "the cut did not bite")

            def after(moment: float) -> Callable[[Write], bool]:
                """Answered on the victim's slots, asked after `moment`; without WAIT, stored too."""
                return lambda w: w.on_victim and w.asked >= moment and (w.stored or wait_replicas > 0)

            while_cut = after(cut)

            writers.wait_for(while_cut, WHILE_CUT, "answered on the victim's slots while cut")
            writers.wait_for(lambda w: w.stored and w.asked >= cut, WHILE_CUT, "stored while cut (on any master)")
            say(f"cut: {writers.count(while_cut)} answered on the victim's slots")
            with Prober(base, consented, opted_out) as prober:
                time.sleep(0.5)  # a few probes of the cluster before the kill
                # 3. The victim dies; its replica, cut off all along, takes over.
                assert info(replica, "replication")["master_link_status"] == "down"
                killed = time.monotonic()
                cluster.kill(victim)
                wait_until(lambda: promoted(cluster, replica, victim_id, victim_slots), "the replica was not promoted")
                promoted_at = time.monotonic()
                say(f"promoted {promoted_at - killed:.1f} s after the kill")
                # Answered again on those slots (stored without WAIT; with it, not yet: no replica).
                writers.wait_for(after(promoted_at), AFTER_PROMOTION, "answered on the victim's slots after promotion")
                wait_until(lambda: client.get("/readyz").status_code == 200, "/readyz did not recover")
                recovered = time.monotonic()
                time.sleep(0.3)
            # 4. The old master comes back on its AOF, with the writes its replica never had: it
            # rejoins as the promoted node's replica (the newer epoch wins) and drops them.
            cluster.proxy.heal(victim)
            cluster.restart(victim)
            wait_until(lambda: rejoined(victim, replica), "the old master did not rejoin as a replica")
            rejoined_at = time.monotonic()
            say(f"rejoined {rejoined_at - killed:.1f} s after the kill")
            writers.wait_for(
                lambda w: w.on_victim and w.stored and w.asked >= rejoined_at,
                AFTER_PROMOTION,
                "stored on the victim's slots once the old master rejoined",
            )
        assert not writers.failures, writers.failures[:5]  # every opt-out was answered 200

        # 5. Every opt-out acknowledged as stored, asked for again.
        stored = [w for w in writers.writes if w.stored]
        lost = read_back(base, stored)
    stats = cluster.proxy.stats()[victim]

    on_victim_cut = [w for w in writers.writes if w.on_victim and cut <= w.asked and w.answered <= killed]
    report |= {
        "answered": len(writers.writes),
        "stored": len(stored),
        "victim_answered_while_cut": len(on_victim_cut),
        "victim_stored_while_cut": sum(w.stored for w in on_victim_cut),
        "stored_while_cut_all_masters": sum(
            1 for w in writers.writes if w.stored and cut <= w.asked and w.answered <= killed
        ),
        "lost": len(lost),
        "cut_s": round(killed - cut, 1),
        "promotion_s": round(promoted_at - killed, 1),
        "recovered_s": round(recovered - killed, 1),
        "replica_refused_while_cut": stats.replication_refused,
    }
    probes = check_probes(prober.probes, prober.failures, killed, promoted_at, recovered)
    report |= probes
    say(json.dumps(report))  # the numbers docs/capacity.md quotes (pytest -s shows them)

    # Every lost opt-out was answered on the victim's slots after the cut began: nothing else loses.
    assert all(w.on_victim and w.answered >= cut_began for w in lost), report
    if wait_replicas:
        assert len(lost) == 0, report
        assert report["stored_while_cut_all_masters"] >= WHILE_CUT, report  # the other masters wrote on
    else:
        assert len(lost) > 0, report  # the partition bit: the same run without WAIT loses some
        assert report["victim_stored_while_cut"] >= WHILE_CUT, report


def accepted_on_victim(client: httpx.Client, victim_slots: frozenset[int]) -> str:
    """A device that accepted all, on the victim's slots (a few tries: a third of devices land there)."""
    for _ in range(CONSENTED * 100):
        answer = fresh(client).post("/v1/consent", json={"site": "demo", "action": "accept_all"})
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["device"]
        if slot_of(token) in victim_slots:
            return token
    raise AssertionError("no consent landed on the victim's slots")


def rejoined(old_master: int, new_master: int) -> bool:
    """The old master follows the new one and has synced."""
    try:
        replication = info(old_master, "replication")
    except redis.RedisError:
        return False
    return (
        replication.get("role") == "slave"
        and replication.get("master_port") == new_master
        and replication.get("master_link_status") == "up"
    )


def say(what: str) -> None:
    print(f"failover: {what}")  # progress, with pytest -s


def replicated(replica: int, offset: int) -> bool:
    """The replica has the master's writes up to its replication `offset`."""
    return int(info(replica, "replication")["master_repl_offset"]) >= offset


def read_back(base: str, stored: list[Write]) -> list[Write]:
    """The stored opt-outs whose device is no longer opted out (a `store_unavailable` answer is asked
    again: a read that failed says nothing)."""

    def lost(write: Write, client: httpx.Client) -> bool:
        deadline = time.monotonic() + BOUND_S
        while True:
            answer = fresh(client).get("/v1/decision", params=ADS, headers={"X-Consent-Device": write.token})
            assert answer.status_code == 200, answer.text
            decision = answer.json()["decisions"]["advertising"]
            if decision["reason"] != "store_unavailable":
                return bool(decision != OPTED_OUT)
            assert time.monotonic() < deadline, "the store stayed unavailable for the read-back"
            time.sleep(0.05)

    chunks = [stored[i::WRITERS] for i in range(WRITERS)]

    def check(chunk: list[Write]) -> list[Write]:
        with http_client(base) as client:
            return [write for write in chunk if lost(write, client)]

    with ThreadPoolExecutor(WRITERS) as pool:
        return [write for found in pool.map(check, chunks) for write in found]


def check_probes(
    probes: list[Probe], failures: list[str], killed: float, promoted_at: float, recovered: float
) -> dict[str, Any]:
    """Decisions answered within their budget and failed closed; /readyz said the master was missing,
    then recovered. Returns what the report quotes."""
    assert not failures, failures[:5]
    decisions = [p for p in probes if p.what != "readyz"]
    assert decisions and all(p.status == 200 for p in decisions), [p for p in decisions if p.status != 200][:3]
    slowest = max(p.seconds for p in decisions)
    assert slowest <= DECISION_BUDGET_MS / 1000 + DECISION_SLACK_S, slowest
    for probe in decisions:
        advertising = probe.answer["decisions"]["advertising"]
        if probe.what == "opted_out":
            assert advertising["allowed"] is False, probe  # an opt-out is never lost to an outage
        elif advertising["allowed"]:
            assert advertising["reason"] == "consent", probe
        else:
            assert advertising["reason"] == "store_unavailable", probe  # failed closed
    outage = [p for p in decisions if killed <= p.at <= promoted_at]
    unavailable = [p for p in outage if p.answer["decisions"]["advertising"]["reason"] == "store_unavailable"]
    assert unavailable, "no decision saw the outage: the probe tested nothing"
    readyz = [p for p in probes if p.what == "readyz"]
    down = [p for p in readyz if killed <= p.at <= recovered and p.status != 200]
    assert down, "/readyz never reported the dead master"
    # It names the master that does not answer (host:port as the slot map has it), not just "down".
    assert any("does not answer: 127.0.0.1:" in str(p.answer.get("detail")) for p in down), down[:2]
    return {
        "decisions_probed": len(decisions),
        "decisions_during_outage": len(outage),
        "store_unavailable_during_outage": len(unavailable),
        "slowest_decision_s": round(slowest, 3),
        "readyz_unready": sum(p.status != 200 for p in readyz),
    }
