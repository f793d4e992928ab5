"""A real 3-master Redis Cluster for the tests: three `redis-server --cluster-enabled yes` processes on
127.0.0.1 (free ports, files in a temp dir), joined with `redis-cli --cluster create`, stopped at the end.

The session's cluster has no replicas: its tests are about slots and routing (no CROSSSLOT, keys on
every master), not failover. The failover test (tests/test_failover.py) makes its own with a replica
per master, more settings, and the replication proxy of tests/tcp_proxy.py in front of each master
(`proxied=True`): each master announces the proxy's port, so its replica (and every client) reaches
it through the proxy, which can cut the replication link alone. The cluster bus stays direct.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import random
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import redis
from redis.cluster import RedisCluster

from consent_service.cli.redis_runner import find_redis_server
from tests.tcp_proxy import ReplicationProxy

MASTERS = 3
SLOTS = 16_384
BUS_OFFSET = 10_000  # Redis Cluster's bus listens on port + 10000: both must be free
START_TIMEOUT_S = 20.0


class ClusterStartError(Exception):
    """The local cluster could not be started; the message says why (with the logs' last lines)."""


class LocalCluster:
    """Cluster-enabled masters on 127.0.0.1, slots spread by `redis-cli --cluster create`; optionally
    `replicas` per master, more redis-server settings (`config`) and the replication proxy."""

    def __init__(
        self,
        directory: Path,
        masters: int = MASTERS,
        *,
        replicas: int = 0,
        node_timeout_ms: int = 5000,
        config: Mapping[str, str] | None = None,
        proxied: bool = False,
    ) -> None:
        self.directory = directory
        self.masters = masters
        self.replicas = replicas
        self.node_timeout_ms = node_timeout_ms
        self.config = dict(config or {})
        self.proxied = proxied
        self.ports: list[int] = []  # the masters', as started (a failover test may kill one)
        self.replica_ports: list[int] = []
        self.proxy: ReplicationProxy | None = None
        self.announced: dict[int, int] = {}  # a proxied master's port -> the port it announces (the proxy's)
        self._procs: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        """The service's REDIS_URL for this cluster: every node as a startup node."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in self.all_ports)

    @property
    def all_ports(self) -> list[int]:
        return [*self.ports, *self.replica_ports]

    def __enter__(self) -> LocalCluster:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        cli = shutil.which("redis-cli")
        if cli is None:
            raise ClusterStartError("redis-cli is missing (Debian package redis-tools; `./dev test` installs it)")
        binary = find_redis_server()
        atexit.register(self.stop)  # also if the session ends without its teardown
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            ports = _free_cluster_ports(self.masters * (1 + self.replicas))
            self.ports, self.replica_ports = ports[: self.masters], ports[self.masters :]
            if self.proxied:
                self.proxy = ReplicationProxy(self.ports, self.directory / "proxy.log")
                self.announced = self.proxy.start()
            for port in ports:
                self._procs[port] = self._spawn(binary, port)
            deadline = time.monotonic() + START_TIMEOUT_S
            for port in ports:
                _wait(lambda p=port: _ping(p), deadline, f"redis-server on port {port} did not answer", self)
            # With one address for every node, redis-cli makes masters of the first ones named.
            nodes = [f"127.0.0.1:{port}" for port in ports]
            create = subprocess.run(
                [cli, "--cluster", "create", *nodes, "--cluster-replicas", str(self.replicas), "--cluster-yes"],
                capture_output=True,
                timeout=START_TIMEOUT_S,
                check=False,
            )
            if create.returncode != 0:
                raise ClusterStartError(f"redis-cli --cluster create failed:\n{create.stdout.decode()[-2000:]}")
            # Replicas make a full sync (a fork each) and, proxied, a second one once they learn the
            # master's announced port: more time on a loaded box.
            deadline = time.monotonic() + START_TIMEOUT_S * (1 + self.replicas)
            _wait(self._ready, deadline, lambda: f"the cluster did not get ready: {self._unready()}", self)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        atexit.unregister(self.stop)
        for proc in self._procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self._procs.values():
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs.clear()
        if self.proxy is not None:
            self.proxy.stop()

    def kill(self, port: int) -> None:
        """SIGKILL the node on `port` (no shutdown, no last fsync) and wait until it is gone."""
        proc = self._procs[port]
        proc.kill()
        proc.wait(START_TIMEOUT_S)

    def restart(self, port: int) -> None:
        """Start the node on `port` again, on its files (nodes.conf, AOF) and with its settings."""
        assert self._procs[port].poll() is not None, "the node is still running"
        self._procs[port] = self._spawn(find_redis_server(), port)
        _wait(lambda: _ping(port), time.monotonic() + START_TIMEOUT_S, f"node {port} did not come back", self)

    def node_ids(self) -> dict[int, str]:
        """Each live node's cluster id, by its own port."""
        ids = {}
        for port in self.all_ports:
            if self._procs.get(port) is not None and self._procs[port].poll() is None:
                with redis.Redis(host="127.0.0.1", port=port, socket_timeout=5, decode_responses=True) as node:
                    ids[port] = str(node.execute_command("CLUSTER", "MYID"))
        return ids

    def nodes(self, port: int) -> list[ClusterNodeLine]:
        """CLUSTER NODES as the node on `port` sees the cluster."""
        with redis.Redis(host="127.0.0.1", port=port, socket_timeout=5, decode_responses=True) as node:
            text = node.execute_command("CLUSTER", "NODES")
        return [ClusterNodeLine.parse(line) for line in _text(text).splitlines() if line.strip()]

    def slot_owners(self, port: int) -> list[str]:
        """The id of the master serving each slot ("" for none), as the node on `port` sees it."""
        owners = [""] * SLOTS
        for line in self.nodes(port):
            if "master" in line.flags and "fail" not in line.flags:
                for first, last in line.slots:
                    owners[first : last + 1] = [line.id] * (last - first + 1)
        return owners

    def replica_of(self, master_port: int) -> int:
        """The port of the replica that follows the master on `master_port`."""
        ids = self.node_ids()
        master = ids[master_port]
        followers = [line for line in self.nodes(master_port) if line.master_id == master]
        by_id = {node_id: port for port, node_id in ids.items()}
        (follower,) = followers
        return by_id[follower.id]

    def node_clients(self) -> list[redis.Redis]:
        """A plain client per master (each sees only its own keys); the caller closes them."""
        return [redis.Redis(host="127.0.0.1", port=port, decode_responses=True) for port in self.ports]

    def client(self) -> ClusterClient:
        return ClusterClient(host="127.0.0.1", port=self.ports[0], decode_responses=True)

    def flush(self) -> None:
        """Empty every master."""
        for node in self.node_clients():
            with node:
                node.flushall()

    def logs(self) -> str:
        tails = []
        for port in self.all_ports:
            log = self.directory / f"redis-{port}.log"
            with contextlib.suppress(OSError):
                tails.append(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:]))
        return "\n".join(tails)

    def _spawn(self, binary: Path, port: int) -> subprocess.Popen[bytes]:
        home = self.directory / str(port)  # its own: nodes.conf, AOF, and the RDB of a full sync
        home.mkdir(parents=True, exist_ok=True)
        settings = {
            "port": str(port),
            "bind": "127.0.0.1",
            "protected-mode": "yes",
            "cluster-enabled": "yes",
            "cluster-config-file": "nodes.conf",
            "cluster-node-timeout": str(self.node_timeout_ms),
            "appendonly": "no",
            "save": "",
            "dir": str(home),
            "logfile": str(self.directory / f"redis-{port}.log"),
            **self.config,
        }
        if port in self.announced:  # clients and its replica reach it through the proxy; the bus stays direct
            settings["cluster-announce-port"] = str(self.announced[port])
        args = [str(binary)]
        for name, value in settings.items():
            args += [f"--{name}", value]
        return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def _ready(self) -> bool:
        return not self._unready()

    def _unready(self) -> str:
        """Why the cluster is not ready yet ("" once it is): every node sees every other and the
        state ok; the first nodes are the masters; each master has its replicas online (through
        the proxy, when proxied), and every node knows the masters by their announced ports."""
        total = len(self.all_ports)
        for port in self.all_ports:
            try:
                fields = _info_fields(port, "CLUSTER", "INFO")
            except redis.RedisError as exc:
                return f"node {port}: {exc}"
            if fields.get("cluster_state") != "ok" or fields.get("cluster_known_nodes") != str(total):
                return f"node {port}: state {fields.get('cluster_state')}, knows {fields.get('cluster_known_nodes')}"
        if not self.replicas:
            return ""
        try:
            for port in self.ports:
                replication = _info_fields(port, "INFO", "replication")
                if replication.get("role") != "master":
                    return f"node {port} is not a master"
                online = [v for k, v in replication.items() if k.startswith("slave") and "state=online" in v]
                if len(online) != self.replicas:
                    return f"master {port}: {len(online)} of {self.replicas} replicas online"
            if self.proxy is not None:
                for upstream, route in self.proxy.stats().items():
                    if route.replication_active != self.replicas:
                        return f"master {upstream}: {route.replication_active} replication links through the proxy"
                for port in self.all_ports:
                    seen = {line.port for line in self.nodes(port) if "master" in line.flags}
                    if seen != set(self.announced.values()):
                        return f"node {port} sees the masters at {sorted(seen)}, not at the proxy's ports"
        except redis.RedisError as exc:
            return str(exc)
        return ""


