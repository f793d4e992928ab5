"""Process settings, built once from an environment mapping and passed down.

Nothing else in the package reads `os.environ`: tests inject a mapping instead of patching.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from limits import parse as parse_rate

from consent_service.config.validator import outbound_url_problem
from consent_service.core.digits import ascii_int

SameSite = Literal["lax", "strict", "none"]
CookieSecure = Literal["auto", "always", "never"]

# Trusted CDN header sets, by name; `none` trusts no header (the site's default region applies).
REGION_HEADER_SETS: Mapping[str, tuple[str, str | None]] = {
    "cloudfront": ("cloudfront-viewer-country", "cloudfront-viewer-country-region"),
    "cloudflare": ("cf-ipcountry", "cf-region-code"),
    "vercel": ("x-vercel-ip-country", "x-vercel-ip-country-region"),
}


class SettingsError(ValueError):
    """A bad environment variable; the message names it."""


@dataclass(frozen=True, slots=True)
class Settings:
    redis_url: str | None = None
    data_dir: Path = Path(".consent-data")
    config_path: Path | None = None
    site_id: str | None = None  # a site made here from `--site ID --origin …` (config/selection.py)
    site_origins: tuple[str, ...] = ()  # its origins (CONSENT_ORIGINS)
    secret_keys: tuple[str, ...] = ()  # newest first: the first signs, all verify
    pseudonym_key: str | None = None  # never rotates with the signing keys
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    cookie_samesite: SameSite = "lax"
    cookie_domain: str | None = None
    cookie_secure: CookieSecure = "auto"  # auto: Secure when the request came over https
    cookie_max_age_days: int = 400  # at least 13 months; slides forward while the device visits
    region_headers: tuple[str, ...] = ("cloudfront", "cloudflare", "vercel")
    decision_timeout_ms: int = 100
    write_timeout_ms: int = 2000
    record_ttl_days: int = 400  # a device record without an opt-out
    retention_days: int = 750  # opt-out tombstones and audit entries: at least 24 months
    public_origin: str | None = None  # the service's own origin (its HTML pages are always allowed)
    log_level: str = "info"
    # The bundled demo site and its page (/demo, with its ?region= override): `auto` serves it only
    # when no sites are configured, `on` adds it to the operator's sites, `off` never serves the page.
    demo: Literal["auto", "on", "off"] = "auto"
    admin_keys: tuple[tuple[str, frozenset[str]], ...] = ()  # (key, sites it may act for; "*" = all)
    audit_trim_interval_s: int = 3600  # how often audit entries past retention are trimmed (0: never)
    metrics_key: str | None = None  # when set, GET /metrics needs `Authorization: Bearer <it>`
    log_format: str = "auto"  # json | text | auto (json unless stderr is a terminal)
    access_log: bool = False  # our own access log: route template, method, status, duration only
    shutdown_timeout_s: int = 10  # on SIGTERM, how long requests in flight may take to finish
    # Protocol limits (protocol.py). A service on a subdomain receives every cookie of its parent
    # domain, so the head cap leaves room for a site's cookies; nginx's default buffers hold 32 KiB.
    max_header_bytes: int = 32 * 1024  # request line and headers (URL, names, values): more is a 431
    read_timeout_s: float = 30.0  # for the whole head, and again for the whole body, of one request
    rate_limit_device: str | None = "30/minute"  # writes per device (limits' notation); None: off
    rate_limit_client: str | None = "1200/minute"  # writes per client address (keyed hash); None: off
    redis_wait_replicas: int = 0  # writes count as done once this many replicas have them (WAIT)
    forwarded_hops: int = 0  # trusted proxies in front: the client address is this many hops back in X-Forwarded-For
    stats_retention_days: int = 400  # how long each day's statistics (counters, unique counts) are kept
    # Partner webhooks (delivery.py): `serve` runs the worker when on and some site has partners.
    delivery: bool = True
    delivery_timeout_s: float = 10.0  # one HTTP call, in total
    delivery_lease_s: float = 60.0  # how long a claimed event is a worker's before another may take it
    delivery_poll_s: float = 1.0  # how often an idle worker looks for due events
    delivery_backoff_s: float = 30.0  # the first retry's delay; doubled each attempt, with jitter
    delivery_backoff_cap_s: float = 3600.0
    delivery_max_age_h: float = 72.0  # retries run this long after the event (or its replay), then dead
    # IAB TCF: the CMP id IAB Europe registered for this deployment, and its version (in every TC
    # string). 0 is no registered CMP: vendors may then ignore the strings (a warning says so).
    tcf_cmp_id: int = 0
    tcf_cmp_version: int = 1
    # The IAB Global Vendor List (tcf/gvl_source.py): unset, the bundled list only and no network at all.
    gvl_url: str | None = None
    gvl_translations_url: str | None = None  # a template with {lang}, e.g. IAB's …/v3/purposes-{lang}.json

    @property
    def demo_enabled(self) -> bool:
        """Whether the demo page may be served (where the bundled demo site is among the sites)."""
        return self.demo != "off"

    @property
    def region_header_pairs(self) -> tuple[tuple[str, str | None], ...]:
        return tuple(REGION_HEADER_SETS[name] for name in self.region_headers)


def settings_from_env(env: Mapping[str, str]) -> Settings:
    """Read `CONSENT_*` and `REDIS_URL`; unknown values stop the start with a clear message."""
    d = Settings()
    region_headers = _csv(env.get("CONSENT_REGION_HEADERS"), d.region_headers)
    if region_headers == ("none",):
        region_headers = ()
    for name in region_headers:
        if name not in REGION_HEADER_SETS:
            raise SettingsError(
                f"CONSENT_REGION_HEADERS: unknown {name!r} (known: {', '.join(REGION_HEADER_SETS)}, none)"
            )
    samesite = _choice(env, "CONSENT_COOKIE_SAMESITE", d.cookie_samesite, ("lax", "strict", "none"))
    secure = _choice(env, "CONSENT_COOKIE_SECURE", d.cookie_secure, ("auto", "always", "never"))
    if samesite == "none" and secure == "never":
        # Browsers drop a SameSite=None cookie that is not Secure: every device would be new each visit.
        raise SettingsError("CONSENT_COOKIE_SAMESITE=none needs a Secure cookie: CONSENT_COOKIE_SECURE=auto or always")
    return Settings(
        redis_url=env.get("REDIS_URL") or None,
        data_dir=Path(env.get("CONSENT_DATA_DIR") or d.data_dir),
        config_path=Path(env["CONSENT_CONFIG"]) if env.get("CONSENT_CONFIG") else None,
        site_id=(env.get("CONSENT_SITE") or "").strip() or None,
        site_origins=_csv(env.get("CONSENT_ORIGINS"), ()),
        secret_keys=_csv(env.get("CONSENT_SECRET_KEYS"), ()),
        pseudonym_key=env.get("CONSENT_PSEUDONYM_KEY") or None,
        host=env.get("CONSENT_HOST") or d.host,
        port=_int(env, "CONSENT_PORT", d.port, 0, 65535),
        workers=_int(env, "CONSENT_WORKERS", d.workers, 1, 64),
        cookie_samesite=cast(SameSite, samesite),
        cookie_domain=env.get("CONSENT_COOKIE_DOMAIN") or None,
        cookie_secure=cast(CookieSecure, secure),
        cookie_max_age_days=_int(env, "CONSENT_COOKIE_MAX_AGE_DAYS", d.cookie_max_age_days, 396, 3650),
        region_headers=region_headers,
        decision_timeout_ms=_int(env, "CONSENT_DECISION_TIMEOUT_MS", d.decision_timeout_ms, 5, 10_000),
        write_timeout_ms=_int(env, "CONSENT_WRITE_TIMEOUT_MS", d.write_timeout_ms, 10, 60_000),
        record_ttl_days=_int(env, "CONSENT_RECORD_TTL_DAYS", d.record_ttl_days, 30, 3650),
        retention_days=_int(env, "CONSENT_RETENTION_DAYS", d.retention_days, 731, 3650),
        public_origin=(env.get("CONSENT_PUBLIC_ORIGIN") or "").rstrip("/").lower() or None,
        log_level=_choice(env, "CONSENT_LOG_LEVEL", d.log_level, ("critical", "error", "warning", "info", "debug")),
        admin_keys=_admin_keys(env.get("CONSENT_ADMIN_KEYS")),
        audit_trim_interval_s=_int(env, "CONSENT_AUDIT_TRIM_INTERVAL_S", d.audit_trim_interval_s, 0, 86_400),
        metrics_key=_metrics_key(env.get("CONSENT_METRICS_KEY")),
        log_format=_choice(env, "CONSENT_LOG_FORMAT", d.log_format, ("auto", "json", "text")),
        access_log=_choice(env, "CONSENT_ACCESS_LOG", "off", ("on", "off", "true", "false", "1", "0"))
        in ("on", "true", "1"),
        shutdown_timeout_s=_int(env, "CONSENT_SHUTDOWN_TIMEOUT_S", d.shutdown_timeout_s, 1, 600),
        max_header_bytes=_int(env, "CONSENT_MAX_HEADER_BYTES", d.max_header_bytes, 4096, 1024 * 1024),
        # Small values are for tests; a client on a slow mobile link needs seconds.
        read_timeout_s=_float(env, "CONSENT_READ_TIMEOUT_S", d.read_timeout_s, 0.1, 600),
        rate_limit_device=_rate(env, "CONSENT_RATE_LIMIT_DEVICE", d.rate_limit_device),
        rate_limit_client=_rate(env, "CONSENT_RATE_LIMIT_CLIENT", d.rate_limit_client),
        forwarded_hops=_int(env, "CONSENT_FORWARDED_HOPS", d.forwarded_hops, 0, 10),
        redis_wait_replicas=_int(env, "CONSENT_REDIS_WAIT_REPLICAS", d.redis_wait_replicas, 0, 16),
        stats_retention_days=_int(env, "CONSENT_STATS_RETENTION_DAYS", d.stats_retention_days, 1, 3650),
        demo=_demo(env),
        tcf_cmp_id=_int(env, "CONSENT_TCF_CMP_ID", d.tcf_cmp_id, 0, 4095),
        tcf_cmp_version=_int(env, "CONSENT_TCF_CMP_VERSION", d.tcf_cmp_version, 1, 4095),
        gvl_url=_fetch_url(env, "CONSENT_GVL_URL"),
        gvl_translations_url=_fetch_url(env, "CONSENT_GVL_TRANSLATIONS_URL", template="{lang}"),
        **_delivery(env, d),
    )


def _delivery(env: Mapping[str, str], d: Settings) -> dict[str, Any]:
    """The webhook worker's settings. Floats, so tests and development can use small values."""
    found: dict[str, Any] = {
        "delivery": _choice(env, "CONSENT_DELIVERY", "on", ("on", "off", "true", "false", "1", "0"))
        in ("on", "true", "1"),
        "delivery_timeout_s": _float(env, "CONSENT_DELIVERY_TIMEOUT_S", d.delivery_timeout_s, 0.1, 300),
        "delivery_lease_s": _float(env, "CONSENT_DELIVERY_LEASE_S", d.delivery_lease_s, 0.5, 86_400),
        "delivery_poll_s": _float(env, "CONSENT_DELIVERY_POLL_S", d.delivery_poll_s, 0.01, 300),
        "delivery_backoff_s": _float(env, "CONSENT_DELIVERY_BACKOFF_S", d.delivery_backoff_s, 0.01, 86_400),
        "delivery_backoff_cap_s": _float(
            env, "CONSENT_DELIVERY_BACKOFF_CAP_S", d.delivery_backoff_cap_s, 0.01, 604_800
        ),
        # Below 72 hours only for tests and development: the worker warns at start (delivery.py).
        "delivery_max_age_h": _float(env, "CONSENT_DELIVERY_MAX_AGE_H", d.delivery_max_age_h, 0.0001, 8760),
    }
    if found["delivery_backoff_cap_s"] < found["delivery_backoff_s"]:
        raise SettingsError("CONSENT_DELIVERY_BACKOFF_CAP_S must be at least CONSENT_DELIVERY_BACKOFF_S")
    write_s = _int(env, "CONSENT_WRITE_TIMEOUT_MS", d.write_timeout_ms, 10, 60_000) / 1000
    # A lease that can run out while its holder still waits on the partner (or on Redis to record the
    # answer) would let a second worker send the same event at the same time.
    needed = lease_needed_s(found["delivery_timeout_s"], write_s)
    if found["delivery_lease_s"] < needed:
        raise SettingsError(
            f"CONSENT_DELIVERY_LEASE_S ({found['delivery_lease_s']:g}) must be at least {needed:g}: the HTTP "
            f"timeout (CONSENT_DELIVERY_TIMEOUT_S) plus the store's write timeout plus {LEASE_MARGIN_S:g} s"
        )
    return found


