"""Routes: parse the request, call the service, shape the HTTP answer. No business rules here."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from consent_service import admin_pages, admin_routes, delivery_routes, demo, http, observability, privacy_pages
from consent_service.accounts import AccountService
from consent_service.agents import AgentRequests
from consent_service.assets import BANNER, LONG_CACHE, SHORT_CACHE, Asset, load_asset, serve
from consent_service.errors import ApiError
from consent_service.identity import DeviceTokens, FormTokens, Pseudonyms
from consent_service.keys import Keys
from consent_service.maintenance import drain_carries_forever, trim_audit_forever
from consent_service.notice_page import Retention, render_notice
from consent_service.openapi import openapi_document
from consent_service.page_texts import page_texts_for
from consent_service.partners import NO_PARTNERS, OutboxSpecs
from consent_service.ratelimit import WriteLimits
from consent_service.regions import regime_for
from consent_service.rights import Asked, Rights, sale_share_ids
from consent_service.service import ConsentService, Outcome, Visitor, now_ms
from consent_service.settings import Settings
from consent_service.signals import gpc_signal, negotiate_language, region_from_headers
from consent_service.sites import Site, SiteConfig
from consent_service.stats import StatsCounter
from consent_service.store import Lifetimes, StatsStore, Store
from consent_service.store.limits import Limiter
from consent_service.texts import LANGUAGES
from consent_service.validation import parse_consent, parse_decision_query, parse_opt_out
from consent_service.vocab import Action, ErrorCode, Source

log = logging.getLogger("consent_service")
GPC_JSON_DATE = "2026-11-29"
JS_TYPE = "text/javascript; charset=utf-8"  # when our GPC support statement last changed
WARM_UP_S = 2.0  # at startup: connect and load the write scripts (Store.warm), at most this long


@dataclass
class AppState:
    settings: Settings
    sites: SiteConfig
    tokens: DeviceTokens
    forms: FormTokens
    pseudonyms: Pseudonyms
    banner: Asset
    demo_files: dict[str, Asset]
    store: Store | None = None
    service: ConsentService | None = None
    rights: Rights | None = None
    accounts: AccountService | None = None
    agents: AgentRequests | None = None
    limits: WriteLimits | None = None
    stats: StatsCounter | None = None  # consent statistics: `await state.stats.report(site, first, last)`
    partners: OutboxSpecs = NO_PARTNERS  # what changes tell the sites' partners (partners.py)

    @property
    def demo_site_active(self) -> bool:
        """The ?region= override applies to the bundled demo site only, and only with the demo on."""
        return self.settings.demo_enabled and self.sites.source.startswith("<bundled")

    def ready(self) -> tuple[Store, ConsentService]:
        assert self.store is not None, "lifespan did not run"
        assert self.service is not None
        return self.store, self.service

    def need_accounts(self) -> AccountService:
        assert self.accounts is not None, "lifespan did not run"
        return self.accounts

    def site(self, site_id: str) -> Site:
        site = self.sites.sites.get(site_id)
        if site is None:
            raise ApiError(ErrorCode.UNKNOWN_SITE, f"no site {site_id[:64]!r} is configured")
        return site


def create_app(settings: Settings, sites: SiteConfig, keys: Keys, store: Store | None = None) -> Starlette:
    """The ASGI app. Without a store, one is made from `settings.redis_url` at startup."""
    tokens = DeviceTokens(keys.signing, max_age_s=settings.cookie_max_age_days * 86_400)
    forms = FormTokens(keys.signing)
    pseudonyms = Pseudonyms(keys.pseudonym)
    state = AppState(settings, sites, tokens, forms, pseudonyms, load_asset(BANNER, JS_TYPE), demo.load_files())
    state.partners = OutboxSpecs(
        {sid: (site.partners, sale_share_ids(site)) for sid, site in sites.sites.items()}, keys.pseudonym.encode()
    )
    if store is not None:
        _attach(state, store)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        owned = state.store is None
        if owned:
            assert settings.redis_url, "REDIS_URL must be resolved before the app starts"
            _attach(
                state,
                Store.from_url(
                    settings.redis_url,
                    _lifetimes(settings),
                    timeout_s=settings.write_timeout_ms / 1000,
                    replicas=settings.redis_wait_replicas,
                ),
            )
        if state.store is not None:
            await state.store.warm(WARM_UP_S)
        if state.limits is not None:
            await state.limits.warm()
        upkeep = _start_upkeep(state)
        try:
            yield
        finally:
            for task in upkeep:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if state.stats is not None:
                await state.stats.close()  # the final flush, before the store closes
            if state.limits is not None:
                await state.limits.close()
            if owned and state.store is not None:
                await state.store.close()

    routes = [
        Route("/v1/decision", _bind(decision, state), methods=["GET"]),
        Route("/v1/consent", _bind(consent, state), methods=["POST"]),
        Route("/v1/opt-out", _bind(opt_out, state), methods=["POST"]),
        Route("/v1/sites/{site}/experience", _bind(experience, state), methods=["GET"]),
        Route("/v1/me", _bind(me, state), methods=["GET", "DELETE"]),
        *admin_routes.routes(_bind, state),
        *delivery_routes.routes(_bind, state),
        *admin_pages.routes(_bind, state, keys),
        Route("/v1/{rest:path}", _bind(preflight, state), methods=["OPTIONS"]),
        Route("/privacy/privacy.css", privacy_css, methods=["GET"]),
        Route("/privacy/{site}/opt-out", _bind(opt_out_page, state), methods=["GET", "POST"]),
        Route("/privacy/{site}/notice", _bind(privacy_notice, state), methods=["GET"]),
        Route("/privacy/{site}/data", _bind(privacy_data, state), methods=["GET", "POST"]),
        Route("/v1/banner.js", _bind(banner, state), methods=["GET"]),
        Route("/v1/banner.{digest}.js", _bind(banner, state), methods=["GET"]),
        Route("/.well-known/gpc.json", gpc_json, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", _bind(metrics, state), methods=["GET"]),
        Route("/readyz", _bind(readyz, state), methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]
    if settings.demo_enabled:
        routes += [
            Route("/demo", _bind(demo_page, state), methods=["GET"]),
            Route("/demo/{name}", _bind(demo_file, state), methods=["GET"]),
        ]
    handlers: dict[Any, Any] = {ApiError: _api_error, HTTPException: _http_error, Exception: _unexpected}
    handlers[ClientDisconnect] = _client_gone
    app = Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)
    app.state.consent = state
    return app


def _lifetimes(settings: Settings) -> Lifetimes:
    return Lifetimes(
        record_ttl_ms=settings.record_ttl_days * 86_400_000, retention_ms=settings.retention_days * 86_400_000
    )


def _attach(state: AppState, store: Store) -> None:
    s = state.settings
    write_s = s.write_timeout_ms / 1000
    state.store = store
    store.tell_partners(state.partners)
    if s.redis_url and (s.rate_limit_device or s.rate_limit_client):
        # A rate-limit check that Redis cannot answer quickly is skipped (fail open): it must not
        # add a whole write timeout in front of the write itself.
        limiter = Limiter(s.redis_url, timeout_s=s.decision_timeout_ms / 1000)
        state.limits = WriteLimits(limiter, s, state.pseudonyms)
    state.rights = Rights(store, timeout_s=write_s, limits=state.limits)
    state.stats = StatsCounter(StatsStore.of(store, s.stats_retention_days), state.sites.sites, timeout_s=write_s)
    state.service = ConsentService(
        store,
        state.tokens,
        read_timeout_s=s.decision_timeout_ms / 1000,
        write_timeout_s=write_s,
        limits=state.limits,
        stats=state.stats,
        partners=state.partners,
    )
    state.accounts = AccountService(store, state.tokens, state.pseudonyms, timeout_s=write_s, stats=state.stats)
    state.agents = AgentRequests(
        store,
        state.tokens,
        state.service,
        state.rights,
        state.accounts,
        retention_ms=_lifetimes(s).retention_ms,
        timeout_s=write_s,
    )


def _start_upkeep(state: AppState) -> list[asyncio.Task[None]]:
    """The background upkeep of maintenance.py (the account carry-over drain and audit trimming) and
    the statistics flush (stats.py)."""
    s, store = state.settings, state.store
    if store is None:
        return []
    retention_ms, timeout_s, sites = _lifetimes(s).retention_ms, s.write_timeout_ms / 1000, tuple(state.sites.sites)
    tasks = [asyncio.create_task(drain_carries_forever(store, sites, timeout_s))]
    if state.stats is not None:
        tasks.append(asyncio.create_task(state.stats.run()))
    if s.audit_trim_interval_s > 0:
        tasks.append(
            asyncio.create_task(trim_audit_forever(store, sites, retention_ms, s.audit_trim_interval_s, timeout_s))
        )
    return tasks


def _bind(handler: Any, state: AppState) -> Any:
    async def endpoint(request: Request) -> Response:
        return await handler(request, state)  # type: ignore[no-any-return]

    return endpoint


# ---- consent API ------------------------------------------------------------------------------


async def decision(request: Request, state: AppState) -> Response:
    query = parse_decision_query(request.scope["query_string"])
    site = _site(state, query.site)
    visitor = _visitor(request, state, site, query.gpc)
    _, service = state.ready()
    outcome = await service.decision(visitor, query.purposes)
    return _respond(request, state, site, outcome)


async def consent(request: Request, state: AppState) -> Response:
    body = parse_consent(await http.read_body(request))
    site = _site(state, body.site)
    _check_origin(request, state, site)
    visitor = _visitor(request, state, site, body.gpc)
    _, service = state.ready()
    outcome = await service.consent(visitor, body.action, body.choices, body.source, policy_version=body.policy_version)
    return _respond(request, state, site, outcome)


async def opt_out(request: Request, state: AppState) -> Response:
    body = parse_opt_out(await http.read_body(request))
    site = _site(state, body.site)
    _check_origin(request, state, site)
    visitor = _visitor(request, state, site, body.gpc)
    _, service = state.ready()
    outcome = await service.consent(visitor, Action.OPT_OUT, {}, body.source)
    return _respond(request, state, site, outcome)


async def experience(request: Request, state: AppState) -> Response:
    site = _site(state, request.path_params["site"])
    query = request.query_params
    visitor = _visitor(request, state, site, gpc_signal(query.getlist("gpc")))
    _, service = state.ready()
    return _respond(request, state, site, await service.experience(visitor, _language(request, query.get("lang"))))


async def me(request: Request, state: AppState) -> Response:
    """The device's own data: GET a copy of everything held (`?download=1` as a file), DELETE it."""
    site = _site(state, request.query_params.get("site") or "")
    visitor = _visitor(request, state, site, False)
    assert state.rights is not None, "lifespan did not run"
    # Both record a request (§7101), so both come from the site's pages or a server, never another site.
    _check_origin(request, state, site)
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
        raise ApiError(ErrorCode.FORBIDDEN_ORIGIN, "this origin is not allowed to call the consent API")
    headers = {
        **http.cors_headers(origin),
        "access-control-allow-methods": "GET, POST, DELETE, OPTIONS",
        "access-control-allow-headers": "content-type, x-consent-device",
        "access-control-max-age": "600",
    }
    return Response(status_code=204, headers=headers)


