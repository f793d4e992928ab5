"""`consent-service`: run the service (starting a private Redis when none is configured), or the
partner webhook worker on its own."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from types import FrameType

import uvicorn

from consent_service.cli import options
from consent_service.cli.announce import LOOPBACK_HOSTS, DevKey, announce, label
from consent_service.cli.redis_runner import EmbeddedRedis, RedisRunnerError
from consent_service.config.keys import ADMIN_KEY_FILE, KeysError, dev_admin_key, resolve_keys
from consent_service.config.selection import sites_for, starter_text
from consent_service.config.settings import Settings, SettingsError, settings_from_env
from consent_service.config.sites import load_sites, parse_sites
from consent_service.config.validator import ConfigError
from consent_service.core.site import SiteConfig
from consent_service.obs import logs
from consent_service.obs.metrics import MULTIPROC_ENV
from consent_service.partners.delivery import Policy, Worker
from consent_service.store import Store
from consent_service.web.protocol import protocol_for
from consent_service.web.state import lifetimes

PARENT_CHECK_S = 1.0
DELIVERY_STOP_S = 15.0  # the worker's own grace (5 s) for deliveries in flight, and closing
RESTART_MIN_S, RESTART_MAX_S = 1.0, 60.0  # between restarts of a delivery worker that keeps ending
log = logging.getLogger("consent_service.cli.main")


class CliError(Exception):
    """A command cannot run as asked; the message says why and what to do."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = options.parser(__doc__)
    args = parser.parse_args(argv)
    try:
        settings = settings_from_env(os.environ)
        if args.command == "check-config":
            return _check_config(Path(args.file) if args.file else None, settings)
        if args.command == "new-site":
            return _new_site(args.site, tuple(args.origin or ()))
        if args.command == "deliver":
            # Read first thing: a parent that died during start-up must not go unnoticed.
            parent = args.parent_pid or (os.getppid() if args.exit_with_parent else None)
            return deliver(options.with_args(settings, args), parent=parent)
        return serve(options.with_args(settings, args))
    except (SettingsError, ConfigError, KeysError, RedisRunnerError, CliError) as exc:
        print(f"consent-service: {exc}", file=sys.stderr)
        return 2


def _check_config(path: Path | None, settings: Settings) -> int:
    config = load_sites(path) if path is not None else sites_for(settings)
    print(f"{config.source}: OK, sites: {', '.join(config.sites)}")
    for site in config.sites.values():
        print(f"  {site.id}: origins {', '.join(sorted(site.origins)) or 'none'}; purposes {', '.join(site.purposes)}")
    return 0


def _new_site(site_id: str, origins: tuple[str, ...]) -> int:
    text = starter_text(site_id, origins)
    parse_sites(text, source=f"new-site {site_id}")  # the origins are checked before anything is printed
    print(text, end="")
    return 0


