"""`/v1/admin/deliveries`: what was told to which partner, and when (issue 7). HTTP only: the queue
is store/outbox.py, the sending delivery.py.

- `GET /v1/admin/deliveries?site=&partner=&status=pending|delivered|dead&limit=`: the newest
  deliveries (one per event and partner) with their attempts and last result, newest first.
- `POST /v1/admin/deliveries/replay {site, partner?}`: dead letters (of one partner, or all) go back
  to the queue with a fresh retry window.
"""

from __future__ import annotations

from typing import TypedDict

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from consent_service.core.clock import iso_ms, now_ms
from consent_service.core.digits import ascii_int
from consent_service.core.errors import ApiError, unavailable
from consent_service.core.site import Site
from consent_service.core.vocab import ErrorCode
from consent_service.store import StoreUnavailable
from consent_service.store.outbox import STATUSES, Delivery, Status
from consent_service.web import http
from consent_service.web.admin.routes import authorized, authorized_body
from consent_service.web.state import AppState, bind
from consent_service.web.validation import parse_replay

DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
LIST_TIMEOUT_S = 10.0  # a listing reads a small sorted set in each of the 1024 buckets
REPLAY_TIMEOUT_S = 30.0


# ---- the answers (the OpenAPI document's `Delivery`, `Deliveries`, `ReplayAnswer`) --------------


class DeliveryView(TypedDict):
    event_id: str
    type: str  # a core.partner.EventType value
    partner: str
    status: str  # one of STATUSES
    created: str  # times: RFC 3339 (UTC)
    attempts: int
    last_attempt: str | None
    last_result: str | None
    delivered: str | None


class Deliveries(TypedDict):
    site: str
    partner: str | None  # None: every partner
    status: list[Status]  # the statuses listed
    deliveries: list[DeliveryView]  # newest first


class ReplayAnswer(TypedDict):
    site: str
    partner: str | None
    replayed: int  # dead letters put back in the queue


def routes() -> list[Route]:
    return [
        Route("/v1/admin/deliveries", bind(deliveries), methods=["GET"]),
        Route("/v1/admin/deliveries/replay", bind(replay), methods=["POST"]),
    ]


async def deliveries(request: Request, state: AppState) -> Response:
    query = request.query_params
    site = authorized(request, state, query.get("site") or "")
    partner = _partner(site, query.get("partner"))
    statuses = _statuses(query.get("status"))
    limit = _limit(query.get("limit"))
    found: list[Delivery] = []
    try:
        for status in statuses:
            found += await state.store.outbox.listing(
                site.id, status, partner=partner, limit=limit, timeout_s=LIST_TIMEOUT_S
            )
    except StoreUnavailable:
        raise unavailable() from None
    found.sort(key=lambda d: d.created_ms, reverse=True)
    body: Deliveries = {
        "site": site.id,
        "partner": partner,
        "status": list(statuses),
        "deliveries": [_view(d) for d in found[:limit]],
    }
    return http.json_response(body, 200, http.NO_STORE)


async def replay(request: Request, state: AppState) -> Response:
    site, body = await authorized_body(request, state)  # the key first: 401 before the body is read
    partner = _partner(site, parse_replay(body))
    try:
        replayed = await state.store.outbox.replay(site.id, partner, now_ms(), REPLAY_TIMEOUT_S)
    except StoreUnavailable:
        raise unavailable() from None
    answer: ReplayAnswer = {"site": site.id, "partner": partner, "replayed": replayed}
    return http.json_response(answer, 200, http.NO_STORE)


def _partner(site: Site, name: str | None) -> str | None:
    """None: every partner. An empty name is refused, as the document says (minLength 1)."""
    if name is None:
        return None
    if not any(p.name == name for p in site.partners):
        raise ApiError(ErrorCode.INVALID_BODY, f"site {site.id!r} has no partner {name[:64]!r}")
    return name


def _statuses(raw: str | None) -> tuple[Status, ...]:
    if raw is None or raw == "":
        return STATUSES
    for status in STATUSES:
        if raw == status:
            return (status,)
    raise ApiError(ErrorCode.INVALID_BODY, f"status must be one of {', '.join(STATUSES)}")


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    limit = ascii_int(raw, max_digits=len(str(MAX_LIMIT)))
    if limit is None or not 1 <= limit <= MAX_LIMIT:
        raise ApiError(ErrorCode.INVALID_BODY, f"limit must be an integer from 1 to {MAX_LIMIT}")
    return limit


def _view(d: Delivery) -> DeliveryView:
    return {
        "event_id": d.event_id,
        "type": d.type,
        "partner": d.partner,
        "status": d.status,
        "created": iso_ms(d.created_ms),
        "attempts": d.attempts,
        "last_attempt": _iso(d.last_attempt_ms),
        "last_result": d.last_result,
        "delivered": _iso(d.delivered_ms),
    }


def _iso(ms: int | None) -> str | None:
    return None if ms is None else iso_ms(ms)
