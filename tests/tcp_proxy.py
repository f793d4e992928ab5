"""A TCP proxy in front of Redis masters that can cut the replication link and nothing else.

Why a proxy, and why this one: the failover test (tests/test_failover.py) must partition a master
from its replica while clients keep writing to that master, on loopback, without root (no
iptables, no `tc`). Redis 6.2 cannot point a cluster replica at another address than the one its
master announces, so each master announces the proxy's port (`cluster-announce-port`): its replica
connects through the proxy, and so do the clients (they follow CLUSTER SLOTS and MOVED). The proxy
therefore tells the two apart by what a connection says first:

- a replica opens with `PING`, (`AUTH`), then `REPLCONF …` and `PSYNC` (old ones: `SYNC`);
- anything else (a client) sends another command first (redis-py: `CLIENT SETNAME`, `CLIENT
  SETINFO`, `HELLO`; redis-cli: the command itself).

So a connection is a replication link once it sends `REPLCONF`, `PSYNC` or `SYNC` while only `PING`
or `AUTH` came before; it is a client at its first other command, and from then on its bytes are
forwarded without being looked at. `cut()` closes a route's replication links and refuses new ones
(the replica retries every second and is turned away at its `REPLCONF`); clients keep flowing.
The cluster bus (port + 10000) does not go through the proxy: gossip, failure detection and the
failover election see every node directly, as they would in a network where only the replication
stream was lost.

The proxy runs in a process of its own (`python -m tests.tcp_proxy UPSTREAM_PORT…`), so that its
forwarding does not compete for the GIL with the service under test, and is driven over its stdin
and stdout, one JSON line each way: `{"cut": port}`, `{"heal": port}`, `{"stats": null}`. It
listens on 127.0.0.1 only, on ports of the system's choosing (the first line it prints maps each
upstream port to its own), and exits when its stdin closes, so it never outlives the tests.
`ReplicationProxy` is the tests' handle on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
REPLICATION_COMMANDS = frozenset({b"REPLCONF", b"PSYNC", b"SYNC"})
PREAMBLE_COMMANDS = frozenset({b"PING", b"AUTH"})  # what a replica may send before REPLCONF
SNIFF_LIMIT = 64 * 1024  # bytes looked at, at most, before a connection counts as a client
CHUNK = 256 * 1024
BOUND_S = 20.0  # how long the tests wait for an answer from the proxy at most (not a speed claim)

REPLICATION, CLIENT = "replication", "client"


class CommandSniffer:
    """Reads the first commands of a connection (RESP arrays, or an inline command) until it can
    say what the connection is: `REPLICATION`, `CLIENT`, or None (only PING/AUTH so far)."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> str | None:
        self._buffer += data
        while True:
            name, rest = _first_command(self._buffer)
            if name is None:  # incomplete
                return CLIENT if len(self._buffer) > SNIFF_LIMIT else None
            name = name.upper()
            if name in REPLICATION_COMMANDS:
                return REPLICATION
            if name not in PREAMBLE_COMMANDS:
                return CLIENT
            self._buffer = rest


def _first_command(buffer: bytes) -> tuple[bytes | None, bytes]:
    """The first command's name and what follows it, or (None, buffer) when it is not all there."""
    if not buffer:
        return None, buffer
    if not buffer.startswith(b"*"):  # an inline command: one line, words separated by spaces
        line, sep, rest = buffer.partition(b"\n")
        if not sep:
            return None, buffer
        words = line.strip().split()
        return (words[0] if words else b""), rest
    header, sep, rest = buffer.partition(b"\r\n")
    if not sep:
        return None, buffer
    try:
        count = int(header[1:])
    except ValueError:
        return b"", rest  # not RESP: a client's business, let Redis answer it
    name = b""
    for index in range(max(count, 0)):
        length_line, sep, rest = rest.partition(b"\r\n")
        if not sep:
            return None, buffer
        try:
            length = int(length_line[1:])
        except ValueError:
            return b"", rest
        if len(rest) < length + 2:
            return None, buffer
        if index == 0:
            name = rest[:length]
        rest = rest[length + 2 :]
    return name, rest


@dataclasses.dataclass
class RouteStats:
    """What one route saw (numbers only: the tests log and check them)."""

    listen_port: int
    upstream_port: int
    cut: bool = False
    clients: int = 0  # client connections accepted
    replication_links: int = 0  # replication links let through
    replication_active: int = 0  # of those, still open
    replication_refused: int = 0  # turned away while cut
    replication_closed_by_cut: int = 0
    upstream_refused: int = 0  # connections the upstream Redis refused (it is down)


class _Route:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.server: asyncio.Server | None = None
        self.stats = RouteStats(listen_port=0, upstream_port=upstream_port)
        self.links: set[_Connection] = set()
        self.handlers: set[asyncio.Task[Any]] = set()  # every connection's, to end them all at exit

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._accept, HOST, 0)
        self.stats.listen_port = self.server.sockets[0].getsockname()[1]

    def cut(self) -> None:
        self.stats.cut = True
        for link in list(self.links):
            self.stats.replication_closed_by_cut += 1
            link.abort()

    def heal(self) -> None:
        self.stats.cut = False

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for handler in self.handlers:
            handler.cancel()
        if self.handlers:
            await asyncio.wait(self.handlers)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handler = asyncio.current_task()
        assert handler is not None
        self.handlers.add(handler)
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await self._relay(reader, writer)
        finally:
            self.handlers.discard(handler)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(HOST, self.upstream_port)
        except OSError:
            self.stats.upstream_refused += 1
            writer.transport.abort()
            return
        await _Connection(self, reader, writer, up_reader, up_writer).run()


