"""The privacy team's HTML pages under `/admin/` (issue 6): login, logout and the statistics dashboard.

Behind a session (web/admin/session.py), not a Bearer key: a browser signs in once with the key. No
session (or an expired, forged or revoked one) → 303 to the login form; an unknown site → 404 page; a
site the session may not see → 403 page. The `.csv` and `.json` downloads are the same report as the
page, for the same session. Parsing and HTTP only: the numbers come from the stats service, the HTML
from dashboard.py and its templates. Every page is in the reader's language (words.py: `?lang=`, else
Accept-Language); the downloads are the API's, the same in every language.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from consent_service.stats.model import StatsReport
from consent_service.stats.report import report_csv, report_json
from consent_service.store import StoreUnavailable
from consent_service.web import http
from consent_service.web.admin import dashboard, session
from consent_service.web.admin.words import Words, words_of
from consent_service.web.admin_sessions import AdminSession
from consent_service.web.html import STYLESHEET as PAGES_STYLESHEET
from consent_service.web.html import html_page
from consent_service.web.state import AppState, bind
from consent_service.web.validation import (
    FIRST_YEAR,
    LAST_YEAR,
    STATS_DEFAULT_DAYS,
    STATS_MAX_DAYS,
    DayRangeError,
    parse_day_range,
)

DEFAULT_DAYS, MAX_DAYS = STATS_DEFAULT_DAYS, STATS_MAX_DAYS  # as GET /v1/admin/stats
# The privacy pages' rules, then the dashboard's (static/dashboard.css): one stylesheet, read once.
STYLESHEET = PAGES_STYLESHEET + resources.files("consent_service").joinpath("static", "dashboard.css").read_bytes()


def routes() -> list[Route]:
    return [
        Route("/admin/admin.css", admin_css, methods=["GET"]),
        Route(session.LOGIN_PATH, bind(session.login_get), methods=["GET"]),
        Route(session.LOGIN_PATH, bind(session.login_post), methods=["POST"]),
        Route("/admin/logout", bind(session.logout_post), methods=["POST"]),
        Route("/admin/sites/{site}/stats", bind(stats_page), methods=["GET"]),
        Route("/admin/sites/{site}/stats.{fmt}", bind(stats_file), methods=["GET"]),
    ]


async def admin_css(request: Request) -> Response:
    headers = {"cache-control": "public, max-age=3600", "x-content-type-options": "nosniff"}
    return Response(STYLESHEET, media_type="text/css; charset=utf-8", headers=headers)


def parse_range(first: str | None, last: str | None, today: dt.date) -> tuple[str, str]:
    """`from`/`to` as YYYY-MM-DD (UTC days, inclusive), by the API's rule; an empty form field is
    the default (the last 30 days up to today)."""
    start, end = parse_day_range(first or None, last or None, today, default_days=DEFAULT_DAYS, max_days=MAX_DAYS)
    return start.isoformat(), end.isoformat()


def range_problem(error: DayRangeError, words: Words) -> str:
    """Why a range was refused, in `words`' language (the API says it in English: `str(error)`)."""
    if error.rule == "order":
        # Translators: “from” and “to” are the range form's fields (From, To): name them as translated there.
        return words.gettext("“from” is after “to”")
    if error.rule == "length":
        return words.ngettext(
            "a range is at most %(num)s day",
            "a range is at most %(num)s days",
            error.max_days,
            num=words.count(error.max_days),
        )
    years = {"first": str(FIRST_YEAR), "last": str(LAST_YEAR)}  # years, not counts: no grouping
    if error.name == "from":
        return words.gettext("“from” must be a date (YYYY-MM-DD) from %(first)s to %(last)s", **years)
    return words.gettext("“to” must be a date (YYYY-MM-DD) from %(first)s to %(last)s", **years)