def _site(state: AppState, site_id: str) -> Site:
    return state.site(site_id)


def _check_origin(request: Request, state: AppState, site: Site) -> None:
    if not http.origin_allowed(http.headers_of(request).get("origin"), site.origins, request, state.settings):
        raise ApiError(ErrorCode.FORBIDDEN_ORIGIN, f"this origin may not write for site {site.id!r}")


def _visitor(request: Request, state: AppState, site: Site, gpc_flag: bool) -> Visitor:
    headers = http.headers_of(request)
    region = region_from_headers(headers.get, state.settings.region_header_pairs) or site.default_region
    if state.demo_site_active and site.id == "demo":
        region = demo.demo_region(request) or region
    token, device = http.device_token(request, state.tokens, site.id)
    return Visitor(
        site=site,
        region=region,
        regime=regime_for(region, site.regimes),
        gpc_now=gpc_flag or gpc_signal((headers.get("sec-gpc", ""),)),
        device=device,
        token=token,
        user_agent=headers.get("user-agent"),
        now_ms=now_ms(),
        client_address=http.client_address(request, state.settings.forwarded_hops),
    )


def _respond(request: Request, state: AppState, site: Site, outcome: Outcome) -> Response:
    headers = dict(http.NO_STORE)
    origin = http.headers_of(request).get("origin")
    if origin is not None and http.origin_allowed(origin, site.origins, request, state.settings):
        headers.update(http.cors_headers(origin))
    response = http.json_response(outcome.body, 200, headers)
    if outcome.deferred is not None:
        response.background = BackgroundTask(outcome.deferred)
    if outcome.device_token is not None:
        http.set_device_cookie(response, site.id, outcome.device_token, request, state.settings)
    return response


