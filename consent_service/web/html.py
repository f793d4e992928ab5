"""The HTML answer every page of the service shares (the privacy pages, the notice, the admin pages):
a strict Content-Security-Policy without script, no-store, nosniff, and the pages' base stylesheet
(static/privacy.css, served at /privacy/privacy.css; the admin pages add theirs, static/dashboard.css).
The pages themselves are templates (web/templating.py)."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources

from starlette.responses import Response

CSP = (
    "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'; img-src 'self'"
)
# `same-origin`, not `no-referrer`: with no-referrer, browsers send `Origin: null` on the form's post,
# which the origin check must refuse.
HEADERS = {
    "content-security-policy": CSP,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def html_page(body: str, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """An HTML answer with the pages' strict headers (CSP without script, no-store, nosniff)."""
    all_headers = {**HEADERS, **(headers or {})}
    return Response(body, status_code=status, media_type="text/html; charset=utf-8", headers=all_headers)


# The pages' base stylesheet, served at /privacy/privacy.css (and first in /admin/admin.css); read once.
STYLESHEET = resources.files("consent_service").joinpath("static", "privacy.css").read_bytes()
