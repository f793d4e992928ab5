"""Site configuration: the TOML file operators write, validated once at start.

Every error names the file, the field and what is wrong, so a bad deploy stops with a message a
person can act on instead of a stack trace or, worse, a service that silently allows too much.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from consent_service.config.notice import parse_notice
from consent_service.config.partners import parse_partners
from consent_service.config.tcf import parse_tcf
from consent_service.config.validator import LANG_RE, ConfigError, Validator
from consent_service.core.regions import is_valid_region
from consent_service.core.site import Purpose, PurposeText, Site, SiteConfig
from consent_service.core.texts import TEXT_KEYS
from consent_service.core.vocab import PurposeKind, Regime

SITE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
PURPOSE_ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
COOKIE_PATTERN_RE = re.compile(r"^[A-Za-z0-9_.\-*]{1,100}$")
DEMO_CONFIG = "demo_site.toml"
DEMO_SOURCE = f"<bundled {DEMO_CONFIG}>"


def load_sites(path: Path | None) -> SiteConfig:
    """The operator's file when given, else the bundled `demo` site."""
    if path is None:
        text = resources.files("consent_service.config").joinpath(DEMO_CONFIG).read_text("utf-8")
        return replace(parse_sites(text, source=DEMO_SOURCE), bundled_demo=True)
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the site configuration: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: the site configuration is not UTF-8 text: {exc}") from exc
    return parse_sites(text, source=str(path))


def parse_sites(text: str, *, source: str) -> SiteConfig:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    v = Validator(source)
    raw_sites = v.list_of_tables(doc, "sites", "sites")
    if not raw_sites:
        raise ConfigError(f"{source}: sites: at least one [[sites]] table is required")
    sites: dict[str, Site] = {}
    for i, raw in enumerate(raw_sites):
        site = _parse_site(v, raw, f"sites[{i}]")
        if site.id in sites:
            raise ConfigError(f"{source}: sites[{i}].id: duplicate site id {site.id!r}")
        sites[site.id] = site
    return SiteConfig(sites=sites, source=source)


_SITE_KEYS = {
    "id",
    "origins",
    "purposes",
    "policy_version",
    "default_region",
    "regimes",
    "gpc_lift_by_opt_in",
    "mspa_signatory",
    "consent_lifetime_days",
    "texts",
    "notice",
    "partners",
    "tcf",
}
_PURPOSE_KEYS = {"id", "kind", "sale_share", "text", "cookies"}


def _parse_site(v: Validator, raw: dict[str, Any], where: str) -> Site:
    v.no_unknown(raw, _SITE_KEYS, where)
    site_id = v.matching(raw, "id", SITE_ID_RE, where, "lowercase letters, digits, - and _")
    purposes: dict[str, Purpose] = {}
    for j, praw in enumerate(v.list_of_tables(raw, "purposes", f"{where}.purposes")):
        purpose = _parse_purpose(v, praw, f"{where}.purposes[{j}]")
        if purpose.id in purposes:
            raise v.error(f"{where}.purposes[{j}].id", f"duplicate purpose id {purpose.id!r}")
        purposes[purpose.id] = purpose
    if not purposes:
        raise v.error(f"{where}.purposes", "at least one purpose is required")
    default_region = v.optional_str(raw, "default_region", where)
    if default_region is not None and not is_valid_region(default_region):
        raise v.error(f"{where}.default_region", f"{default_region!r} is not CC or CC-RR (ISO 3166)")
    return Site(
        id=site_id,
        origins=frozenset(
            _parse_origin(v, o, f"{where}.origins[{k}]")
            for k, o in enumerate(v.list_of(raw, "origins", str, where, default=[]))
        ),
        purposes=purposes,
        policy_version=v.string(raw, "policy_version", where, default="1"),
        default_region=default_region,
        regimes=_parse_regimes(v, raw.get("regimes", {}), f"{where}.regimes"),
        gpc_lift_by_opt_in=v.boolean(raw, "gpc_lift_by_opt_in", where, default=False),
        mspa_signatory=v.boolean(raw, "mspa_signatory", where, default=False),
        consent_lifetime_days=v.int_range(raw, "consent_lifetime_days", where, (1, 3650), default=365),
        texts=_parse_ui_texts(v, raw.get("texts", {}), f"{where}.texts"),
        notice=parse_notice(v, raw["notice"], f"{where}.notice", purposes) if "notice" in raw else None,
        partners=parse_partners(v, raw["partners"], f"{where}.partners", purposes) if "partners" in raw else (),
        tcf=parse_tcf(v, raw["tcf"], f"{where}.tcf", purposes) if "tcf" in raw else None,
    )