# ---- service endpoints ------------------------------------------------------------------------


async def banner(request: Request, state: AppState) -> Response:
    """The banner script: the plain URL for embedding, the content-hashed one cacheable forever."""
    digest = request.path_params.get("digest")
    if digest is not None and digest != state.banner.digest:
        raise ApiError(ErrorCode.NOT_FOUND, "no such banner version; use /v1/banner.js")
    return serve(state.banner, request, SHORT_CACHE if digest is None else LONG_CACHE)


async def opt_out_page(request: Request, state: AppState) -> Response:
    """The one-step opt-out without JavaScript: a page with one button, its form posting back here."""
    site = state.sites.sites.get(request.path_params["site"])
    if site is None:
        return Response(
            "<!doctype html><title>Not found</title><p>No such site.</p>",
            404,
            media_type="text/html; charset=utf-8",
            headers=privacy_pages.HEADERS,
        )
    _, service = state.ready()
    if request.method == "GET":
        language = _language(request, request.query_params.get("lang"))
        return await _render_opt_out(request, state, site, service, language)
    form = await _form_fields(request)
    language = _language(request, None if isinstance(form, ApiError) else form.get("lang"))
    if isinstance(form, ApiError) or not _form_post_allowed(request, state, site, form.get("csrf"), "opt-out"):
        status = form.status if isinstance(form, ApiError) else 403  # malformed (400, 413) or not our form
        problem = page_texts_for(language)["problem_form"]
        return await _render_opt_out(request, state, site, service, language, status=status, problem=problem)
    visitor = _visitor(request, state, site, False)
    try:
        outcome = await service.consent(visitor, Action.OPT_OUT, {}, Source.NO_JS_FORM)
    except ApiError:
        problem = "Your opt-out could not be recorded just now. Please press the button again in a moment."
        return await _render_opt_out(request, state, site, service, language, status=503, problem=problem)
    response = _opt_out_html(state, site, language, done=True, gpc=bool(outcome.body["gpc"]), opted_out=True)
    if outcome.device_token is not None:
        http.set_device_cookie(response, site.id, outcome.device_token, request, state.settings)
    return response