LEASE_MARGIN_S = 1.0


def lease_needed_s(http_timeout_s: float, store_timeout_s: float) -> float:
    """The shortest safe lease: one HTTP call and the write of its outcome, with a margin."""
    return http_timeout_s + store_timeout_s + LEASE_MARGIN_S


def _float(env: Mapping[str, str], name: str, default: float, lo: float, hi: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}: {raw!r} is not a number") from None
    if not lo <= value <= hi:  # also refuses nan
        raise SettingsError(f"{name}: {value:g} is out of range ({lo:g}–{hi:g})")
    return value


def _rate(env: Mapping[str, str], name: str, default: str | None) -> str | None:
    """A rate in limits' notation (`30/minute`, `5 per second`), or `off`."""
    raw = env.get(name, default)
    if raw is None or raw.strip().lower() in ("off", "none", "0", ""):
        return None
    try:
        parse_rate(raw)
    except ValueError:
        raise SettingsError(f"{name}: {raw!r} is not a rate like 30/minute (or off)") from None
    return raw


def _csv(raw: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    if raw is None or not raw.strip():
        return default
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    value = ascii_int(raw, signed=True)  # not int(): it reads "٥", " 5", "+5" and "5_0" too
    if value is None:
        raise SettingsError(f"{name}: {raw!r} is not a whole number")
    if not lo <= value <= hi:
        raise SettingsError(f"{name}: {value} is out of range ({lo}–{hi})")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = (env.get(name) or default).lower()
    if value not in allowed:
        raise SettingsError(f"{name}: {value!r} is not one of {', '.join(allowed)}")
    return value


def _admin_keys(raw: str | None) -> tuple[tuple[str, frozenset[str]], ...]:
    """`key:site1|site2,key2:*`: each admin key with the sites it may act for."""
    keys = []
    for item in _csv(raw, ()):
        key, sep, sites = item.rpartition(":")
        if not sep or len(key) < 32 or not sites:
            raise SettingsError("CONSENT_ADMIN_KEYS: each entry is <key of 32+ characters>:<site|site…|*>")
        keys.append((key, frozenset(s.strip() for s in sites.split("|") if s.strip())))
    return tuple(keys)


def _demo(env: Mapping[str, str]) -> Literal["auto", "on", "off"]:
    value = _choice(env, "CONSENT_DEMO", "auto", ("auto", "on", "off", "true", "false", "1", "0"))
    if value == "auto":
        return "auto"
    return "on" if value in ("on", "true", "1") else "off"


def _fetch_url(env: Mapping[str, str], name: str, template: str | None = None) -> str | None:
    """A URL the service fetches from: https, or plain http to this machine only (a test server, a
    local mirror), like partners' URLs; no user:password (it would show in logs). `template` must
    appear in it."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    if template is not None and template not in raw:
        raise SettingsError(f"{name}: {raw!r} must contain {template} (e.g. …/purposes-{template}.json)")
    found = outbound_url_problem(raw.replace(template, "en") if template else raw)
    if found is not None:
        problem = (
            "must use https (plain http only to 127.0.0.1, ::1 or localhost)"
            if found[0] == "scheme"
            else "is not a URL like https://host/path (without user:password)"
        )
        raise SettingsError(f"{name}: {raw!r} {problem}")
    return raw


def _metrics_key(raw: str | None) -> str | None:
    if not raw:
        return None
    if len(raw) < 32:
        raise SettingsError("CONSENT_METRICS_KEY: use a key of 32+ characters (e.g. `openssl rand -hex 32`)")
    return raw