@dataclasses.dataclass(frozen=True)
class ClusterNodeLine:
    """One line of CLUSTER NODES: `<id> <ip:port@cport> <flags> <master> <ping> <pong> <epoch> <link> <slot>…`."""

    id: str
    port: int
    flags: frozenset[str]
    master_id: str
    slots: tuple[tuple[int, int], ...]

    @classmethod
    def parse(cls, line: str) -> ClusterNodeLine:
        node_id, address, flags, master, _ping, _pong, _epoch, _link, *slots = line.split()
        ranges = []
        for item in slots:
            if item.startswith("["):  # a slot being migrated
                continue
            first, _, last = item.partition("-")
            ranges.append((int(first), int(last or first)))
        port = int(address.split("@", 1)[0].rpartition(":")[2] or 0)
        return cls(node_id, port, frozenset(flags.split(",")), "" if master == "-" else master, tuple(ranges))


def _text(reply: Any) -> str:
    return reply.decode() if isinstance(reply, bytes) else str(reply)


def cluster_info(port: int) -> dict[str, str]:
    """CLUSTER INFO of the node on `port`, as text fields."""
    return _info_fields(port, "CLUSTER", "INFO")


def _info_fields(port: int, *command: str) -> dict[str, str]:
    with redis.Redis(host="127.0.0.1", port=port, socket_timeout=1, decode_responses=True) as node:
        reply = node.execute_command(*command)
    if isinstance(reply, dict):  # redis-py parses INFO into a dict
        return {str(k): _flat(v) for k, v in reply.items()}
    return dict(line.split(":", 1) for line in _text(reply).splitlines() if ":" in line)