def _parse_ui_texts(v: Validator, raw: object, where: str) -> dict[str, dict[str, str]]:
    if not isinstance(raw, dict):
        raise v.error(where, "must be a table of [texts.<language>] tables")
    out: dict[str, dict[str, str]] = {}
    for lang, entries in raw.items():
        if not LANG_RE.fullmatch(lang) or not isinstance(entries, dict):
            raise v.error(f"{where}.{lang}", "must be a table named by an ISO 639 language code")
        v.no_unknown(entries, set(TEXT_KEYS), f"{where}.{lang}")
        out[lang] = {key: v.string(entries, key, f"{where}.{lang}") for key in entries}
    return out


def _parse_purpose(v: Validator, raw: dict[str, Any], where: str) -> Purpose:
    v.no_unknown(raw, _PURPOSE_KEYS, where)
    pid = v.matching(raw, "id", PURPOSE_ID_RE, where, "a lowercase identifier (a-z, 0-9, _)")
    kind_name = v.string(raw, "kind", where)
    if kind_name not in PurposeKind.__members__.values():
        raise v.error(f"{where}.kind", f"{kind_name!r} is not one of {', '.join(PurposeKind)}")
    kind = PurposeKind(kind_name)
    sale_share = v.boolean(raw, "sale_share", where, default=False)
    if sale_share and kind is PurposeKind.NECESSARY:
        raise v.error(f"{where}.sale_share", "a necessary purpose cannot be a sale or sharing")
    text = _parse_texts(v, raw.get("text"), f"{where}.text")
    cookies = tuple(v.list_of(raw, "cookies", str, where, default=[]))
    for k, pattern in enumerate(cookies):
        if not COOKIE_PATTERN_RE.fullmatch(pattern):
            raise v.error(f"{where}.cookies[{k}]", f"{pattern!r} is not a cookie name pattern (letters, digits, _.-*)")
    return Purpose(id=pid, kind=kind, sale_share=sale_share, text=text, cookies=cookies)


def _parse_texts(v: Validator, raw: object, where: str) -> dict[str, PurposeText]:
    if not isinstance(raw, dict) or "en" not in raw:
        raise v.error(where, "a table of texts per language with at least [text.en] is required")
    texts: dict[str, PurposeText] = {}
    for lang, entry in raw.items():
        if not LANG_RE.fullmatch(lang) or not isinstance(entry, dict):
            raise v.error(f"{where}.{lang}", "must be a table named by an ISO 639 language code")
        v.no_unknown(entry, {"label", "description"}, f"{where}.{lang}")
        texts[lang] = PurposeText(
            label=v.string(entry, "label", f"{where}.{lang}"),
            description=v.string(entry, "description", f"{where}.{lang}", default=""),
        )
    return texts


def _parse_regimes(v: Validator, raw: object, where: str) -> dict[str, Regime]:
    if not isinstance(raw, dict):
        raise v.error(where, "must be a table of region = regime")
    out: dict[str, Regime] = {}
    for region, regime in raw.items():
        if region != "*" and not is_valid_region(region):
            raise v.error(f"{where}.{region}", "the key must be CC, CC-RR (ISO 3166) or *")
        if regime not in Regime.__members__.values():
            raise v.error(f"{where}.{region}", f"{regime!r} is not one of {', '.join(Regime)}")
        out[region] = Regime(regime)
    return out


def _parse_origin(v: Validator, origin: str, where: str) -> str:
    """`scheme://host[:port]`, normalized the way browsers send `Origin` (lowercase, no slash)."""
    problem = v.error(where, f"{origin!r} is not an origin like https://www.example.com")
    try:
        parts = urlsplit(origin)
        _ = parts.port  # raises on a bad port
    except ValueError:
        raise problem from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise problem
    if any(c in origin for c in "?#@") or not origin.isascii():
        raise problem
    host = parts.netloc.lower()
    default_port = {"http": ":80", "https": ":443"}[parts.scheme]
    if host.endswith(default_port):  # browsers never send the default port in `Origin`
        host = host[: -len(default_port)]
    return f"{parts.scheme}://{host}"
