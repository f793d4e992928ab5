"""What `serve` prints at start: what is really served. Each site with its origins and the tag to
paste, the demo page only when the demo is on, the dashboard and how to sign in to it, where the
data and Redis are.

The development admin key (config/keys.py) is printed only in a terminal's text output, never as a
JSON line: JSON lines are the logs, and logs never carry a secret (the line says where the key is).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from consent_service.config.selection import demo_page_served, origins_source
from consent_service.config.settings import Settings
from consent_service.core.site import Site, SiteConfig
from consent_service.obs import logs
from consent_service.web.templating import render

LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
ANY_HOSTS = ("0.0.0.0", "::", "")  # noqa: S104 - names of the wildcard bind, compared, not bound
LABEL_WIDTH = 18


@dataclass(frozen=True, slots=True)
class DevKey:
    """The development admin key: its value and the file that keeps it."""

    key: str
    path: Path


def base_url(settings: Settings) -> str:
    """The service's address as a browser on this machine reaches it (or its public origin)."""
    if settings.public_origin:
        return settings.public_origin
    host = settings.host
    if host in (*LOOPBACK_HOSTS, *ANY_HOSTS):
        host = "localhost"
    elif ":" in host:  # an IPv6 address
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


def tag(base: str, site_id: str) -> str:
    """The tag to paste, from its template (markup lives in the templates, tests/test_templates.py)."""
    return render("embed_tag.txt", base=base, site=site_id).strip()


def site_lines(base: str, sites: SiteConfig) -> list[str]:
    """Each site: its origins (and where they are set), the tag to paste, a decision to try."""
    lines = []
    for site in sites.sites.values():
        origins = ", ".join(sorted(site.origins)) or "none (only this service's own pages)"
        lines += [
            label(f"Site {site.id}", f"origins {origins}   (from {origins_source(sites, site.id)})"),
            label("  tag to paste", tag(base, site.id)),
            label("  decision", f"{base}/v1/decision?site={site.id}&purpose={_some_purpose(site)}"),
        ]
    return lines


def _some_purpose(site: Site) -> str:
    sale_share = [pid for pid, p in site.purposes.items() if p.sale_share]
    return (sale_share or list(site.optional_purposes) or list(site.purposes))[0]


def dashboard_lines(base: str, settings: Settings, dev_key: DevKey | None, *, secret_ok: bool) -> list[str]:
    login = label("Dashboard", f"{base}/admin/login")
    if dev_key is not None:
        if secret_ok:
            return [login, label("  admin key", f"{dev_key.key}   (for development; kept in {dev_key.path})")]
        return [login, label("  admin key", f"for development, in {dev_key.path}")]
    if settings.admin_keys:
        return [login, label("  admin key", "one of CONSENT_ADMIN_KEYS")]
    return [login, label("  admin key", "none configured: set CONSENT_ADMIN_KEYS (docs/deploy.md)")]


def announce(
    settings: Settings,
    sites: SiteConfig,
    data_dir: Path,
    *,
    redis: str,
    log_format: str,
    dev_key: DevKey | None = None,
    extra: Sequence[str] = (),
) -> None:
    base = base_url(settings)
    lines = [label("Consent service", base), *site_lines(base, sites)]
    if demo_page_served(settings, sites):
        lines.append(label("Demo page", f"{base}/demo   (try {base}/demo?region=DE)"))
    elif settings.demo == "auto":  # own sites, no demo: say how to add it
        lines.append(label("Demo page", "off with your own sites (CONSENT_DEMO=on or --demo adds it)"))
    lines += [
        *dashboard_lines(base, settings, dev_key, secret_ok=log_format != "json"),
        label("Sites from", sites.source),
        label("Data directory", f"{data_dir}  (generated keys, when not configured)"),
        label("Redis", redis),
        *extra,
    ]
    if log_format == "json":  # one JSON object per line, like the logs
        formatter = logs.JsonFormatter()
        for line in lines:
            record = logging.makeLogRecord(
                {"name": "consent_service.cli.main", "levelname": "INFO", "msg": " ".join(line.split())}
            )
            print(formatter.format(record), flush=True)
        return
    print("\n".join(lines), flush=True)


def label(name: str, value: str) -> str:
    return f"{name + ':':<{LABEL_WIDTH}}{value}"