def _flat(value: Any) -> str:
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items())
    return str(value)


class ClusterClient(RedisCluster):
    """redis-py's sync cluster client, where DBSIZE and INFO answer for the whole cluster (summed over
    every master), as they do for a single server; redis-py asks only its default node for both."""

    def dbsize(self, **kwargs: Any) -> Any:
        return super().dbsize(**{"target_nodes": RedisCluster.PRIMARIES, **kwargs})

    def info(self, section: Any = None, *args: Any, **kwargs: Any) -> Any:
        if "target_nodes" in kwargs:
            return super().info(section, *args, **kwargs)
        per_node = super().info(section, *args, target_nodes=RedisCluster.PRIMARIES, **kwargs)
        merged: dict[str, Any] = {}
        for info in per_node.values():
            _merge(merged, info)
        return merged


def _merge(into: dict[str, Any], info: dict[str, Any]) -> None:
    for name, value in info.items():
        if isinstance(value, dict):
            _merge(into.setdefault(name, {}), value)
        elif isinstance(value, int) and not isinstance(value, bool) and name in into:
            into[name] += value
        else:
            into.setdefault(name, value)


def _free_cluster_ports(count: int) -> list[int]:
    """Ports p where both p and p + 10000 (the cluster bus) can be bound on 127.0.0.1 right now."""
    ports: list[int] = []
    candidates = random.sample(range(20_000, 30_000), 400)
    for port in candidates:
        if all(_bindable(p) for p in (port, port + BUS_OFFSET)) and port not in ports:
            ports.append(port)
            if len(ports) == count:
                return ports
    raise ClusterStartError("no free port pairs for the cluster")


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ping(port: int) -> bool:
    try:
        with redis.Redis(host="127.0.0.1", port=port, socket_timeout=0.5) as node:
            return bool(node.ping())
    except redis.RedisError:
        return False


def _wait(ready: Any, deadline: float, what: str | Callable[[], str], cluster: LocalCluster) -> None:
    delay = 0.02
    while not ready():
        if time.monotonic() > deadline:
            said = what if isinstance(what, str) else what()
            raise ClusterStartError(f"{said}\n{cluster.logs()}")
        time.sleep(delay)
        delay = min(delay * 2, 0.2)
