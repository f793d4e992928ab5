"""Errors mapped to HTTP in one place: an ApiError to its JSON error, Starlette's 404 and 405 to
ours, anything unexpected to a 500 that shows and logs nothing of the request, and a client that
went away to 499."""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from consent_service.core.errors import ApiError
from consent_service.core.vocab import ErrorCode
from consent_service.web import http
from consent_service.web.state import basics_of

log = logging.getLogger("consent_service")


def handlers() -> dict[Any, Any]:
    return {ApiError: _api_error, HTTPException: _http_error, Exception: _unexpected, ClientDisconnect: _client_gone}


# The answers that say a page is not set up for the service (docs/banner.md), not an outage.
SETUP_ERRORS = frozenset({ErrorCode.FORBIDDEN_ORIGIN, ErrorCode.UNKNOWN_SITE})


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    if exc.code in SETUP_ERRORS:
        basics = basics_of(request)
        if basics is not None:  # a page's misconfiguration: say so in the log, with the fix
            basics.misconfig.refused(exc, http.headers_of(request).get("origin"))
    return http.error_response(exc, _error_cors(request, exc.code))


def _error_cors(request: Request, code: ErrorCode) -> dict[str, str]:
    """Errors are readable by every configured origin, so a banner can see a 503 and its Retry-After.
    A refusal of the page itself (an origin not listed, a site not configured) is readable by any
    origin, so the banner on a misconfigured page can tell its operator what to fix instead of taking
    it for an outage: it grants nothing, as the body holds only the code and its detail, which a
    caller without an Origin header (curl) gets anyway."""
    origin = http.headers_of(request).get("origin")
    basics = basics_of(request)
    if origin is None or basics is None:
        return {}
    if code in SETUP_ERRORS:  # only an origin as browsers send it is echoed, never a hostile string
        return http.cors_headers(origin) if http.well_formed_origin(origin) else {}
    if not http.origin_allowed(origin, basics.sites.all_origins, request, basics.settings):
        return {}
    return http.cors_headers(origin)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        error = ApiError(ErrorCode.METHOD_NOT_ALLOWED, f"{request.method} is not allowed here")
        return http.error_response(error, dict(exc.headers or {}))
    return http.error_response(ApiError(ErrorCode.NOT_FOUND, "no such endpoint"))


async def _unexpected(request: Request, exc: Exception) -> Response:
    # Never a stack trace or request data in the answer or the log line (tokens are personal data).
    # The route's template, not the path: a path can hold an account id.
    route = getattr(request.scope.get("route"), "path_format", "?")
    log.error("unexpected %s on %s %s", type(exc).__name__, request.method, route)
    return http.json_response({"error": ErrorCode.INTERNAL.value, "detail": "unexpected error"}, 500)


async def _client_gone(request: Request, exc: Exception) -> Response:
    # The connection closed while the body was read: the client went away, or the protocol cut a
    # stalled body (protocol.py). Nobody reads this answer and it is no error of ours: 499, nginx's
    # "client closed request", keeps it out of the 500s in /metrics and out of the error log.
    return Response(status_code=499)