def serve(settings: Settings) -> int:
    """Validate everything, start Redis if needed, then run uvicorn until SIGTERM or Ctrl-C.

    uvicorn stops taking connections, lets requests in flight finish (at most
    `shutdown_timeout_s`), runs the app's shutdown (background tasks cancelled, store closed) and
    re-raises the signal, which ends here: the embedded Redis is stopped after the server, and the
    exit status is 0."""
    log_format = logs.resolve_format(settings.log_format, sys.stderr)
    logs.configure(log_format, settings.log_level)
    sites = sites_for(settings)  # fails fast, naming flag, file and field
    data_dir = settings.data_dir.resolve()
    resolve_keys(replace(settings, data_dir=data_dir))  # generated once here, before workers could race
    _fresh_multiprocess_dir()
    embedded = None if settings.redis_url else EmbeddedRedis(data_dir)
    delivery: DeliveryProcess | None = None
    with _stop_on_signals():
        try:
            redis_url = settings.redis_url or embedded.start()  # type: ignore[union-attr]
            dev_key = _dev_admin_key(settings, data_dir, embedded)
            _export_for_workers(settings, data_dir, redis_url, dev_key)
            if settings.delivery and any(site.partners for site in sites.sites.values()):
                delivery = DeliveryProcess({**os.environ, "CONSENT_LOG_FORMAT": log_format})
            announce(
                settings,
                sites,
                data_dir,
                redis=_redis_line(embedded),
                log_format=log_format,
                dev_key=dev_key,
                extra=_delivery_lines(delivery),
            )
            uvicorn.run(
                "consent_service.web.asgi:app_from_env",
                factory=True,
                lifespan="on",  # the app's services are built in its lifespan (web/state.py)
                http=protocol_for(settings),  # the head cap and read deadlines (protocol.py)
                host=settings.host,
                port=settings.port,
                workers=settings.workers,
                log_level=settings.log_level,
                log_config=logs.logging_config(log_format, settings.log_level),
                access_log=False,  # uvicorn's lines carry client addresses and query strings (logs.py)
                server_header=False,
                ws="none",  # no WebSocket routes; uvicorn's WebSocket log lines would name the client
                timeout_graceful_shutdown=settings.shutdown_timeout_s,
            )
        finally:
            # Bounded, and both must finish: the worker before the Redis it writes to, and Redis
            # flushes its AOF.
            with _signals_ignored():
                if delivery is not None:
                    delivery.stop()
                if embedded is not None:
                    embedded.stop()
    return 0


class DeliveryProcess:
    """`serve`'s partner webhook worker: `consent-service deliver` in a process of its own (whatever
    the uvicorn worker count), so a partner that is slow or down shares neither an event loop nor a
    GIL with the endpoints. Started again whenever it ends before `stop()` (a crash, the OOM killer,
    a kill by hand): deliveries must not silently stop while the service runs."""

    def __init__(self, env: dict[str, str]) -> None:
        self._env = env
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.process = self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="delivery-watch", daemon=True)
        self._watcher.start()

    def _spawn(self) -> subprocess.Popen[bytes]:
        # Our pid on the command line: the worker then notices even a death before it looked.
        command = [sys.executable, "-m", "consent_service.cli.main", "deliver", "--parent-pid", str(os.getpid())]
        # A session of its own: a Ctrl-C in the terminal reaches serve, which stops the worker itself
        # (after uvicorn, before Redis); any other end of the worker is then one to repair.
        return subprocess.Popen(command, env=self._env, start_new_session=True)  # noqa: S603 - fixed arguments

    def _watch(self) -> None:
        delay, started = RESTART_MIN_S, time.monotonic()
        while not self._stopping.wait(PARENT_CHECK_S):
            status = self.process.poll()
            if status is None:
                continue
            # One that keeps ending at once (e.g. a bug) is restarted ever more slowly.
            delay = RESTART_MIN_S if time.monotonic() - started > RESTART_MAX_S else min(delay * 2, RESTART_MAX_S)
            if self._stopping.wait(delay):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                self.process, started = self._spawn(), time.monotonic()
            log.warning("partner delivery worker ended (status %s); started again (pid %d)", status, self.process.pid)

    def stop(self) -> None:
        """SIGTERM: the worker lets deliveries in flight finish for a few seconds, then exits; any it
        abandons are sent again after their lease (at-least-once)."""
        with self._lock:
            self._stopping.set()
        self._watcher.join(DELIVERY_STOP_S)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=DELIVERY_STOP_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def deliver(settings: Settings, *, parent: int | None = None) -> int:
    """Run the partner webhook worker until SIGTERM or Ctrl-C. It needs the service's own Redis: one
    started here would hold no events."""
    if not settings.redis_url:
        raise CliError(
            "deliver needs REDIS_URL, the Redis the service uses (for a `serve` that started its own Redis, "
            "leave delivery to serve: CONSENT_DELIVERY=on, the default)"
        )
    sites = sites_for(settings)
    if not any(site.partners for site in sites.sites.values()):
        raise CliError(f"{sites.source}: no site has [[sites.partners]]: nothing to deliver")
    logs.configure(logs.resolve_format(settings.log_format, sys.stderr), settings.log_level)
    asyncio.run(_run_worker(settings, sites, parent))
    return 0


