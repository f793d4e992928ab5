"""The privacy pages' routes (`/privacy/{site}/…`): the one-step opt-out without JavaScript, the
privacy notice and the your-data page, and the demo publisher page. HTML answers, rendered from
templates by the page modules beside this one; the use cases are the API's."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from consent_service.core.errors import ApiError
from consent_service.core.site import Site
from consent_service.core.vocab import Action, ErrorCode, Source
from consent_service.rights.device_data import Asked
from consent_service.web import http
from consent_service.web.html import STYLESHEET, html_page
from consent_service.web.pages import demo
from consent_service.web.pages import privacy as privacy_pages
from consent_service.web.pages.notice import Retention, render_notice
from consent_service.web.state import AppState, bind
from consent_service.web.visitor import language as _language
from consent_service.web.visitor import visitor_of as _visitor


def routes(*, demo_enabled: bool) -> list[Route]:
    found = [
        Route("/privacy/privacy.css", privacy_css, methods=["GET"]),
        Route("/privacy/{site}/opt-out", bind(opt_out_page), methods=["GET", "POST"]),
        Route("/privacy/{site}/notice", bind(privacy_notice), methods=["GET"]),
        Route("/privacy/{site}/data", bind(privacy_data), methods=["GET", "POST"]),
    ]
    if demo_enabled:
        found += [
            Route("/demo", bind(demo_page), methods=["GET"]),
            Route("/demo/{name}", bind(demo_file), methods=["GET"]),
        ]
    return found


async def opt_out_page(request: Request, state: AppState) -> Response:
    """The one-step opt-out without JavaScript: a page with one button, its form posting back here."""
    form, language = await _posted(request)
    site = state.sites.sites.get(request.path_params["site"])
    if site is None:
        return privacy_pages.not_found_page(language, "unknown_site")
    if request.method == "GET":
        return await _render_opt_out(request, state, site, language)
    if isinstance(form, ApiError) or not _own_form(request, state, form.get("csrf"), site.id, "opt-out"):
        status = form.status if isinstance(form, ApiError) else 403  # malformed (400, 413) or not our form
        return await _render_opt_out(request, state, site, language, status=status, problem="problem_form")
    visitor = _visitor(request, state, site, False)
    try:
        outcome = await state.service.consent(visitor, Action.OPT_OUT, {}, Source.NO_JS_FORM)
    except ApiError:
        return await _render_opt_out(request, state, site, language, status=503, problem="problem_opt_out")
    response = _opt_out_html(state, site, language, done=True, gpc=outcome.body["gpc"], opted_out=True)
    if outcome.device_token is not None:
        http.set_device_cookie(response, site.id, outcome.device_token, request, state.settings)
    return response


async def _render_opt_out(
    request: Request,
    state: AppState,
    site: Site,
    language: str,
    *,
    status: int = 200,
    problem: privacy_pages.Problem | None = None,
) -> Response:
    seen = await state.service.experience(_visitor(request, state, site, False), language, banner=False)  # not counted
    response = _opt_out_html(
        state,
        site,
        language,
        done=False,
        gpc=seen.body["gpc"],
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
    return html_page(render_notice(site, site.notice, language, retention))


async def privacy_data(request: Request, state: AppState) -> Response:
    """This browser's record for the site without JavaScript: a download link and a deletion form."""
    form, language = await _posted(request)
    site = state.sites.sites.get(request.path_params["site"])
    if site is None:
        return privacy_pages.not_found_page(language, "unknown_site")
    if request.method == "GET":
        return _data_html(request, state, site, language)
    if isinstance(form, ApiError):  # malformed: 400 (or 413), and nothing deleted
        return _data_html(request, state, site, language, status=form.status, problem="problem_form")
    if not _own_form(request, state, form.get("csrf"), site.id, "delete"):
        return _data_html(request, state, site, language, status=403, problem="problem_form")
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


async def _posted(request: Request) -> tuple[dict[str, str] | ApiError, str]:
    """A form page's posted fields (none for a GET; `http.read_form`) and its language (the form's
    `lang`, else the query's, else Accept-Language). A malformed form is its client error, so that
    the page answers it with its own HTML and the error's 4xx, never the API's JSON."""
    form: dict[str, str] | ApiError = {}
    if request.method == "POST":
        try:
            form = await http.read_form(request)
        except ApiError as error:
            form = error
    fields = {} if isinstance(form, ApiError) else form
    return form, _language(request, fields.get("lang") or request.query_params.get("lang"))


async def privacy_css(request: Request) -> Response:
    headers = {"cache-control": "public, max-age=3600", "x-content-type-options": "nosniff"}
    return Response(STYLESHEET, media_type="text/css; charset=utf-8", headers=headers)


async def demo_page(request: Request, state: AppState) -> Response:
    return demo.page(request, state.basics.banner.digest)


async def demo_file(request: Request, state: AppState) -> Response:
    return demo.file(request, state.basics.demo_files)


def _own_form(request: Request, state: AppState, csrf: str | None, site: str, form: str) -> bool:
    return http.own_form_post(request, state.forms, state.settings, csrf=csrf, scope=site, form=form)
