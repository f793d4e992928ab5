"""`consent-service`: run the service (starting a private Redis when none is configured)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import uvicorn

from consent_service.keys import KeysError, resolve_keys
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
    check = commands.add_parser("check-config", help="validate a site configuration file and exit")
    check.add_argument("file", nargs="?", help="the TOML file (default CONSENT_CONFIG)")
    return parser


def _with_args(settings: Settings, args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    for name in ("host", "port", "workers"):
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
    """Validate everything, start Redis if needed, then run uvicorn until interrupted."""
    sites = load_sites(settings.config_path)  # fails fast, naming file and field
    data_dir = settings.data_dir.resolve()
    resolve_keys(replace(settings, data_dir=data_dir))  # generated once here, before workers could race
    embedded = None if settings.redis_url else EmbeddedRedis(data_dir)
    redis_url = settings.redis_url or embedded.start()  # type: ignore[union-attr]
    try:
        _export_for_workers(settings, data_dir, redis_url)
        _announce(settings, sites.source, data_dir, embedded)
        uvicorn.run(
            "consent_service.app:app_from_env",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            log_level=settings.log_level,
            access_log=False,  # access lines carry client addresses: personal data we do not log
            server_header=False,
        )
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


def _export_for_workers(settings: Settings, data_dir: Path, redis_url: str) -> None:
    # Workers are separate processes that build their settings from the environment.
    os.environ["REDIS_URL"] = redis_url
    os.environ["CONSENT_DATA_DIR"] = str(data_dir)
    if settings.config_path is not None:
        os.environ["CONSENT_CONFIG"] = str(settings.config_path.resolve())


def _announce(settings: Settings, source: str, data_dir: Path, embedded: EmbeddedRedis | None) -> None:
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
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
