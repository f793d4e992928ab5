"""Request parsing: JSON bodies and query strings into typed commands, or a 4xx ApiError.

The bodies' rules are the structs of schemas.py, which also write the OpenAPI document; the
functions here turn a valid body into the command the services take, and add the one rule that
depends on the clock (an agent request's `received`). The decision query is parsed by hand and
memoized: a query string is no JSON, and its cache makes a validator's speed moot.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Literal

from msgspec import UNSET, Struct
from starlette.datastructures import QueryParams

from consent_service.core.digits import ascii_int
from consent_service.core.errors import ApiError
from consent_service.core.signals import gpc_signal
from consent_service.core.vocab import Action, ErrorCode, RequestType, Source
from consent_service.rights.agents import AgentBody
from consent_service.web.schemas import (
    MAX_ID_LENGTH,
    MAX_PURPOSES,
    AgentRequest,
    ConsentRequest,
    LinkRequest,
    OptOutRequest,
    ReplayRequest,
    convert,
    decode,
)

MAX_RECEIVED_AGE_MS = 366 * 86_400_000  # a request older than a year would be long overdue
FIRST_YEAR, LAST_YEAR = 2020, 2100  # the days statistics and the years of request metrics
STATS_DEFAULT_DAYS, STATS_MAX_DAYS = 30, 400  # a statistics report's days: by default, at most
_ACTIONS = {a.value: a for a in (Action.ACCEPT_ALL, Action.REJECT_ALL, Action.CUSTOM)}
_SOURCES = {s.value: s for s in (Source.BANNER, Source.API)}


class DecisionQuery(Struct, frozen=True):
    site: str
    purposes: tuple[str, ...]
    gpc: bool


class ConsentBody(Struct, frozen=True):
    site: str
    action: Action
    choices: Mapping[str, bool]
    policy_version: str | None
    source: Source
    gpc: bool


class OptOutBody(Struct, frozen=True):
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


def parse_consent(raw: bytes) -> ConsentBody:
    body = decode(raw, ConsentRequest)
    action = _ACTIONS[body.action]
    return ConsentBody(
        site=body.site,
        action=action,
        choices=body.choices if action is Action.CUSTOM and body.choices is not UNSET else {},
        policy_version=None if body.policy_version is UNSET else body.policy_version,
        source=_SOURCES[body.source],
        gpc=body.gpc,
    )


def parse_opt_out(raw: bytes) -> OptOutBody:
    body = decode(raw, OptOutRequest)
    return OptOutBody(site=body.site, source=_SOURCES[body.source], gpc=body.gpc)


class LinkBody(Struct, frozen=True):
    site: str
    account_id: str
    device: str


def parse_link(body: dict[str, Any]) -> LinkBody:
    parsed = convert(body, LinkRequest)
    return LinkBody(site=parsed.site, account_id=parsed.account_id, device=parsed.device)


def parse_agent_request(body: dict[str, Any], now_ms: int) -> AgentBody:
    parsed = convert(body, AgentRequest)
    return AgentBody(
        site=parsed.site,
        account_id=None if parsed.account_id is UNSET else parsed.account_id,
        device=None if parsed.device is UNSET else parsed.device,
        type=RequestType(parsed.type),
        agent=parsed.agent.strip(),
        reference=parsed.reference.strip(),
        received_ms=None if parsed.received is UNSET else _received(parsed.received, now_ms),
    )


def parse_replay(body: dict[str, Any]) -> str | None:
    """The partner whose dead letters to replay; None: every partner."""
    parsed = convert(body, ReplayRequest)
    return None if parsed.partner is UNSET else parsed.partner


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
    """A range of days that cannot be served; the message says why, in words a person can read (the
    API's English). `rule` names the rule broken, so that the dashboard says it in its reader's
    language (web/admin/pages.py): `order` (from after to), `length` (more than `max_days`) or `day`
    (`name`, from or to, is no day)."""

    def __init__(self, message: str, rule: Literal["order", "length", "day"], *, name: str = "", max_days: int = 0):
        super().__init__(message)
        self.rule, self.name, self.max_days = rule, name, max_days


def parse_day_range(
    first: str | None, last: str | None, today: dt.date, *, default_days: int, max_days: int
) -> tuple[dt.date, dt.date]:
    """`from`/`to` as UTC days, both included (None: the last `default_days` up to today); at most
    `max_days`. One rule for the statistics API and the dashboard."""
    end = _range_day(last, "to") if last is not None else today
    start = _range_day(first, "from") if first is not None else end - dt.timedelta(days=default_days - 1)
    if start > end:
        raise DayRangeError("“from” is after “to”", "order")
    if (end - start).days >= max_days:
        raise DayRangeError(f"a range is at most {max_days} days", "length", max_days=max_days)
    return start, end


def _range_day(raw: str, name: str) -> dt.date:
    day = parse_day(raw)
    if day is None:
        raise DayRangeError(f"“{name}” must be a date (YYYY-MM-DD) from {FIRST_YEAR} to {LAST_YEAR}", "day", name=name)
    return day


def _received(value: str, now_ms: int) -> int:
    """The rule of `received` that no schema can say: a time in the past year, not in the future
    (the struct has checked that it is a short string)."""
    received = parse_time(value, "received")
    if received is None or not now_ms - MAX_RECEIVED_AGE_MS <= received <= now_ms + 300_000:
        raise _invalid("`received` must be in the past year and not in the future")
    return received


def _bounded(value: str, name: str) -> str:
    if len(value) > MAX_ID_LENGTH:
        raise _invalid(f"`{name}` must be at most {MAX_ID_LENGTH} characters")
    return value


def _invalid(detail: str) -> ApiError:
    return ApiError(ErrorCode.INVALID_BODY, detail)
