"""`consent-service`: run the service (starting a private Redis when none is configured)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from types import FrameType

import uvicorn

from consent_service import logs
from consent_service.keys import KeysError, resolve_keys
from consent_service.observability import MULTIPROC_ENV
from consent_service.redis_runner import EmbeddedRedis, RedisRunnerError
from consent_service.settings import Settings, SettingsError, settings_from_env
from consent_service.sites import ConfigError, load_sites


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = settings_from_env(os.environ)
        if args.command == "check-config":
            return _check_config(Path(args.file) if args.file else settings.config_path)
        return serve(_with_args(settings, args))
    except (SettingsError, ConfigError, KeysError, RedisRunnerError) as exc:
        print(f"consent-service: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="consent-service", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="run the service (every option also from CONSENT_* variables)")
    serve_cmd.add_argument("--host", help="interface to bind (CONSENT_HOST, default 127.0.0.1)")
    serve_cmd.add_argument("--port", type=int, help="port (CONSENT_PORT, default 8000)")
    serve_cmd.add_argument("--workers", type=int, help="worker processes (CONSENT_WORKERS, default 1)")
    serve_cmd.add_argument("--data-dir", help="data directory (CONSENT_DATA_DIR, default .consent-data)")
    serve_cmd.add_argument("--config", help="site configuration TOML (CONSENT_CONFIG, default: the demo site)")
    serve_cmd.add_argument(
        "--log-format",
        choices=logs.FORMATS,
        help="json (one object per line), text, or auto: json unless stderr is a terminal (CONSENT_LOG_FORMAT)",
    )
    serve_cmd.add_argument(
        "--access-log",
        action="store_true",
        default=None,
        help="log each request: route template, method, status, duration; never addresses or queries "
        "(CONSENT_ACCESS_LOG, default off)",
    )
    serve_cmd.add_argument(
        "--shutdown-timeout",
        type=int,
        dest="shutdown_timeout_s",
        help="on SIGTERM, seconds that requests in flight get to finish (CONSENT_SHUTDOWN_TIMEOUT_S, default 10)",
    )
    check = commands.add_parser("check-config", help="validate a site configuration file and exit")
    check.add_argument("file", nargs="?", help="the TOML file (default CONSENT_CONFIG)")
    return parser


def _with_args(settings: Settings, args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    for name in ("host", "port", "workers", "log_format", "access_log", "shutdown_timeout_s"):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    if args.data_dir:
        overrides["data_dir"] = Path(args.data_dir)
    if args.config:
        overrides["config_path"] = Path(args.config)
    return replace(settings, **overrides)  # type: ignore[arg-type]


def _check_config(path: Path | None) -> int:
    config = load_sites(path)
    print(f"{config.source}: OK, sites: {', '.join(config.sites)}")
    return 0


def serve(settings: Settings) -> int:
    """Validate everything, start Redis if needed, then run uvicorn until SIGTERM or Ctrl-C.

    uvicorn stops taking connections, lets requests in flight finish (at most
    `shutdown_timeout_s`), runs the app's shutdown (background tasks cancelled, store closed) and
    re-raises the signal, which ends here: the embedded Redis is stopped after the server, and the
    exit status is 0."""
    log_format = logs.resolve_format(settings.log_format, sys.stderr)
    logs.configure(log_format, settings.log_level)
    sites = load_sites(settings.config_path)  # fails fast, naming file and field
    data_dir = settings.data_dir.resolve()
    resolve_keys(replace(settings, data_dir=data_dir))  # generated once here, before workers could race
    _fresh_multiprocess_dir()
    embedded = None if settings.redis_url else EmbeddedRedis(data_dir)
    with _stop_on_signals():
        try:
            redis_url = settings.redis_url or embedded.start()  # type: ignore[union-attr]
            _export_for_workers(settings, data_dir, redis_url)
            _announce(settings, sites.source, data_dir, embedded, log_format)
            uvicorn.run(
                "consent_service.app:app_from_env",
                factory=True,
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
            if embedded is not None:
                with _signals_ignored():  # bounded (redis_runner), and it must finish: Redis flushes its AOF
                    embedded.stop()
    return 0


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


def _export_for_workers(settings: Settings, data_dir: Path, redis_url: str) -> None:
    # Workers are separate processes that build their settings from the environment.
    os.environ["REDIS_URL"] = redis_url
    os.environ["CONSENT_DATA_DIR"] = str(data_dir)
    if settings.config_path is not None:
        os.environ["CONSENT_CONFIG"] = str(settings.config_path.resolve())
    os.environ["CONSENT_ACCESS_LOG"] = "on" if settings.access_log else "off"


def _announce(settings: Settings, source: str, data_dir: Path, embedded: EmbeddedRedis | None, log_format: str) -> None:
    host = "localhost" if settings.host in ("127.0.0.1", "0.0.0.0") else settings.host  # noqa: S104
    base = f"http://{host}:{settings.port}"
    lines = [
        f"Consent service:  {base}   (decision: {base}/v1/decision?site=demo&purpose=advertising)",
        *([f"Demo page:        {base}/demo   (try {base}/demo?region=DE)"] if settings.demo_enabled else []),
        f"Sites:            {source}",
        f"Data directory:   {data_dir}  (generated keys, when not configured)",
    ]
    if embedded is not None:
        lines.append(f"Redis:            started here ({embedded.version}), AOF in {embedded.data_path}")
    else:
        lines.append("Redis:            REDIS_URL (not started here)")
    if log_format == "json":  # one JSON object per line, like the logs
        formatter = logs.JsonFormatter()
        for line in lines:
            record = logging.makeLogRecord(
                {"name": "consent_service.cli", "levelname": "INFO", "msg": " ".join(line.split())}
            )
            print(formatter.format(record), flush=True)
        return
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
