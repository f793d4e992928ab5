"""A real Redis Sentinel setup for the tests: a primary, one replica and three sentinels
(`redis-server --sentinel`), all on 127.0.0.1 with free ports and files in a temp dir, stopped at the
end. The sentinels monitor the primary as `mymaster` (quorum 2) and fail over after 2 s down.

The primary is reached through tests/tcp_proxy.py's proxy: the sentinels monitor it at the proxy's
port, the replica replicates from that port, and the service is told that port by the sentinels. So
`cut()` can partition the replica from the primary (the proxy closes only the replication link)
while clients keep writing, and the sentinels see a consistent address (a replica pointing elsewhere
than the sentinels' master would be "fixed" by them, around the proxy). After a failover the promoted
replica is reached directly.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO

import redis

from consent_service.cli.redis_runner import find_redis_server
from tests.tcp_proxy import ReplicationProxy
from tools.live import free_port

MASTER = "mymaster"
START_TIMEOUT_S = 30.0


class LocalSentinel:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.primary_port = free_port()
        self.replica_port = free_port()
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self._logs: list[IO[bytes]] = []
        self.proxy = ReplicationProxy([self.primary_port], directory / "proxy.log")
        self.proxy_port = 0

    @property
    def url(self) -> str:
        return "redis+sentinel://" + ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports) + f"/{MASTER}"

    def __enter__(self) -> LocalSentinel:
        binary = str(find_redis_server())
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            self.proxy_port = self.proxy.start()[self.primary_port]
            replica = ["--replicaof", "127.0.0.1", str(self.proxy_port)]
            for port, extra in ((self.primary_port, []), (self.replica_port, replica)):
                data = self.directory / str(port)
                data.mkdir(parents=True)
                self._spawn(port, [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data), "--save", "",
                                   "--appendonly", "yes", "--appendfsync", "always", *extra])  # fmt: skip
            for port in self.sentinel_ports:
                conf = self.directory / f"sentinel-{port}.conf"
                conf.write_text(
                    f"port {port}\nbind 127.0.0.1\ndir {self.directory}\n"
                    f"sentinel monitor {MASTER} 127.0.0.1 {self.proxy_port} 2\n"
                    f"sentinel down-after-milliseconds {MASTER} 2000\n"
                    f"sentinel failover-timeout {MASTER} 4000\n"
                )
                self._spawn(port, [binary, str(conf), "--sentinel"])
            self.wait(self._watched, "the sentinels did not see the primary and its replica")
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def _spawn(self, port: int, argv: list[str]) -> None:
        log = (self.directory / f"{port}.log").open("ab")
        self._logs.append(log)
        self.procs[port] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)

    def cut(self) -> None:
        """Partition the replica from the primary (its replication link only) until the end."""
        self.proxy.cut(self.primary_port)
        self.wait(lambda: self.link(self.replica_port) == "down", "the cut did not bite")

    def link(self, port: int) -> str:
        with redis.Redis(port=port, socket_timeout=1, decode_responses=True) as r:
            return str(r.info("replication").get("master_link_status"))

    def restart_as_replica(self, port: int) -> None:
        """A killed server started again on its port and files (the sentinels reconfigure it)."""
        data = self.directory / str(port)
        self._spawn(port, [str(find_redis_server()), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data),
                           "--save", "", "--appendonly", "yes", "--appendfsync", "always"])  # fmt: skip

    def kill(self, port: int) -> None:
        proc = self.procs.pop(port)
        proc.kill()
        proc.wait(10)

    def primary(self) -> int | None:
        """The primary's port as a majority of the sentinels says."""
        said: list[int] = []
        for port in self.sentinel_ports:
            with contextlib.suppress(redis.RedisError), redis.Redis(port=port, socket_timeout=1) as s:
                addr = s.execute_command("SENTINEL", "get-master-addr-by-name", MASTER)
                if addr:
                    said.append(int(addr[1]))
        return max(set(said), key=said.count) if said else None

    def _watched(self) -> bool:
        online = self.link(self.replica_port) == "up"
        known = 0
        for port in self.sentinel_ports:
            with redis.Redis(port=port, socket_timeout=1) as s:
                replicas = s.execute_command("SENTINEL", "replicas", MASTER)
                sentinels = s.execute_command("SENTINEL", "sentinels", MASTER)
                known += bool(replicas) and len(sentinels) == 2
        return online and known == len(self.sentinel_ports)

    def wait(self, check: object, what: str, within: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + within
        while True:
            with contextlib.suppress(redis.RedisError, OSError):
                if check():  # type: ignore[operator]
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} within {within:g} s")
            time.sleep(0.1)

    def stop(self) -> None:
        self.proxy.stop()
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()
