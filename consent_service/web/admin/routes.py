"""Routes for the site's backend and the privacy team, under `/v1/admin/`, behind admin keys.

`Authorization: Bearer <key>`: keys come from the environment, each allowed for listed sites;
every key is compared in constant time; 401 without a known key, 403 for another site's data, and
nothing is read or written on a refusal. Parsing and HTTP only: the rules live in accounts.py,
agents.py, device_data.py and request_metrics.py (in rights/).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from consent_service.core.clock import now_ms
from consent_service.core.digits import ascii_int
from consent_service.core.errors import ApiError, unavailable
from consent_service.core.keyed import matching_key
from consent_service.core.site import Site
from consent_service.core.vocab import ErrorCode
from consent_service.rights.accounts import AccountData, AccountErasure
from consent_service.rights.audit_export import audit_csv, audit_jsonl, audit_rows, primed
from consent_service.rights.device_data import Asked
from consent_service.rights.request_metrics import request_metrics, year_range
from consent_service.stats.report import report_csv, report_json
from consent_service.store import StoreUnavailable
from consent_service.web import http
from consent_service.web.state import AppState, bind
from consent_service.web.validation import (
    FIRST_YEAR,
    LAST_YEAR,
    STATS_DEFAULT_DAYS,
    STATS_MAX_DAYS,
    DayRangeError,
    parse_agent_request,
    parse_day_range,
    parse_link,
    parse_time,
)


def routes() -> list[Route]:
    """`bind` is web's (handler, state) → endpoint."""
    return [
        Route("/v1/admin/audit", bind(audit), methods=["GET"]),
        Route("/v1/admin/request-metrics", bind(metrics), methods=["GET"]),
        Route("/v1/admin/stats", bind(stats), methods=["GET"]),
        Route("/v1/admin/accounts/link", bind(link), methods=["POST"]),
        Route("/v1/admin/accounts/unlink", bind(unlink), methods=["POST"]),
        Route("/v1/admin/accounts/{account_id:path}", bind(account), methods=["GET", "DELETE"]),
        Route("/v1/admin/agent-requests", bind(agent_request), methods=["POST"]),
    ]


def _key_sites(request: Request, state: AppState) -> frozenset[str]:
    """The sites the request's admin key may act for; 401 without a known key. Every key is compared
    (in constant time), so the answer's timing says nothing about which one matched."""
    allowed = matching_key(http.bearer(request), state.settings.admin_keys)
    if allowed is None:
        raise ApiError(ErrorCode.UNAUTHORIZED, "an admin key is required: Authorization: Bearer <key>")
    return allowed


def _for_site(allowed: frozenset[str], state: AppState, site_id: str) -> Site:
    site = state.site(site_id)
    if "*" not in allowed and site.id not in allowed:
        raise ApiError(ErrorCode.FORBIDDEN, f"this key may not act for site {site.id!r}")
    return site


def authorized(request: Request, state: AppState, site_id: str) -> Site:
    """401 without a known key, 400 without a site, 404 for an unknown site, 403 for a site the key
    is not for."""
    allowed = _key_sites(request, state)
    if not site_id:
        raise ApiError(ErrorCode.INVALID_BODY, "`site` is required")
    return _for_site(allowed, state, site_id)


async def authorized_body(request: Request, state: AppState) -> tuple[Site, dict[str, Any]]:
    """The site named in the JSON body, and the body. The key is checked before the body is read,
    as on every /v1/admin/ route: a caller without a key gets 401 whatever it sent, and its body is
    never parsed."""
    allowed = _key_sites(request, state)
    body = await http.read_json_object(request)
    site_id = body.get("site")
    if not isinstance(site_id, str) or not site_id:
        raise ApiError(ErrorCode.INVALID_BODY, "`site` is required and must be a string")
    return _for_site(allowed, state, site_id[:64]), body


async def audit(request: Request, state: AppState) -> Response:
    """The audit trail for a time range, streamed as JSON lines or CSV (nothing built up in memory)."""
    query = request.query_params
    site = authorized(request, state, query.get("site") or "")
    start, end = parse_time(query.get("from"), "from"), parse_time(query.get("to"), "to")
    start, end = max(start or 0, 0), max(now_ms() if end is None else end, 0)  # `to=0` is 1970, not now
    fmt = query.get("format", "jsonl")
    if fmt not in ("jsonl", "csv"):
        raise ApiError(ErrorCode.INVALID_BODY, "`format` must be jsonl or csv")
    # The first page is read before the answer starts, so an outage is a 503, not an empty 200.
    try:
        rows = await primed(
            audit_rows(state.store.trail.read(site.id, start, end, state.settings.write_timeout_ms / 1000))
        )
    except StoreUnavailable:
        raise unavailable() from None
    body = audit_csv(rows) if fmt == "csv" else audit_jsonl(rows)
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson"
    headers = {**http.NO_STORE, "content-disposition": f'attachment; filename="audit-{site.id}.{fmt}"'}
    return StreamingResponse(body, media_type=media, headers=headers)


