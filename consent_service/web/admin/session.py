"""The admin pages' login and session (issue 6). The admin key is checked once, at login; after it a
signed cookie says which sites the browser may see, never the key.

- `cs_admin`: base64url JSON signed with itsdangerous' TimestampSigner (sha256, salt
  `cs-admin-session-v1`, the service's signing keys newest first: the first signs, all verify), so it
  carries its issue time. HttpOnly, SameSite=Strict, Path=/admin, Secure over https; 8 hours, which the
  server enforces too, whatever the browser does with Max-Age.
- It also holds a keyed fingerprint of the key (an HMAC under the pseudonymization key: neither the key
  nor any part of it), so that taking a key out of CONSENT_ADMIN_KEYS ends its sessions at once, and a
  session never sees more sites than its key still may.
- Each session has a random id (128 bits) in the cookie. Signing out revokes it server-side: a key in
  Redis (store/sessions.py) that every worker and replica checks when it verifies a session, living as
  long as the cookie could still be accepted. So a copy of the cookie kept after logout opens nothing.
  The check fails closed: when Redis cannot answer, the pages answer 503 (they need Redis for their
  numbers anyway) and never show data on a session that might have been signed out; a logout that
  cannot be recorded is a 503 that keeps the cookie, so that it can be tried again.
- A forged, tampered, expired or unreadable cookie is no session: the pages send the browser to login.
  Cookies of the first format (`"v": 1`, no session id, before issue 11) are refused too: they could
  not be revoked, and they lived at most 8 hours, so an upgrade only asks for one more sign-in.
- The forms (login, logout) carry signed CSRF tokens and refuse a foreign or `null` Origin. The key is
  checked first: a correct key always signs in. Only failures are throttled: counted per client
  address (keyed hash, in this process), and past a limit further wrong keys from that address get a
  429 for a while. (Behind a proxy every user may share one address; a throttle that also refused the
  right key would let anyone lock the real admin out with ten wrong guesses.)
- The pages are in the reader's language (words.py); a language asked for by `?lang=` rides along in
  the forms' `lang` field and the redirects (to the login form, and after it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from consent_service.config.settings import Settings
from consent_service.core.errors import ApiError
from consent_service.store import StoreUnavailable
from consent_service.store.sessions import SessionRevocations
from consent_service.web import http
from consent_service.web.admin.words import Words, page, words_for, words_of
from consent_service.web.admin_sessions import COOKIE, MAX_AGE_S, AdminSession
from consent_service.web.html import HEADERS, html_page
from consent_service.web.state import AppState

COOKIE_PATH = "/admin"
LOGIN_FORM, LOGOUT_FORM, FORM_SCOPE = "admin-login", "admin-logout", "admin"  # FormTokens' form and "site"
LOGIN_PATH = "/admin/login"


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path of ours under /admin/ (never another origin), else None."""
    if not target or len(target) > 512 or not target.startswith("/admin/") or target.startswith(LOGIN_PATH):
        return None
    if not target.isascii() or any(c in target for c in "\\ \t\r\n") or not target.isprintable():
        return None
    return target


def login_redirect(request: Request, words: Words) -> Response:
    """303 to the login form (in the language asked for), which comes back here afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    back = safe_next(here)
    location = LOGIN_PATH + (f"?next={quote(back, safe='')}" if back else "")
    return RedirectResponse(words.link(location), status_code=303, headers=HEADERS)


# What a login page may say went wrong (its texts are in the template, web/templates/admin/login.html).
LoginProblem = Literal["unreadable", "expired", "throttled", "wrong_key"]
# Why a logout was refused (web/templates/admin/not_signed_out.html).
LogoutRefusal = Literal["unreadable", "expired", "unavailable"]


def login_page(
    csrf: str,
    next_path: str | None,
    *,
    status: int = 200,
    problem: LoginProblem | None = None,
    words: Words | None = None,
) -> Response:
    """The login form, in `words`' language (English without)."""
    body = page(
        "admin/login.html",
        words or words_for(),
        action=LOGIN_PATH,
        csrf=csrf,
        next_path=next_path,
        problem=problem,
        hours=MAX_AGE_S // 3600,
    )
    return html_page(body, status)


def post_allowed(request: Request, state: AppState, csrf: str | None, form: str) -> bool:
    """One of our own forms: its signed token, and no foreign (or `null`) Origin."""
    return http.own_form_post(request, state.forms, state.settings, csrf=csrf, scope=FORM_SCOPE, form=form)


def set_session_cookie(response: Response, value: str, request: Request, settings: Settings, max_age: int) -> None:
    secure = settings.cookie_secure == "always" or (settings.cookie_secure == "auto" and request.url.scheme == "https")
    response.set_cookie(
        COOKIE, value, max_age=max_age, path=COOKIE_PATH, secure=secure, httponly=True, samesite="strict"
    )


