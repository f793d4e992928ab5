"""Start and stop a private local `redis-server` (for `consent-service serve` without REDIS_URL, and tests).

Everything is passed on the command line; the server listens on loopback only and keeps its files in
`<data_dir>/redis/`: which binary may run on them, and what those files hold, is redis_files.py's part.

Process lifetime: the child stays in our process group, so a Ctrl-C in the terminal reaches Redis
too, and Redis shuts down gracefully on SIGINT/SIGTERM (flushing the AOF) even if we hang. The
caveat is that Redis may then go away while the service is still draining requests. `stop()` runs
from the CLI's `finally` and from atexit; neither runs if we are killed with SIGKILL (or SIGTERM
without a handler that raises), and then Redis is orphaned. The pidfile check in `start()` refuses
to put a second server on a data directory that such an orphan still uses.
"""

from __future__ import annotations

import atexit
import contextlib
import ipaddress
import logging
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from consent_service.cli.redis_files import (
    LOG_FILE,
    PID_FILE,
    REDIS_SUBDIR,
    VERSION_MARKER,
    RedisRunnerError,
    check_data_version,
    find_redis_server,
    log_size,
    log_tail,
    major_minor,
    prepare_data_dir,
    redis_server_version,
    refuse_leftover_server,
    write_version_marker,
)

# What other modules import from here (the CLI, tests, benchmarks), the file helpers' names included.
__all__ = [
    "APPENDFSYNC_CHOICES",
    "LOG_FILE",
    "PID_FILE",
    "VERSION_MARKER",
    "EmbeddedRedis",
    "RedisRunnerError",
    "find_redis_server",
    "redis_server_version",
]

log = logging.getLogger(__name__)

APPENDFSYNC_CHOICES = ("always", "everysec", "no")

_PROBE_TIMEOUT = 0.5
_SHUTDOWN_WAIT = 5.0
_TERM_WAIT = 3.0
_KILL_WAIT = 3.0
_PORT_ATTEMPTS = 5