async def metrics(request: Request, state: AppState) -> Response:
    """§7102 request metrics for a calendar year (default: the current one)."""
    query = request.query_params
    site = authorized(request, state, query.get("site") or "")
    year = ascii_int(query.get("year", str(dt.datetime.now(dt.UTC).year)), max_digits=4)
    if year is None or not FIRST_YEAR <= year <= LAST_YEAR:
        raise ApiError(ErrorCode.INVALID_BODY, f"`year` must be a year from {FIRST_YEAR} to {LAST_YEAR}")
    start, end = year_range(year)
    entries = state.store.trail.read_unordered(site.id, start, end, state.settings.write_timeout_ms / 1000)
    try:
        answer = await request_metrics(site.id, year, entries, await state.stats.year_over_limit(site.id, year))
    except StoreUnavailable:
        raise unavailable() from None
    return http.json_response(answer, 200, http.NO_STORE)


async def stats(request: Request, state: AppState) -> Response:
    """Consent statistics for a range of UTC days (default: the last 30), as JSON or CSV."""
    query = request.query_params
    site = authorized(request, state, query.get("site") or "")
    fmt = query.get("format", "json")
    if fmt not in ("json", "csv"):
        raise ApiError(ErrorCode.INVALID_BODY, "`format` must be json or csv")
    today = dt.datetime.now(dt.UTC).date()
    try:
        first, last = parse_day_range(
            query.get("from"), query.get("to"), today, default_days=STATS_DEFAULT_DAYS, max_days=STATS_MAX_DAYS
        )
    except DayRangeError as exc:
        raise ApiError(ErrorCode.INVALID_BODY, str(exc)) from None
    try:
        report = await state.stats.report(site.id, first, last)
    except StoreUnavailable:
        raise unavailable() from None
    if fmt == "json":
        return http.json_response(report_json(report), 200, http.NO_STORE)
    name = f"stats-{site.id}-{first.isoformat()}-{last.isoformat()}.csv"
    headers = {**http.NO_STORE, "content-disposition": f'attachment; filename="{name}"'}
    return Response(report_csv(report), media_type="text/csv; charset=utf-8", headers=headers)


async def link(request: Request, state: AppState) -> Response:
    site, body = await authorized_body(request, state)
    parsed = parse_link(body)
    answer = await state.accounts.link(site, parsed.account_id, parsed.device, now_ms())
    return http.json_response(answer, 200, http.NO_STORE)


async def unlink(request: Request, state: AppState) -> Response:
    site, body = await authorized_body(request, state)
    parsed = parse_link(body)
    answer = await state.accounts.unlink(site, parsed.account_id, parsed.device, now_ms())
    return http.json_response(answer, 200, http.NO_STORE)


async def account(request: Request, state: AppState) -> Response:
    """An account's data (GET) or its deletion (DELETE), after the site verified the person."""
    site = authorized(request, state, request.query_params.get("site") or "")
    account_id = _account_id_of(request)
    if not 0 < len(account_id) <= 256:
        raise ApiError(ErrorCode.INVALID_BODY, "the account id must be 1–256 characters")
    accounts, asked = state.accounts, Asked(now_ms=now_ms())
    answer: AccountData | AccountErasure
    if request.method == "DELETE":
        answer = await accounts.erase(site, account_id, asked)
    else:
        answer = await accounts.access(site, account_id, asked)
    return http.json_response(answer, 200, http.NO_STORE)


_ACCOUNTS_PREFIX = b"/v1/admin/accounts/"


def _account_id_of(request: Request) -> str:
    """The account id from the raw path, decoded exactly once: an id may itself hold `%2F` or `/`,
    which a second decoding (as some ASGI servers and test clients do) would change."""
    raw: bytes | None = request.scope.get("raw_path")
    if raw and raw.startswith(_ACCOUNTS_PREFIX):
        return unquote(raw[len(_ACCOUNTS_PREFIX) :].decode("latin-1"), errors="replace")
    return str(request.path_params["account_id"])


async def agent_request(request: Request, state: AppState) -> Response:
    site, body = await authorized_body(request, state)
    now = now_ms()
    parsed = parse_agent_request(body, now)
    answer = await state.agents.handle(site, parsed, now)
    return http.json_response(answer, 200, http.NO_STORE)