async def _run_worker(settings: Settings, sites: SiteConfig, parent: int | None) -> None:
    assert settings.redis_url is not None
    policy = Policy.from_settings(settings)
    store = Store.from_url(settings.redis_url, lifetimes(settings), timeout_s=policy.store_timeout_s)
    worker = Worker(store.outbox, sites.sites, policy)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, worker.stop)
    watch = asyncio.create_task(_stop_without_parent(parent, worker)) if parent is not None else None
    logging.getLogger("consent_service").info("partner delivery worker started (sites: %s)", sites.source)
    try:
        await worker.run()
    finally:
        if watch is not None:
            watch.cancel()
        await store.close()


async def _stop_without_parent(parent: int, worker: Worker) -> None:
    while os.getppid() == parent:  # re-parented: `serve` died without stopping us (SIGKILL)
        await asyncio.sleep(PARENT_CHECK_S)
    worker.stop()


class _Stop(Exception):
    """SIGTERM or SIGINT: uvicorn re-raises the signal once it has shut down gracefully."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signum)


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    """SIGTERM and SIGINT end the `with` block normally (default SIGTERM would kill the process
    before the embedded Redis is stopped). uvicorn puts its own handlers in while it runs."""
    signals = (signal.SIGTERM, signal.SIGINT)
    previous = {sig: signal.signal(sig, _raise_stop) for sig in signals}
    try:
        with contextlib.suppress(_Stop):
            yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    signals = (signal.SIGTERM, signal.SIGINT)
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _fresh_multiprocess_dir() -> None:
    """prometheus-client's multiprocess mode (several workers, one /metrics): its directory must be
    emptied before the workers start, or counters of an earlier run would be added in."""
    raw = os.environ.get(MULTIPROC_ENV)
    if not raw:
        return
    path = Path(raw)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()


def _dev_admin_key(settings: Settings, data_dir: Path, embedded: EmbeddedRedis | None) -> DevKey | None:
    """A generated admin key, only in the development case: no CONSENT_ADMIN_KEYS, the embedded Redis
    (so no REDIS_URL: nothing shared with other machines) and a loopback address to listen on."""
    if settings.admin_keys or embedded is None or settings.host not in LOOPBACK_HOSTS:
        return None
    return DevKey(dev_admin_key(data_dir), data_dir / ADMIN_KEY_FILE)


def _export_for_workers(settings: Settings, data_dir: Path, redis_url: str, dev_key: DevKey | None) -> None:
    # Workers are separate processes that build their settings from the environment.
    os.environ["REDIS_URL"] = redis_url
    os.environ["CONSENT_DATA_DIR"] = str(data_dir)
    if settings.config_path is not None:
        os.environ["CONSENT_CONFIG"] = str(settings.config_path.resolve())
    if settings.site_id:
        os.environ["CONSENT_SITE"] = settings.site_id
        os.environ["CONSENT_ORIGINS"] = ",".join(settings.site_origins)
    os.environ["CONSENT_DEMO"] = settings.demo
    os.environ["CONSENT_ACCESS_LOG"] = "on" if settings.access_log else "off"
    if dev_key is not None:
        os.environ["CONSENT_ADMIN_KEYS"] = f"{dev_key.key}:*"


def _redis_line(embedded: EmbeddedRedis | None) -> str:
    if embedded is None:
        return "REDIS_URL (not started here)"
    return f"started here ({embedded.version}), AOF in {embedded.data_path}"


def _delivery_lines(delivery: DeliveryProcess | None) -> list[str]:
    if delivery is None:
        return []
    pid = delivery.process.pid
    return [label("Partner webhooks", f"worker running (pid {pid}; CONSENT_DELIVERY=off to run it apart)")]


if __name__ == "__main__":
    raise SystemExit(main())