async def _render_opt_out(
    request: Request,
    state: AppState,
    site: Site,
    service: ConsentService,
    language: str,
    *,
    status: int = 200,
    problem: str | None = None,
) -> Response:
    seen = await service.experience(_visitor(request, state, site, False), language, banner=False)  # not counted
    response = _opt_out_html(
        state,
        site,
        language,
        done=False,
        gpc=bool(seen.body["gpc"]),
        opted_out=seen.opted_out,
        status=status,
        problem=problem,
    )
    if seen.device_token is not None:
        http.set_device_cookie(response, site.id, seen.device_token, request, state.settings)
    return response


def _opt_out_html(state: AppState, site: Site, language: str, **kwargs: Any) -> Response:
    csrf = state.forms.issue(site.id, "opt-out")
    return privacy_pages.opt_out_page(
        site=site.id, language=language, overrides=site.texts, csrf=csrf, has_notice=site.notice is not None, **kwargs
    )


async def privacy_notice(request: Request, state: AppState) -> Response:
    """The privacy notice, rendered from the same configuration (and settings) the decisions use."""
    language = _language(request, request.query_params.get("lang"))
    site = state.sites.sites.get(request.path_params["site"])
    if site is None:
        return privacy_pages.not_found_page(language, "unknown_site")
    if site.notice is None:  # purposes alone lack the business's facts (categories, contact): no made-up notice
        return privacy_pages.not_found_page(language, "notice_missing")
    retention = Retention(opt_out_days=state.settings.retention_days, record_days=state.settings.record_ttl_days)
    return privacy_pages.html_page(render_notice(site, site.notice, language, retention))


async def privacy_data(request: Request, state: AppState) -> Response:
    """This browser's record for the site without JavaScript: a download link and a deletion form."""
    form = await _form_fields(request) if request.method == "POST" else {}
    fields = {} if isinstance(form, ApiError) else form
    language = _language(request, fields.get("lang") or request.query_params.get("lang"))
    site = state.sites.sites.get(request.path_params["site"])
    if site is None:
        return privacy_pages.not_found_page(language, "unknown_site")
    if request.method == "GET":
        return _data_html(request, state, site, language)
    if isinstance(form, ApiError):  # malformed: 400 (or 413), and nothing deleted
        return _data_html(request, state, site, language, status=form.status, problem="problem_form")
    if not _form_post_allowed(request, state, site, form.get("csrf"), "delete"):
        return _data_html(request, state, site, language, status=403, problem="problem_form")
    assert state.rights is not None, "lifespan did not run"
    try:
        visitor = _visitor(request, state, site, False)
        answer = await state.rights.erase(visitor, Asked(now_ms=visitor.now_ms, source=Source.NO_JS_FORM))
    except ApiError as error:
        if error.code is ErrorCode.NOT_FOUND:  # no valid device token: nothing is held for this browser
            return _data_html(request, state, site, language, outcome=privacy_pages.DataOutcome.NOTHING_HELD)
        if error.code not in (ErrorCode.STORE_UNAVAILABLE, ErrorCode.RATE_LIMITED):
            raise
        retry = {"retry-after": str(error.retry_after or 5)}
        status = error.status  # 503, or 429: an HTML page either way, asking to try again shortly
        return _data_html(request, state, site, language, status=status, problem="problem_store", headers=retry)
    held = privacy_pages.DataOutcome.DELETED if answer["deleted"] else privacy_pages.DataOutcome.NOTHING_HELD
    return _data_html(request, state, site, language, outcome=held)