class EmbeddedRedis:
    """A redis-server child process bound to loopback with its files under `<data_dir>/redis/`."""

    def __init__(
        self,
        data_dir: Path,
        *,
        binary: Path | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        appendfsync: str = "always",
        persistent: bool = True,
    ) -> None:
        _require_loopback(host)
        if appendfsync not in APPENDFSYNC_CHOICES:
            raise RedisRunnerError(f"appendfsync must be one of {', '.join(APPENDFSYNC_CHOICES)}, not {appendfsync!r}.")
        self._data_path = Path(data_dir) / REDIS_SUBDIR
        self._binary = binary
        self._host = host
        self._requested_port = port
        self._port = port
        self._appendfsync = appendfsync
        self._persistent = persistent
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_handle: IO[bytes] | None = None
        self._verified = False  # we have seen our own pid answer on the port (so SHUTDOWN goes to us)
        self.version: str | None = None  # the running server's version, once started

    @property
    def data_path(self) -> Path:
        """The directory holding the AOF, the log, the pidfile and the version marker."""
        return self._data_path

    @property
    def port(self) -> int:
        """The TCP port (known once started, or when one was given)."""
        if self._port is None:
            raise RedisRunnerError("EmbeddedRedis has no port yet: call start() first.")
        return self._port

    @property
    def url(self) -> str:
        """The redis:// URL of database 0."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"redis://{host}:{self.port}/0"

    @property
    def pid(self) -> int | None:
        """The child's pid while it runs, else None."""
        if self._proc is None or self._proc.poll() is not None:
            return None
        return self._proc.pid

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self, timeout: float = 10.0) -> str:
        """Start Redis, wait until it answers PING, and return its URL."""
        if self.pid is not None:
            return self.url
        self.stop()  # reap a child that died since the last start
        binary = self._binary or find_redis_server()
        version = redis_server_version(binary)
        prepare_data_dir(self._data_path)
        refuse_leftover_server(self._data_path)
        if self._persistent:
            check_data_version(self._data_path, binary, version)
        try:
            self._launch(binary, version, time.monotonic() + timeout)
        except BaseException:
            self._kill_child()  # also on Ctrl-C while waiting: no half-started child is left behind
            raise
        atexit.register(self.stop)
        self.version = version
        if self._persistent:
            try:
                write_version_marker(self._data_path, binary, version)
            except RedisRunnerError:
                self.stop()  # without the marker a later, different Redis could silently start on this data
                raise
        log.info("redis-server %s (pid %s) listening on %s, data in %s", version, self.pid, self.url, self._data_path)
        return self.url

    def _launch(self, binary: Path, version: str, deadline: float) -> None:
        """Spawn redis-server and wait for it, retrying with a fresh port if ours was taken meanwhile."""
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            port = self._requested_port or _free_port(self._host)
            log_offset = log_size(self._data_path)
            self._spawn(binary, version, port)
            failure = self._wait_ready(deadline)
            if failure is None:
                return
            self._kill_child()
            tail = log_tail(self._data_path, log_offset)
            # Another process can grab the port between our probe and Redis' bind.
            if self._requested_port is None and "Address already in use" in tail and attempt < _PORT_ATTEMPTS:
                log.debug("port %d was taken before redis-server bound it; retrying", port)
                continue
            raise RedisRunnerError(
                f"redis-server {binary} ({version}) {failure}. Data directory: {self._data_path}. "
                "Fix what the log below reports, or set REDIS_URL to a Redis server you run. "
                f"Last lines of {self._data_path / LOG_FILE}:\n{tail or '(empty)'}"
            )

    def stop(self) -> None:
        """Shut Redis down gracefully (flushing the AOF), escalating to SIGTERM/SIGKILL; safe to repeat."""
        atexit.unregister(self.stop)
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            sent = self._verified and _send_shutdown(self._host, self.port)
            if not (sent and _wait_exit(proc, _SHUTDOWN_WAIT)):
                _terminate(proc)
            log.info("redis-server (pid %d) stopped", proc.pid)
        self._release_child()

    def _command_line(self, binary: Path, version: str, port: int) -> list[str]:
        args = [
            str(binary),
            "--port",
            str(port),
            "--bind",
            self._host,
            "--protected-mode",
            "yes",
            "--daemonize",
            "no",
            "--dir",
            str(self._data_path),
            "--logfile",
            str(self._data_path / LOG_FILE),
            "--pidfile",
            str(self._data_path / PID_FILE),
            "--dbfilename",
            "dump.rdb",
            "--save",
            "",
            # Small stream nodes: a device's history holds a few entries, and Redis allocates a
            # whole node up front (4 KB by default): 5.0 KB per device becomes 1.4 KB (docs/capacity.md).
            "--stream-node-max-bytes",
            "512",
        ]
        if not self._persistent:
            return [*args, "--appendonly", "no"]
        args += ["--appendonly", "yes", "--appendfsync", self._appendfsync, "--appendfilename", "appendonly.aof"]
        if major_minor(version) >= (7, 0):
            # 7.0 introduced the multi-part AOF directory; 6.2 rejects this option as a fatal config error.
            args += ["--appenddirname", "appendonlydir"]
        return args

    def _spawn(self, binary: Path, version: str, port: int) -> None:
        self._port = port
        self._verified = False
        # Redis reports config errors on stderr before it opens its logfile, so both go to the same log.
        self._log_handle = (self._data_path / LOG_FILE).open("ab")
        try:
            self._proc = subprocess.Popen(  # noqa: S603 - argument list built here, no shell
                self._command_line(binary, version, port),
                stdin=subprocess.DEVNULL,
                stdout=self._log_handle,
                stderr=self._log_handle,
                cwd=self._data_path,
            )
        except OSError as exc:
            self._release_child()
            raise RedisRunnerError(f"Cannot run {binary} ({exc}); check the path and that it is executable.") from exc

    def _wait_ready(self, deadline: float) -> str | None:
        """Poll until our own server answers PING; return None, or why it failed."""
        assert self._proc is not None
        delay = 0.01
        while True:
            code = self._proc.poll()
            if code is not None:
                return f"exited with status {code} during startup"
            remaining = max(deadline - time.monotonic(), 0.05)
            if _probe_pid(self._host, self.port, min(remaining, _PROBE_TIMEOUT)) == self._proc.pid:
                self._verified = True
                return None
            if time.monotonic() >= deadline:
                return "did not answer PING in time"
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def _kill_child(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            _terminate(self._proc)
        self._release_child()

    def _release_child(self) -> None:
        self._proc = None
        self._verified = False
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None


def _require_loopback(host: str) -> None:
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        # The embedded server has no password; it must not be reachable from other machines.
        raise RedisRunnerError(f"The embedded Redis only binds to a loopback IP such as 127.0.0.1, not {host!r}.")


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _client(host: str, port: int, timeout: float) -> redis.Redis:
    """A client that tries once: the caller's own polling, or its SIGTERM fallback, is the retry."""
    return redis.Redis(
        host=host,
        port=port,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),  # redis-py would otherwise retry 10 times, backing off
    )


def _probe_pid(host: str, port: int, timeout: float) -> int | None:
    """The process id of the Redis that answers PING on host:port, or None."""
    try:
        with _client(host, port, timeout) as client:
            client.ping()
            # Another Redis may own the port (we lost the bind race); only our own pid counts.
            pid = client.info("server").get("process_id")
    except redis.RedisError:  # not up yet, still loading its AOF (-LOADING), or not Redis at all
        return None
    return pid if isinstance(pid, int) else None


def _send_shutdown(host: str, port: int) -> bool:
    """Ask Redis to SHUTDOWN (it fsyncs the AOF first); False if it could not be asked or refused."""
    try:
        with _client(host, port, _PROBE_TIMEOUT) as client:
            # Connect with a PING first: redis-py's shutdown() takes every ConnectionError for success,
            # a refused connection too, and then we would wait for an exit that nobody asked for.
            client.ping()
            client.shutdown()  # Redis says yes by closing the connection; shutdown() returns then
    except redis.TimeoutError:
        return True  # sent, and busy shutting down; the caller waits for the exit
    except redis.ConnectionError as exc:
        # Normal after a Ctrl-C: Redis got the SIGINT too and is already closing.
        log.debug("could not send SHUTDOWN to redis-server on port %d: %s", port, exc)
        return False
    except redis.RedisError as exc:  # an error reply: Redis stays up
        log.warning("redis-server refused SHUTDOWN: %s", exc)
        return False
    return True


def _wait_exit(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return False
    return True


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (Redis shuts down gracefully on it), then SIGKILL if it still hangs."""
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    if _wait_exit(proc, _TERM_WAIT):
        return
    log.warning("redis-server (pid %d) ignored SIGTERM; killing it", proc.pid)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    if not _wait_exit(proc, _KILL_WAIT):
        log.error("redis-server (pid %d) did not exit after SIGKILL", proc.pid)
