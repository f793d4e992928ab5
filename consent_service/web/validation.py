"""Request parsing: JSON bodies and query strings into typed commands, or a 4xx ApiError.

Strict, like the OpenAPI document: required fields, exact types, no unknown properties, bounded
sizes. Whether a site or purpose exists is checked later, against the configuration.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from starlette.datastructures import QueryParams

from consent_service.core.digits import ascii_int
from consent_service.core.errors import ApiError
from consent_service.core.signals import gpc_signal
from consent_service.core.vocab import Action, ErrorCode, RequestType, Source
from consent_service.rights.agents import AgentBody

MAX_ID_LENGTH = 64
MAX_PURPOSES = 32
MAX_ACCOUNT_ID_LENGTH = 256  # hashed, never stored: any string the site uses, within reason
MAX_AGENT_TEXT = 128  # an agent's name and reference are stored and exported: short and printable
MAX_TOKEN_TEXT = 256
MAX_RECEIVED_AGE_MS = 366 * 86_400_000  # a request older than a year would be long overdue
FIRST_YEAR, LAST_YEAR = 2020, 2100  # the days statistics can be asked for
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


CACHED_QUERY_BYTES = 512  # longer query strings are parsed every time: the cache's keys stay small


def parse_decision_query(query_string: bytes) -> DecisionQuery:
    """Memoized by the raw query string: tag loaders ask the same few questions millions of times.

    Only valid queries are cached (a raised error is not), and the cache is bounded in entries and,
    by CACHED_QUERY_BYTES, in the size of each key (a valid query may carry any amount of junk)."""
    if len(query_string) > CACHED_QUERY_BYTES:
        return _parse_decision_query(query_string)
    return _cached_decision_query(query_string)


@lru_cache(maxsize=1024)
def _cached_decision_query(query_string: bytes) -> DecisionQuery:
    return _parse_decision_query(query_string)


def _parse_decision_query(query_string: bytes) -> DecisionQuery:
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
    if version is not None and (
        not isinstance(version, str) or not 0 < len(version) <= MAX_ID_LENGTH or not version.isprintable()
    ):  # stored and exported: no control or bidi-override characters
        raise _invalid(f"`policy_version` must be printable text of 1–{MAX_ID_LENGTH} characters")
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


@dataclass(frozen=True, slots=True)
class LinkBody:
    site: str
    account_id: str
    device: str


def parse_link(body: dict[str, Any]) -> LinkBody:
    _no_unknown(body, {"site", "account_id", "device"})
    return LinkBody(site=_site(body), account_id=_account_id(body.get("account_id")), device=_token(body.get("device")))


def parse_agent_request(body: dict[str, Any], now_ms: int) -> AgentBody:
    _no_unknown(body, {"site", "account_id", "device", "type", "agent", "reference", "received"})
    account_id, device = body.get("account_id"), body.get("device")
    if (account_id is None) == (device is None):
        raise _invalid("exactly one of `account_id` and `device` is required")
    return AgentBody(
        site=_site(body),
        account_id=None if account_id is None else _account_id(account_id),
        device=None if device is None else _token(device),
        type=RequestType(_member(body.get("type"), "type", tuple(RequestType))),
        agent=_printable(body.get("agent"), "agent"),
        reference=_printable(body.get("reference"), "reference"),
        received_ms=_received(body.get("received"), now_ms),
    )


def parse_time(raw: str | None, name: str) -> int | None:
    """Milliseconds since the epoch, or an ISO 8601 date or time (UTC when no offset is given)."""
    if raw is None:
        return None
    ms = ascii_int(raw, max_digits=15)
    if ms is not None:
        return ms
    try:
        parsed = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise _invalid(f"`{name}` must be an ISO 8601 date or time, or milliseconds since 1970") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return int(parsed.timestamp() * 1000)


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII digits only (\d also takes "２")


def parse_day(raw: str) -> dt.date | None:
    """A UTC day written exactly as YYYY-MM-DD, from FIRST_YEAR to LAST_YEAR; None for anything else.

    Stricter than `date.fromisoformat`, which also takes week dates (`2026-W01-1`), ordinal dates
    (`2026-001`) and the basic format (`20260101`). One parser for the API and the dashboard."""
    if not _DAY.fullmatch(raw):
        return None
    try:
        day = dt.date(int(raw[:4]), int(raw[5:7]), int(raw[8:]))
    except ValueError:  # 2026-02-30, month 13, …
        return None
    return day if FIRST_YEAR <= day.year <= LAST_YEAR else None


class DayRangeError(ValueError):
    """A range of days that cannot be served; the message says why, in words a person can read."""


def parse_day_range(
    first: str | None, last: str | None, today: dt.date, *, default_days: int, max_days: int
) -> tuple[dt.date, dt.date]:
    """`from`/`to` as UTC days, both included (None: the last `default_days` up to today); at most
    `max_days`. One rule for the statistics API and the dashboard."""
    end = _range_day(last, "to") if last is not None else today
    start = _range_day(first, "from") if first is not None else end - dt.timedelta(days=default_days - 1)
    if start > end:
        raise DayRangeError("“from” is after “to”")
    if (end - start).days >= max_days:
        raise DayRangeError(f"a range is at most {max_days} days")
    return start, end


def _range_day(raw: str, name: str) -> dt.date:
    day = parse_day(raw)
    if day is None:
        raise DayRangeError(f"“{name}” must be a date (YYYY-MM-DD) from {FIRST_YEAR} to {LAST_YEAR}")
    return day


def _received(value: object, now_ms: int) -> int | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_ID_LENGTH:
        raise _invalid("`received` must be an ISO 8601 date or time")
    received = parse_time(value, "received")
    if received is None or not now_ms - MAX_RECEIVED_AGE_MS <= received <= now_ms + 300_000:
        raise _invalid("`received` must be in the past year and not in the future")
    return received


def _account_id(value: object) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ACCOUNT_ID_LENGTH:
        raise _invalid(f"`account_id` must be a string of 1–{MAX_ACCOUNT_ID_LENGTH} characters")
    return value


def _token(value: object) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_TOKEN_TEXT:
        raise _invalid("`device` must be the device's token (a string)")
    return value


def _printable(value: object, name: str) -> str:
    if not isinstance(value, str) or not 0 < len(value.strip()) <= MAX_AGENT_TEXT or not value.isprintable():
        raise _invalid(f"`{name}` must be printable text of 1–{MAX_AGENT_TEXT} characters")
    return value.strip()


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
    """No unknown fields, and no nulls: an optional field is left out, never sent as null."""
    unknown = sorted(set(body) - known)
    if unknown:
        raise _invalid(f"unknown field {unknown[0][:64]!r} (known: {', '.join(sorted(known))})")
    nulls = sorted(name for name, value in body.items() if value is None)
    if nulls:
        raise _invalid(f"`{nulls[0]}` must not be null (leave an optional field out)")


def _invalid(detail: str) -> ApiError:
    return ApiError(ErrorCode.INVALID_BODY, detail)
