"""A lean read path for the decision endpoint: one pipelined connection per process, hiredis parsing.

Why not redis-py here: its connection pool costs ~64 µs of CPU per HGETALL on this machine, while
one shared, pipelined connection with hiredis's C parser costs ~8 µs (docs/performance.md), and
that read is the decision endpoint's largest cost. Writes keep using redis-py (Lua scripts,
retries); only the read-only hot path comes here, and only on a standalone Redis: on a Redis Cluster
every command, reads included, goes through redis-py's cluster client (connect.py), which routes
each key to its slot's master.

Replies arrive in the order requests were sent, so every request queues a future; one that timed
out stays queued (cancelled), so later replies still meet their own request and the stream never
desynchronizes. A connection whose oldest request has waited too long is dropped and a new one is
made: that is how a stalled (SIGSTOP) or restarted Redis is recovered from without a restart here.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any, cast

import hiredis
from redis.asyncio.connection import parse_url

STALE_AFTER_S = 1.0  # a reply this late means the connection (or Redis) is stuck: drop it
MAX_PENDING = 10_000  # past this, fail fast instead of queueing more (Redis is not keeping up)


class ReaderError(Exception):
    """The read did not succeed (connection, protocol or Redis error); the caller fails closed."""


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.parser = hiredis.Reader(encoding="utf-8", errors="replace")
        self.pending: deque[tuple[asyncio.Future[Any], float]] = deque()
        self.transport: asyncio.WriteTransport | None = None
        self.closed = False
        self.outgoing: list[bytes] = []
        # Set once the transport has really closed its socket (abort() only schedules that).
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio's classes, so no isinstance check here.
        self.transport = cast(asyncio.WriteTransport, transport)

    def data_received(self, data: bytes) -> None:
        self.parser.feed(data)
        while (reply := self.parser.gets()) is not False:
            if not self.pending:  # a reply nobody asked for: the stream cannot be trusted
                self.abort()
                return
            future, _ = self.pending.popleft()
            if not future.done():
                if isinstance(reply, hiredis.ReplyError):
                    future.set_exception(ReaderError(f"Redis error: {reply}"))
                else:
                    future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.lost.done():
            self.lost.set_result(None)
        while self.pending:
            future, _ = self.pending.popleft()
            if not future.done():
                future.set_exception(ReaderError("connection to Redis lost"))

    def send(self, command: bytes) -> asyncio.Future[Any]:
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self.pending.append((future, time.monotonic()))
        # Coalesced: every command queued in this turn of the event loop leaves in one write (one
        # syscall), which is what pipelining buys under load.
        if not self.outgoing:
            loop.call_soon(self.flush)
        self.outgoing.append(command)
        return future

    def flush(self) -> None:
        if self.transport is not None and not self.closed and self.outgoing:
            self.transport.write(b"".join(self.outgoing))
        self.outgoing.clear()

    def stuck(self) -> bool:
        return bool(self.pending) and time.monotonic() - self.pending[0][1] > STALE_AFTER_S

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()  # connection_lost fails whatever is still pending
        self.closed = True


class PipelinedReader:
    """HGETALL over one shared connection, for plain `redis://` and `unix://` URLs."""

    def __init__(self, url: str, connect_timeout_s: float = 1.0) -> None:
        options = parse_url(url)
        self._host = str(options.get("host", "localhost"))
        self._port = int(options.get("port", 6379))
        self._path = options.get("path")
        self._handshake = _handshake(dict(options))
        self._connect_timeout_s = connect_timeout_s
        self._conn: _Connection | None = None
        self._connecting: asyncio.Task[_Connection] | None = None

    @staticmethod
    def supports(url: str) -> bool:
        return url.startswith(("redis://", "unix://"))

    async def hgetall(self, key: str, timeout_s: float) -> dict[str, str]:
        try:
            async with asyncio.timeout(timeout_s):
                conn = await self._connection()
                if len(conn.pending) >= MAX_PENDING:
                    raise ReaderError("too many reads waiting for Redis")
                flat = await conn.send(_pack(b"HGETALL", key.encode()))
        except (OSError, TimeoutError) as exc:
            raise ReaderError(str(exc) or type(exc).__name__) from exc
        return dict(zip(flat[::2], flat[1::2], strict=True))

    async def close(self) -> None:
        connecting, self._connecting = self._connecting, None
        if connecting is not None:
            connecting.cancel()
            await asyncio.gather(connecting, return_exceptions=True)
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.abort()
            # abort() closes the socket on the loop's next turn: wait for it, or a loop that ends
            # right after this shutdown leaves the socket open (a ResourceWarning at exit).
            await asyncio.wait([conn.lost], timeout=1.0)

    async def _connection(self) -> _Connection:
        conn = self._conn
        if conn is not None and not conn.closed and not conn.stuck():
            return conn
        if conn is not None:
            conn.abort()
            self._conn = None
        if self._connecting is None or self._connecting.done():
            self._connecting = asyncio.ensure_future(self._connect())
            # Retrieved here so a failed connect that every waiter gave up on is not reported as lost.
            self._connecting.add_done_callback(lambda task: task.cancelled() or task.exception())
        # shield: one caller's timeout must not cancel the connect that others wait for too. The
        # connect stores its connection itself, so one that completes after every waiter gave up is
        # still used (and closed), never dropped with its socket open.
        return await asyncio.shield(self._connecting)

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self._connect_timeout_s):
            if self._path:
                _, conn = await loop.create_unix_connection(_Connection, str(self._path))
            else:
                _, conn = await loop.create_connection(_Connection, self._host, self._port)
            try:
                for command in self._handshake:
                    await conn.send(command)
            except BaseException:  # timed out, refused or cancelled mid-handshake: close the socket
                conn.abort()
                raise
        self._conn = conn
        return conn


def _handshake(options: dict[str, Any]) -> list[bytes]:
    commands: list[bytes] = []
    if options.get("password"):
        auth = [b"AUTH", str(options["password"]).encode()]
        if options.get("username"):
            auth.insert(1, str(options["username"]).encode())
        commands.append(_pack(*auth))
    if int(options.get("db") or 0):
        commands.append(_pack(b"SELECT", str(options["db"]).encode()))
    return commands


def _pack(*parts: bytes) -> bytes:
    return hiredis.pack_command(parts)  # type: ignore[arg-type, no-any-return]  # its stub types a 1-tuple