async def login_get(request: Request, state: AppState) -> Response:
    form = state.forms.issue(FORM_SCOPE, LOGIN_FORM)
    return login_page(form, safe_next(request.query_params.get("next")), words=words_of(request))


def landing(state: AppState, sites: frozenset[str]) -> str:
    """Where a login without `next` goes: the first configured site the key may see."""
    mine = [s for s in state.sites.sites if "*" in sites or s in sites] or sorted(sites)
    return f"/admin/sites/{quote(mine[0], safe='')}/stats" if mine else LOGIN_PATH


async def login_post(request: Request, state: AppState) -> Response:
    """Checks the key once; on success the session cookie and a 303 to `next` (ours) or the first site.

    The key is checked before the throttle: a correct key always signs in, whatever failures came from
    its address; only a wrong key is throttled (429) or counted (401)."""
    fresh = state.forms.issue(FORM_SCOPE, LOGIN_FORM)
    try:
        fields = await http.read_form(request)
    except ApiError as error:  # malformed: the login page with a 400 (or 413), nothing signed in
        return login_page(fresh, None, status=error.status, problem="unreadable", words=words_of(request))
    next_path, words = safe_next(fields.get("next")), words_of(request, fields.get("lang"))
    if not post_allowed(request, state, fields.get("csrf"), LOGIN_FORM):
        return login_page(fresh, next_path, status=403, problem="expired", words=words)
    sessions, throttle = state.basics.admin_sessions, state.basics.login_throttle
    key, sites = sessions.check_key(fields.get("key", ""), state.settings.admin_keys)
    if not key:
        client = state.basics.pseudonyms.client(http.client_address(request, state.settings.forwarded_hops) or "-")
        wait = throttle.blocked_for(client)
        if wait:
            response = login_page(fresh, next_path, status=429, problem="throttled", words=words)
            response.headers["retry-after"] = str(wait)
            return response
        throttle.failed(client)
        return login_page(fresh, next_path, status=401, problem="wrong_key", words=words)
    response = RedirectResponse(words.link(next_path or landing(state, sites)), status_code=303, headers=HEADERS)
    set_session_cookie(response, sessions.issue(key, sites), request, state.settings, sessions.max_age_s)
    return response


async def logout_post(request: Request, state: AppState) -> Response:
    """Revokes the session server-side (every copy of the cookie stops working), then clears it."""
    try:
        fields = await http.read_form(request)
    except ApiError as error:  # malformed: nothing changes, and the page offers a fresh form
        return not_signed_out(state, "unreadable", error.status, words_of(request))
    words = words_of(request, fields.get("lang"))
    if not post_allowed(request, state, fields.get("csrf"), LOGOUT_FORM):  # e.g. a page left open for hours
        return not_signed_out(state, "expired", 403, words)
    sessions = state.basics.admin_sessions
    read = sessions.signed(_cookie(request))
    if read is not None:  # no (valid) session: nothing to revoke, only the cookie to clear
        session = read[0]
        try:
            await _revocations(state).revoke(session.session_id, sessions.remaining_s(session), _timeout_s(state))
        except StoreUnavailable:  # the cookie is kept, so that signing out can be tried again
            return not_signed_out(state, "unavailable", 503, words, {"retry-after": "5"})
    response = RedirectResponse(words.link(LOGIN_PATH), status_code=303, headers=HEADERS)
    set_session_cookie(response, "", request, state.settings, 0)
    return response


def not_signed_out(
    state: AppState, why: LogoutRefusal, status: int, words: Words, headers: Mapping[str, str] | None = None
) -> Response:
    """The refusal of a logout, with a fresh form to sign out from."""
    csrf = state.forms.issue(FORM_SCOPE, LOGOUT_FORM)
    return html_page(page("admin/not_signed_out.html", words, why=why, csrf=csrf), status, headers)


async def session_of(request: Request, state: AppState) -> AdminSession | None:
    """The request's session: signed, unexpired, its key still configured, and not signed out.
    Raises StoreUnavailable when Redis cannot say whether it was signed out (fail closed)."""
    seen = state.basics.admin_sessions.verify(_cookie(request), state.settings.admin_keys)
    if seen is None or await _revocations(state).revoked(seen.session_id, _timeout_s(state)):
        return None
    return seen


def _cookie(request: Request) -> str | None:
    cookies: Mapping[str, str] = request.cookies
    return cookies.get(COOKIE)


def _revocations(state: AppState) -> SessionRevocations:
    return state.store.sessions


def _timeout_s(state: AppState) -> float:
    return state.settings.write_timeout_ms / 1000
