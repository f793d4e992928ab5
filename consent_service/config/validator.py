"""Typed getters for the configuration's TOML tables that raise ConfigError naming the file and the
field: every error says where and what, so a bad deploy stops with a message a person can act on."""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Literal
from urllib.parse import urlsplit

LANG_RE = re.compile(r"^[a-z]{2,3}$")


class ConfigError(ValueError):
    """An invalid configuration; the message names file, field and problem."""


class Validator:
    """Small typed getters that raise ConfigError naming the file and the field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, where: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.source}: {where}: {problem}")

    def no_unknown(self, raw: dict[str, Any], known: set[str], where: str) -> None:
        unknown = sorted(set(raw) - known)
        if unknown:
            raise self.error(f"{where}.{unknown[0]}", f"unknown field (known: {', '.join(sorted(known))})")

    def _get(self, raw: dict[str, Any], key: str, where: str, default: object) -> object:
        if key in raw:
            return raw[key]
        if default is _REQUIRED:
            raise self.error(f"{where}.{key}", "is required")
        return default

    def string(self, raw: dict[str, Any], key: str, where: str, default: object = None) -> str:
        value = self._get(raw, key, where, _REQUIRED if default is None else default)
        if not isinstance(value, str) or (not value.strip() and default is None):
            raise self.error(f"{where}.{key}", "must be a non-empty string")
        return value

    def optional_str(self, raw: dict[str, Any], key: str, where: str) -> str | None:
        return None if key not in raw else self.string(raw, key, where)

    def matching(self, raw: dict[str, Any], key: str, pattern: re.Pattern[str], where: str, what: str) -> str:
        value = self.string(raw, key, where)
        if not pattern.fullmatch(value):
            raise self.error(f"{where}.{key}", f"{value!r} must be {what}")
        return value

    def boolean(self, raw: dict[str, Any], key: str, where: str, default: bool) -> bool:
        value = self._get(raw, key, where, default)
        if not isinstance(value, bool):
            raise self.error(f"{where}.{key}", "must be true or false")
        return value

    def int_range(self, raw: dict[str, Any], key: str, where: str, bounds: tuple[int, int], default: int) -> int:
        lo, hi = bounds
        value = self._get(raw, key, where, default)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise self.error(f"{where}.{key}", f"must be a whole number from {lo} to {hi}")
        return value

    def list_of(self, raw: dict[str, Any], key: str, typ: type, where: str, default: object = None) -> list[Any]:
        value = self._get(raw, key, where, _REQUIRED if default is None else default)
        if not isinstance(value, list) or not all(isinstance(x, typ) for x in value):
            raise self.error(f"{where}.{key}", f"must be a list of {typ.__name__}")
        return value

    def list_of_tables(self, raw: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(x, dict) for x in value):
            raise ConfigError(f"{self.source}: {where}: must be an array of tables ([[{key}]])")
        return value


_REQUIRED = object()


def is_loopback(host: str) -> bool:
    """`localhost` or a loopback address: where plain http is allowed (tests, a local mirror)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


UrlProblem = Literal["malformed", "credentials", "no_host", "scheme"]


def outbound_url_problem(url: str) -> tuple[UrlProblem, str] | None:
    """The one rule for URLs the service itself calls (partners' webhooks) or fetches (the GVL): a
    host, no user:password (it would show in logs), and https, or plain http to this machine only (a
    test server, a local mirror). None when `url` keeps it; else what is wrong, and the parser's words
    for a malformed URL. Each caller says it in its own words."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # read only to validate it
    except ValueError as exc:
        return "malformed", str(exc)
    if parts.username is not None or parts.password is not None:
        return "credentials", ""
    if not parts.hostname:
        return "no_host", ""
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname)):
        return None
    return "scheme", ""
