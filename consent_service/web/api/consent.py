"""The consent API for banners, tag loaders and the site's pages: decision, consent, opt-out,
experience, the device's own data (`/v1/me`) and the CORS preflight. Each route reads the request
(parse → site → visitor), calls one use case, and shapes its answer; no business rule lives here."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from consent_service.consent.answers import Outcome
from consent_service.core.errors import ApiError
from consent_service.core.signals import gpc_signal
from consent_service.core.site import Site
from consent_service.core.vocab import Action, ErrorCode
from consent_service.rights.device_data import DeviceData, DeviceErasure
from consent_service.web import http
from consent_service.web.state import AppState, bind
from consent_service.web.validation import parse_consent, parse_decision_query, parse_opt_out
from consent_service.web.visitor import language, visitor_of


def routes() -> list[Route]:
    return [
        Route("/v1/decision", bind(decision), methods=["GET"]),
        Route("/v1/consent", bind(consent), methods=["POST"]),
        Route("/v1/opt-out", bind(opt_out), methods=["POST"]),
        Route("/v1/sites/{site}/experience", bind(experience), methods=["GET"]),
        Route("/v1/me", bind(me), methods=["GET", "DELETE"]),
    ]


def preflight_route() -> Route:
    """Last among the /v1 routes: it answers OPTIONS for every /v1 path."""
    return Route("/v1/{rest:path}", bind(preflight), methods=["OPTIONS"])


async def decision(request: Request, state: AppState) -> Response:
    query = parse_decision_query(request.scope["query_string"])
    site = state.site(query.site)
    visitor = visitor_of(request, state, site, query.gpc)
    outcome = await state.service.decision(visitor, query.purposes)
    return _respond(request, state, site, outcome)


async def consent(request: Request, state: AppState) -> Response:
    body = parse_consent(await http.read_body(request))
    site = state.site(body.site)
    _check_origin(request, state, site)
    visitor = visitor_of(request, state, site, body.gpc)
    outcome = await state.service.consent(
        visitor, body.action, body.choices, body.source, policy_version=body.policy_version
    )
    return _respond(request, state, site, outcome)


async def opt_out(request: Request, state: AppState) -> Response:
    body = parse_opt_out(await http.read_body(request))
    site = state.site(body.site)
    _check_origin(request, state, site)
    visitor = visitor_of(request, state, site, body.gpc)
    outcome = await state.service.consent(visitor, Action.OPT_OUT, {}, body.source)
    return _respond(request, state, site, outcome)


async def experience(request: Request, state: AppState) -> Response:
    site = state.site(request.path_params["site"])
    # A page whose origin the site does not list could not read the answer anyway (no CORS); a 403 it
    # can read tells its banner that the page is not set up, not that the service is down.
    _check_origin(request, state, site)
    query = request.query_params
    visitor = visitor_of(request, state, site, gpc_signal(query.getlist("gpc")))
    return _respond(request, state, site, await state.service.experience(visitor, language(request, query.get("lang"))))


async def me(request: Request, state: AppState) -> Response:
    """The device's own data: GET a copy of everything held (`?download=1` as a file), DELETE it."""
    site = state.site(request.query_params.get("site") or "")
    visitor = visitor_of(request, state, site, False)
    # Both record a request (§7101), so both come from the site's pages or a server, never another site.
    _check_origin(request, state, site)
    body: DeviceData | DeviceErasure
    if request.method == "DELETE":
        body = await state.rights.erase(visitor)
    else:
        body = await state.rights.access(visitor)
    response = _respond(request, state, site, Outcome(body=body))
    if request.query_params.get("download") == "1":
        response.headers["content-disposition"] = f'attachment; filename="consent-data-{site.id}.json"'
    return response


async def preflight(request: Request, state: AppState) -> Response:
    """CORS preflight: granted to the union of every site's origins (the POST then checks its own site)."""
    origin = http.headers_of(request).get("origin")
    if origin is None or not http.origin_allowed(origin, state.sites.all_origins, request, state.settings):
        raise ApiError(
            ErrorCode.FORBIDDEN_ORIGIN, "this origin is not allowed to call the consent API", site=_site_asked(request)
        )
    headers = {
        **http.cors_headers(origin),
        "access-control-allow-methods": "GET, POST, DELETE, OPTIONS",
        "access-control-allow-headers": "content-type, x-consent-device",
        "access-control-max-age": "600",
    }
    return Response(status_code=204, headers=headers)


def _check_origin(request: Request, state: AppState, site: Site) -> None:
    if not http.origin_allowed(http.headers_of(request).get("origin"), site.origins, request, state.settings):
        raise ApiError(ErrorCode.FORBIDDEN_ORIGIN, f"this origin may not write for site {site.id!r}", site=site.id)


def _site_asked(request: Request) -> str | None:
    """The site a preflight is for, where its URL names it (the experience path, `?site=`)."""
    rest: str = request.path_params.get("rest", "")
    parts = rest.split("/")
    if len(parts) == 3 and parts[0] == "sites" and parts[2] == "experience":
        return parts[1][:64]
    return request.query_params.get("site", "")[:64] or None


def _respond(request: Request, state: AppState, site: Site, outcome: Outcome[Mapping[str, object]]) -> Response:
    headers = dict(http.NO_STORE)
    origin = http.headers_of(request).get("origin")
    if origin is not None:
        if http.origin_allowed(origin, site.origins, request, state.settings):
            headers.update(http.cors_headers(origin))
        else:  # answered, but the browser will hide it from the page: a misconfiguration to tell
            state.basics.misconfig.not_granted(origin, site.id)
    response = http.json_response(outcome.body, 200, headers)
    if outcome.deferred is not None:
        response.background = BackgroundTask(outcome.deferred)
    if outcome.device_token is not None:
        http.set_device_cookie(response, site.id, outcome.device_token, request, state.settings)
    return response