def _data_html(request: Request, state: AppState, site: Site, language: str, **kwargs: Any) -> Response:
    _, device = http.device_token(request, state.tokens, site.id)
    return privacy_pages.data_page(
        site=site.id,
        language=language,
        overrides=site.texts,
        csrf=state.forms.issue(site.id, "delete"),
        has_device=device is not None,
        has_notice=site.notice is not None,
        **kwargs,
    )


async def _form_fields(request: Request) -> dict[str, str] | ApiError:
    """The posted form's fields (http.read_form), or the client error of a malformed one: the page
    answers that with its own HTML and the error's 4xx, never the API's JSON."""
    try:
        return await http.read_form(request)
    except ApiError as error:
        return error


def _form_post_allowed(request: Request, state: AppState, site: Site, csrf: str | None, form: str) -> bool:
    """A post of one of our own forms: its signed token, and no foreign (or `null`) Origin."""
    origin = http.headers_of(request).get("origin")
    return state.forms.valid(csrf, site.id, form) and http.origin_allowed(origin, frozenset(), request, state.settings)


def _language(request: Request, requested: str | None) -> str:
    return negotiate_language(requested or http.headers_of(request).get("accept-language"), LANGUAGES)


async def privacy_css(request: Request) -> Response:
    headers = {"cache-control": "public, max-age=3600", "x-content-type-options": "nosniff"}
    return Response(privacy_pages.STYLESHEET, media_type="text/css; charset=utf-8", headers=headers)


async def demo_page(request: Request, state: AppState) -> Response:
    return demo.page(request, state.banner.digest)


async def demo_file(request: Request, state: AppState) -> Response:
    return demo.file(request, state.demo_files)


async def gpc_json(request: Request) -> Response:
    headers = {"cache-control": "public, max-age=86400", **http.SECURITY_HEADERS}
    return http.json_response({"gpc": True, "lastUpdate": GPC_JSON_DATE}, 200, headers)


async def healthz(request: Request) -> Response:
    return http.json_response({"status": "ok"})


async def metrics(request: Request, state: AppState) -> Response:
    """Prometheus text format; with CONSENT_METRICS_KEY set, only for `Authorization: Bearer <key>`."""
    if not observability.scrape_allowed(http.headers_of(request).get("authorization"), state.settings.metrics_key):
        raise ApiError(ErrorCode.UNAUTHORIZED, "a metrics key is required: Authorization: Bearer <key>")
    headers = {"cache-control": "no-store", "x-content-type-options": "nosniff"}
    return Response(observability.exposition(), headers=headers, media_type=observability.CONTENT_TYPE)


async def readyz(request: Request, state: AppState) -> Response:
    _, service = state.ready()
    if await service.ready():
        return http.json_response({"status": "ready"})
    raise ApiError(ErrorCode.STORE_UNAVAILABLE, "Redis does not answer", retry_after=5)


async def openapi(request: Request) -> Response:
    headers = {"cache-control": "public, max-age=300", **http.SECURITY_HEADERS}
    return http.json_response(openapi_document(), 200, headers)


# ---- errors, mapped in one place ---------------------------------------------------------------


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return http.error_response(exc, _error_cors(request))


def _error_cors(request: Request) -> dict[str, str]:
    """Errors are readable by every configured origin, so a banner can see a 503 and its Retry-After."""
    origin = http.headers_of(request).get("origin")
    state: AppState | None = getattr(request.app.state, "consent", None)
    if origin is None or state is None:
        return {}
    if not http.origin_allowed(origin, state.sites.all_origins, request, state.settings):
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
    route = getattr(request.scope.get("route"), "path", "?")
    log.error("unexpected %s on %s %s", type(exc).__name__, request.method, route)
    return http.json_response({"error": ErrorCode.INTERNAL.value, "detail": "unexpected error"}, 500)


async def _client_gone(request: Request, exc: Exception) -> Response:
    # The connection closed while the body was read: the client went away, or the protocol cut a
    # stalled body (protocol.py). Nobody reads this answer and it is no error of ours: 499, nginx's
    # "client closed request", keeps it out of the 500s in /metrics and out of the error log.
    return Response(status_code=499)
