"""A real 3-master Redis Cluster for the tests: three `redis-server --cluster-enabled yes` processes on
127.0.0.1 (free ports, files in a temp dir), joined with `redis-cli --cluster create`, stopped at the end.

No replicas: the tests are about slots and routing (no CROSSSLOT, keys on every master), not failover.
"""

from __future__ import annotations

import atexit
import contextlib
import random
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import redis
from redis.cluster import RedisCluster

from consent_service.cli.redis_runner import find_redis_server

MASTERS = 3
BUS_OFFSET = 10_000  # Redis Cluster's bus listens on port + 10000: both must be free
START_TIMEOUT_S = 20.0


class ClusterStartError(Exception):
    """The local cluster could not be started; the message says why (with the logs' last lines)."""


class LocalCluster:
    """Three cluster-enabled masters on 127.0.0.1, slots spread by `redis-cli --cluster create`."""

    def __init__(self, directory: Path, masters: int = MASTERS) -> None:
        self.directory = directory
        self.masters = masters
        self.ports: list[int] = []
        self._procs: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        """The service's REDIS_URL for this cluster: every master as a startup node."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in self.ports)

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
        try:
            self.ports = _free_cluster_ports(self.masters)
            for port in self.ports:
                self._procs.append(self._spawn(binary, port))
            deadline = time.monotonic() + START_TIMEOUT_S
            for port in self.ports:
                _wait(lambda p=port: _ping(p), deadline, f"redis-server on port {port} did not answer", self)
            nodes = [f"127.0.0.1:{port}" for port in self.ports]
            create = subprocess.run(
                [cli, "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
                capture_output=True,
                timeout=START_TIMEOUT_S,
                check=False,
            )
            if create.returncode != 0:
                raise ClusterStartError(f"redis-cli --cluster create failed:\n{create.stdout.decode()[-2000:]}")
            _wait(self._ready, deadline, "the cluster did not reach cluster_state:ok on every node", self)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        atexit.unregister(self.stop)
        for proc in self._procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self._procs:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs.clear()

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
        for port in self.ports:
            log = self.directory / f"redis-{port}.log"
            with contextlib.suppress(OSError):
                tails.append(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:]))
        return "\n".join(tails)

    def _spawn(self, binary: Path, port: int) -> subprocess.Popen[bytes]:
        args = [
            str(binary),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--protected-mode",
            "yes",
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            f"nodes-{port}.conf",
            "--cluster-node-timeout",
            "5000",
            "--appendonly",
            "no",
            "--save",
            "",
            "--dir",
            str(self.directory),
            "--logfile",
            str(self.directory / f"redis-{port}.log"),
        ]
        return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def _ready(self) -> bool:
        for port in self.ports:
            try:
                with redis.Redis(host="127.0.0.1", port=port, socket_timeout=1, decode_responses=True) as node:
                    info = node.execute_command("CLUSTER", "INFO")
            except redis.RedisError:
                return False
            text = info if isinstance(info, str) else str(info)
            fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
            if fields.get("cluster_state") != "ok" or fields.get("cluster_known_nodes") != str(self.masters):
                return False
        return True


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


def _wait(ready: Any, deadline: float, what: str, cluster: LocalCluster) -> None:
    delay = 0.02
    while not ready():
        if time.monotonic() > deadline:
            raise ClusterStartError(f"{what}\n{cluster.logs()}")
        time.sleep(delay)
        delay = min(delay * 2, 0.2)
