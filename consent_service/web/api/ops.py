"""The service's own endpoints: the banner script, the GPC support statement, health and readiness,
Prometheus metrics, the OpenAPI document and the favicon."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from consent_service.core.errors import ApiError
from consent_service.core.keyed import matching_key
from consent_service.core.vocab import ErrorCode
from consent_service.obs import metrics as obs_metrics
from consent_service.web import http
from consent_service.web.assets import LONG_CACHE, SHORT_CACHE, load_asset, serve
from consent_service.web.openapi import openapi_document
from consent_service.web.state import AppState, bind

GPC_JSON_DATE = "2026-11-29"  # when our GPC support statement last changed
ICON_TYPE = "image/vnd.microsoft.icon"
ICON_CACHE = "public, max-age=604800"  # a week: browsers ask for it on every page of the service


def routes() -> list[Route]:
    icon = load_asset("favicon.ico", ICON_TYPE)

    async def favicon(request: Request) -> Response:
        return serve(icon, request, ICON_CACHE)

    return [
        Route("/favicon.ico", favicon, methods=["GET"]),
        Route("/v1/banner.js", bind(banner), methods=["GET"]),
        Route("/v1/banner.{digest}.js", bind(banner), methods=["GET"]),
        Route("/.well-known/gpc.json", gpc_json, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", bind(metrics), methods=["GET"]),
        Route("/readyz", bind(readyz), methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]


async def banner(request: Request, state: AppState) -> Response:
    """The banner script: the plain URL for embedding, the content-hashed one cacheable forever."""
    digest = request.path_params.get("digest")
    if digest is not None and digest != state.basics.banner.digest:
        raise ApiError(ErrorCode.NOT_FOUND, "no such banner version; use /v1/banner.js")
    return serve(state.basics.banner, request, SHORT_CACHE if digest is None else LONG_CACHE)


async def gpc_json(request: Request) -> Response:
    headers = {"cache-control": "public, max-age=86400", **http.SECURITY_HEADERS}
    return http.json_response({"gpc": True, "lastUpdate": GPC_JSON_DATE}, 200, headers)


async def healthz(request: Request) -> Response:
    return http.json_response({"status": "ok"})


async def metrics(request: Request, state: AppState) -> Response:
    """Prometheus text format; with CONSENT_METRICS_KEY set, only for `Authorization: Bearer <key>`."""
    key = state.settings.metrics_key
    if key is not None and matching_key(http.bearer(request), ((key, True),)) is None:
        raise ApiError(ErrorCode.UNAUTHORIZED, "a metrics key is required: Authorization: Bearer <key>")
    headers = {"cache-control": "no-store", "x-content-type-options": "nosniff"}
    return Response(obs_metrics.exposition(), headers=headers, media_type=obs_metrics.CONTENT_TYPE)


async def readyz(request: Request, state: AppState) -> Response:
    missing = await state.service.unready()
    if not missing:
        return http.json_response({"status": "ready", "gvl": _gvl(state)})
    # Which master (host:port) does not answer, so that an operator sees it at once: no personal data.
    raise ApiError(ErrorCode.STORE_UNAVAILABLE, f"Redis does not answer: {', '.join(missing)}", retry_after=5)


def _gvl(state: AppState) -> dict[str, object]:
    """The Global Vendor List in use (tcf/gvl_source.py), and why the last fetch failed while it did."""
    found = state.gvl.status()
    shown: dict[str, object] = {"version": found.version, "policy_version": found.policy_version}
    shown["source"] = found.source
    if found.error:
        shown["error"] = found.error
    return shown


async def openapi(request: Request) -> Response:
    headers = {"cache-control": "public, max-age=300", **http.SECURITY_HEADERS}
    return http.json_response(openapi_document(), 200, headers)