async def _authorized(request: Request, state: AppState, words: Words) -> tuple[AdminSession, str] | Response:
    """The session and the site, or the page that refuses: login, 404 or 403, or 503 when Redis
    cannot say whether the session was signed out (fail closed: no data on a revoked session)."""
    try:
        seen = await session.session_of(request, state)
    except StoreUnavailable:
        return _unavailable(words)
    if seen is None:
        return session.login_redirect(request, words)
    site_id = str(request.path_params["site"])
    if site_id not in state.sites.sites:
        # Translators: %(site)s is a site's id, in quotes.
        message = words.gettext("No site %(site)s is configured.", site=repr(site_id[:64]))
        return html_page(dashboard.message_page(words, words.gettext("Not found"), message), 404)
    if not seen.may_see(site_id):
        message = words.gettext("This session may not see site %(site)s.", site=repr(site_id[:64]))
        again = (words.link(session.LOGIN_PATH), words.gettext("Sign in again"))
        return html_page(dashboard.message_page(words, words.gettext("Forbidden"), message, link=again), 403)
    return seen, site_id


async def stats_page(request: Request, state: AppState) -> Response:
    words = words_of(request)
    checked = await _authorized(request, state, words)
    if isinstance(checked, Response):
        return checked
    seen, site_id = checked
    query, today = request.query_params, dt.datetime.now(dt.UTC).date()
    range_error, status = None, 200
    try:
        first, last = parse_range(query.get("from"), query.get("to"), today)
    except DayRangeError as error:
        (first, last), range_error, status = parse_range(None, None, today), range_problem(error, words), 400
    report = await _report(state, site_id, first, last, words)
    if isinstance(report, Response):
        return report
    sites = [s for s in state.sites.sites if seen.may_see(s)]
    csrf = state.forms.issue(session.FORM_SCOPE, session.LOGOUT_FORM)
    html = dashboard.render_dashboard(report, logout_csrf=csrf, sites=sites, range_error=range_error, words=words)
    return html_page(html, status)


async def stats_file(request: Request, state: AppState) -> Response:
    """The same report as the page, as CSV or JSON (the API's formats), for the page's session."""
    words = words_of(request)
    checked = await _authorized(request, state, words)
    if isinstance(checked, Response):
        return checked
    _, site_id = checked
    fmt = str(request.path_params["fmt"])
    if fmt not in ("csv", "json"):
        message = words.gettext("Downloads are .csv or .json.")
        return html_page(dashboard.message_page(words, words.gettext("Not found"), message), 404)
    query = request.query_params
    try:
        first, last = parse_range(query.get("from"), query.get("to"), dt.datetime.now(dt.UTC).date())
    except DayRangeError as error:
        page = dashboard.message_page(words, words.gettext("Bad range"), range_problem(error, words))
        return html_page(page, 400)
    report = await _report(state, site_id, first, last, words)
    if isinstance(report, Response):
        return report
    return _export(report, fmt)


async def _report(state: AppState, site_id: str, first: str, last: str, words: Words) -> StatsReport | Response:
    try:
        return await _stats_report(state, site_id, first, last)
    except StoreUnavailable:
        return _unavailable(words)


def _unavailable(words: Words) -> Response:
    title, message = (
        words.gettext("Statistics unavailable"),
        words.gettext("Storage is unavailable just now; please retry."),
    )
    return html_page(dashboard.message_page(words, title, message), 503, {"retry-after": "5"})


async def _stats_report(state: AppState, site_id: str, first: str, last: str) -> StatsReport:
    return await state.stats.report(site_id, first, last)


def _export(report: StatsReport, fmt: str) -> Response:
    """The API's formats (stats.report.report_json, stats_report.report_csv), as a download."""
    name = f"stats-{report.site}-{report.first_day}-{report.last_day}.{fmt}"
    headers = {**http.NO_STORE, "content-disposition": f'attachment; filename="{name}"'}
    if fmt == "json":
        return http.json_response(report_json(report), 200, headers)
    return Response(report_csv(report), media_type="text/csv; charset=utf-8", headers=headers)
