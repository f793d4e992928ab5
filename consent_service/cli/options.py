"""`consent-service`'s command line: its commands and options, and the settings they override."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from consent_service.config.settings import Settings
from consent_service.obs import logs


def parser(description: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="consent-service", description=description)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="run the service (every option also from CONSENT_* variables)")
    serve_cmd.add_argument("--host", help="interface to bind (CONSENT_HOST, default 127.0.0.1)")
    serve_cmd.add_argument("--port", type=int, help="port (CONSENT_PORT, default 8000)")
    serve_cmd.add_argument("--workers", type=int, help="worker processes (CONSENT_WORKERS, default 1)")
    serve_cmd.add_argument("--data-dir", help="data directory (CONSENT_DATA_DIR, default .consent-data)")
    serve_cmd.add_argument("--config", help="site configuration TOML (CONSENT_CONFIG, default: the demo site)")
    serve_cmd.add_argument(
        "--site", help="serve one site of your own with this id, made here (CONSENT_SITE; instead of --config)"
    )
    serve_cmd.add_argument(
        "--origin",
        action="append",
        help="an origin of the pages that embed the banner, e.g. http://localhost:5500; repeatable (CONSENT_ORIGINS)",
    )
    serve_cmd.add_argument(
        "--demo",
        action="store_const",
        const="on",
        help="serve the bundled demo site and /demo beside your own sites (CONSENT_DEMO=on)",
    )
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
    check.add_argument("file", nargs="?", help="the TOML file (default: the sites serve would serve)")
    new = commands.add_parser(
        "new-site", help="print a minimal site configuration to start from (new-site ID --origin ORIGIN > site.toml)"
    )
    new.add_argument("site", help="the site's id, as pages name it in data-site")
    new.add_argument("--origin", action="append", required=True, help="an origin of its pages; repeatable")
    deliver_cmd = commands.add_parser(
        "deliver",
        help="run only the partner webhook worker, on the service's Redis (REDIS_URL; CONSENT_DELIVERY_* settings)",
    )
    deliver_cmd.add_argument("--config", help="site configuration TOML (CONSENT_CONFIG), the same as the service's")
    deliver_cmd.add_argument("--log-format", choices=logs.FORMATS, help="json, text or auto (CONSENT_LOG_FORMAT)")
    # `serve` starts the worker with this: it ends when its parent is gone, even after a SIGKILL.
    deliver_cmd.add_argument("--exit-with-parent", action="store_true", help=argparse.SUPPRESS)
    deliver_cmd.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)  # the same, with the pid given
    return parser


def with_args(settings: Settings, args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    for name in ("host", "port", "workers", "log_format", "access_log", "shutdown_timeout_s", "demo"):
        if getattr(args, name, None) is not None:
            overrides[name] = getattr(args, name)
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    if args.config:
        overrides["config_path"] = Path(args.config)
    if getattr(args, "site", None):
        overrides["site_id"] = args.site
    if getattr(args, "origin", None):
        overrides["site_origins"] = tuple(args.origin)
    return replace(settings, **overrides)  # type: ignore[arg-type]
