"""The service's own HTML pages for privacy rights: the opt-out page, the your-data page and the
not-found page (templates in web/templates/pages/). They work without JavaScript and under the same
strict CSP as everything else (no inline script or style).

A problem is passed the one way every page takes it: as the key of a page text (`Problem`), shown
in the reader's language as an alert."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Literal

from starlette.responses import Response

from consent_service.config.catalogs import texts_for
from consent_service.web.html import html_page
from consent_service.web.pages.texts import page_texts_for
from consent_service.web.templating import render

# The page texts a form's problem may name: a form that is not ours or is malformed, a deletion or
# an opt-out that storage could not record.
Problem = Literal["problem_form", "problem_store", "problem_opt_out"]


def opt_out_page(
    *,
    site: str,
    language: str,
    overrides: Mapping[str, Mapping[str, str]],
    csrf: str,
    done: bool,
    gpc: bool,
    opted_out: bool,
    status: int = 200,
    problem: Problem | None = None,
    has_notice: bool = False,
) -> Response:
    """One button, "Do Not Sell or Share My Personal Information"; after it, the confirmation."""
    body = render(
        "pages/opt_out.html",
        language=language,
        site=site,
        t=texts_for(language, overrides),
        p=page_texts_for(language),
        csrf=csrf,
        done=done or opted_out,
        gpc=gpc,
        problem=problem,
        has_notice=has_notice,
    )
    return html_page(body, status)


def not_found_page(language: str, key: str) -> Response:
    """A 404 page in the reader's language; `key` names the page text that says what is missing."""
    return html_page(render("pages/not_found.html", language=language, p=page_texts_for(language), missing=key), 404)


class DataOutcome(StrEnum):
    """What a deletion request came to, as the page reports it."""

    DELETED = "deleted"
    NOTHING_HELD = "nothing_held"


def data_page(
    *,
    site: str,
    language: str,
    overrides: Mapping[str, Mapping[str, str]],
    csrf: str,
    has_device: bool,
    has_notice: bool,
    outcome: DataOutcome | None = None,
    problem: Problem | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A copy of this browser's record (a download link) and its deletion (a CSRF-protected form)."""
    body = render(
        "pages/data.html",
        language=language,
        site=site,
        t=texts_for(language, overrides),
        p=page_texts_for(language),
        csrf=csrf,
        has_device=has_device,
        has_notice=has_notice,
        outcome=None if outcome is None else outcome.value,
        problem=problem,
    )
    return html_page(body, status, headers)