class _Connection:
    def __init__(
        self,
        route: _Route,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        up_reader: asyncio.StreamReader,
        up_writer: asyncio.StreamWriter,
    ) -> None:
        self.route = route
        self.reader, self.writer = reader, writer
        self.up_reader, self.up_writer = up_reader, up_writer

    def abort(self) -> None:
        self.writer.transport.abort()
        self.up_writer.transport.abort()

    async def run(self) -> None:
        back = asyncio.create_task(_pump(self.up_reader, self.writer))
        forth = asyncio.create_task(self._forward())
        try:
            await asyncio.wait({back, forth}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            back.cancel()
            forth.cancel()
            self.abort()
            if self in self.route.links:
                self.route.links.discard(self)
                self.route.stats.replication_active -= 1

    async def _forward(self) -> None:
        with contextlib.suppress(OSError):
            await self._forward_all()

    async def _forward_all(self) -> None:
        kind = await self._classify()
        stats = self.route.stats
        if kind == REPLICATION:
            stats.replication_links += 1
            stats.replication_active += 1
            self.route.links.add(self)
        elif kind == CLIENT:
            stats.clients += 1
        else:
            return
        await _pump(self.reader, self.up_writer)

    async def _classify(self) -> str | None:
        """Forward the first commands while reading them; None once the connection closed, or when it
        turned out to be a replication link of a route that is cut (closed without forwarding)."""
        sniffer = CommandSniffer()
        while True:
            data = await self.reader.read(CHUNK)
            if not data:
                return None
            kind = sniffer.feed(data)
            if kind == REPLICATION and self.route.stats.cut:
                self.route.stats.replication_refused += 1
                return None
            self.up_writer.write(data)
            await self.up_writer.drain()
            if kind is not None:
                return kind


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()


async def _serve(upstream_ports: list[int]) -> None:
    routes = {port: _Route(port) for port in upstream_ports}
    for route in routes.values():
        await route.start()
    _reply({str(port): route.stats.listen_port for port, route in routes.items()})
    loop = asyncio.get_running_loop()
    commands = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
    while line := await commands.readline():
        request = json.loads(line)
        if "cut" in request:
            routes[int(request["cut"])].cut()
        elif "heal" in request:
            routes[int(request["heal"])].heal()
        _reply({str(port): dataclasses.asdict(route.stats) for port, route in routes.items()})
    for route in routes.values():  # stdin closed: the tests are done (or gone)
        await route.close()


def _reply(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


class ProxyError(Exception):
    """The proxy process did not start or stopped answering; the message has its output."""


class ReplicationProxy:
    """The tests' handle on a proxy process: one route per upstream (a master's real port)."""

    def __init__(self, upstream_ports: list[int], log: Path) -> None:
        self.upstream_ports = list(upstream_ports)
        self.log = log  # the proxy's stderr
        self.listen_ports: dict[int, int] = {}  # upstream port -> the proxy's port for it
        self._proc: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def start(self) -> dict[int, int]:
        root = Path(__file__).resolve().parent.parent
        with self.log.open("ab") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "tests.tcp_proxy", *map(str, self.upstream_ports)],
                cwd=root,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        ports = self._read()
        self.listen_ports = {int(up): int(listen) for up, listen in ports.items()}
        return self.listen_ports

    def cut(self, upstream_port: int) -> dict[int, RouteStats]:
        """Close the replication links to this upstream and refuse new ones until `heal`."""
        return self._ask({"cut": upstream_port})

    def heal(self, upstream_port: int) -> dict[int, RouteStats]:
        return self._ask({"heal": upstream_port})

    def stats(self) -> dict[int, RouteStats]:
        return self._ask({"stats": None})

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        assert proc.stdin is not None and proc.stdout is not None
        with contextlib.suppress(OSError):
            proc.stdin.close()  # the proxy exits when its stdin closes
        try:
            proc.wait(BOUND_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()

    def _ask(self, request: dict[str, Any]) -> dict[int, RouteStats]:
        with self._lock:
            if self._proc is None or self._proc.stdin is None:
                raise ProxyError("the proxy is not running")
            try:
                self._proc.stdin.write(json.dumps(request) + "\n")
                self._proc.stdin.flush()
            except OSError as exc:
                raise ProxyError(f"the proxy stopped: {self._failure()}") from exc
            answer = self._read()
        return {int(port): RouteStats(**fields) for port, fields in answer.items()}

    def _read(self) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None
        line = _readline(self._proc.stdout, BOUND_S)
        if not line:
            raise ProxyError(f"the proxy did not answer: {self._failure()}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def _failure(self) -> str:
        proc = self._proc
        state = "still running" if proc is None or proc.poll() is None else f"exit code {proc.returncode}"
        tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
        return f"{state}\n{tail}"


def _readline(stream: Any, timeout_s: float) -> str:
    """One line from the proxy's stdout, or "" if none comes within the bound."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    return lines[0] if lines else ""


if __name__ == "__main__":
    asyncio.run(_serve([int(port) for port in sys.argv[1:]]))
