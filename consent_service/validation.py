"""Request parsing: JSON bodies and query strings into typed commands, or a 4xx ApiError.

Strict, like the OpenAPI document: required fields, exact types, no unknown properties, bounded
sizes. Whether a site or purpose exists is checked later, against the configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from starlette.datastructures import QueryParams

from consent_service.errors import ApiError
from consent_service.signals import gpc_signal
from consent_service.vocab import Action, ErrorCode, Source

MAX_ID_LENGTH = 64
MAX_PURPOSES = 32
CLIENT_ACTIONS = (Action.ACCEPT_ALL, Action.REJECT_ALL, Action.CUSTOM)
CLIENT_SOURCES = (Source.BANNER, Source.API)


@dataclass(frozen=True, slots=True)
class DecisionQuery:
    site: str
    purposes: tuple[str, ...]
    gpc: bool


@dataclass(frozen=True, slots=True)
class ConsentBody:
    site: str
    action: Action
    choices: Mapping[str, bool]
    policy_version: str | None
    source: Source
    gpc: bool


@dataclass(frozen=True, slots=True)
class OptOutBody:
    site: str
    source: Source
    gpc: bool


@lru_cache(maxsize=1024)
def parse_decision_query(query_string: bytes) -> DecisionQuery:
    """Memoized by the raw query string: tag loaders ask the same few questions millions of times.

    Only valid queries are cached (a raised error is not), and the cache is bounded."""
    query = QueryParams(query_string.decode("latin-1"))
    site = query.get("site")
    purposes = query.getlist("purpose")
    if not site:
        raise _invalid("the query parameter `site` is required")
    if not purposes:
        raise _invalid("at least one `purpose` query parameter is required")
    if len(purposes) > MAX_PURPOSES or any(not p or len(p) > MAX_ID_LENGTH for p in purposes):
        raise _invalid(f"at most {MAX_PURPOSES} purposes of 1–{MAX_ID_LENGTH} characters")
    return DecisionQuery(
        site=_bounded(site, "site"),
        purposes=tuple(dict.fromkeys(purposes)),
        gpc=gpc_signal(query.getlist("gpc")),
    )


def parse_consent(body: dict[str, Any]) -> ConsentBody:
    _no_unknown(body, {"site", "action", "choices", "policy_version", "source", "gpc"})
    action = Action(_member(body.get("action"), "action", CLIENT_ACTIONS))
    choices = body.get("choices")
    if action is Action.CUSTOM and choices is None:
        raise _invalid("`choices` is required with action `custom`")
    if choices is not None and not (isinstance(choices, dict) and all(isinstance(v, bool) for v in choices.values())):
        raise _invalid("`choices` must be an object of purpose → true/false")
    if choices is not None and (len(choices) > MAX_PURPOSES or any(len(k) > MAX_ID_LENGTH for k in choices)):
        raise _invalid(f"`choices` may name at most {MAX_PURPOSES} purposes")
    version = body.get("policy_version")
    if version is not None and (not isinstance(version, str) or not 0 < len(version) <= MAX_ID_LENGTH):
        raise _invalid(f"`policy_version` must be a string of 1–{MAX_ID_LENGTH} characters")
    return ConsentBody(
        site=_site(body),
        action=action,
        choices=choices if action is Action.CUSTOM and choices is not None else {},
        policy_version=version,
        source=Source(_enum(body, "source", CLIENT_SOURCES) or Source.API),
        gpc=_bool(body, "gpc"),
    )


def parse_opt_out(body: dict[str, Any]) -> OptOutBody:
    _no_unknown(body, {"site", "source", "gpc"})
    return OptOutBody(
        site=_site(body), source=Source(_enum(body, "source", CLIENT_SOURCES) or Source.API), gpc=_bool(body, "gpc")
    )


def _site(body: dict[str, Any]) -> str:
    site = body.get("site")
    if not isinstance(site, str) or not site:
        raise _invalid("`site` is required and must be a string")
    return _bounded(site, "site")


def _bounded(value: str, name: str) -> str:
    if len(value) > MAX_ID_LENGTH:
        raise _invalid(f"`{name}` must be at most {MAX_ID_LENGTH} characters")
    return value


def _enum(body: dict[str, Any], name: str, allowed: tuple[str, ...]) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    return _member(value, name, allowed)


def _member(value: object, name: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise _invalid(f"`{name}` must be one of {', '.join(allowed)}")
    return str(value)


def _bool(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise _invalid(f"`{name}` must be true or false")
    return value


def _no_unknown(body: dict[str, Any], known: set[str]) -> None:
    unknown = sorted(set(body) - known)
    if unknown:
        raise _invalid(f"unknown field {unknown[0][:64]!r} (known: {', '.join(sorted(known))})")


def _invalid(detail: str) -> ApiError:
    return ApiError(ErrorCode.INVALID_BODY, detail)
