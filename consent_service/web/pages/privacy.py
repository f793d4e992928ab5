"""The service's own HTML pages for privacy rights. They work without JavaScript and under the same
strict CSP as everything else (no inline script or style)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from html import escape

from starlette.responses import Response

from consent_service.core.texts import texts_for
from consent_service.web.html import HEADERS, html_page
from consent_service.web.pages.texts import page_texts_for


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
    problem: str | None = None,
    has_notice: bool = False,
) -> Response:
    """One button, "Do Not Sell or Share My Personal Information"; after it, the confirmation."""
    t = {k: escape(v) for k, v in texts_for(language, overrides).items()}
    notes = []
    if problem:
        notes.append(f'<p class="problem" role="alert">{escape(problem)}</p>')
    if done or opted_out:
        notes.append(f'<p class="done" role="status" id="status">{t["opt_out_done"]}</p>')
    if gpc:
        notes.append(f'<p class="gpc" id="gpc"><strong>{t["gpc_honored"]}</strong> {t["gpc_detail"]}</p>')
    body = f"""<!doctype html>
<html lang="{escape(language)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t["do_not_sell"]}</title>
<link rel="stylesheet" href="/privacy/privacy.css">
</head>
<body>
<main>
<h1>{t["do_not_sell"]}</h1>
{"".join(notes)}
<p>{t["intro_opt_out"]}</p>
<form method="post" action="/privacy/{escape(site)}/opt-out">
<input type="hidden" name="csrf" value="{escape(csrf)}">
<input type="hidden" name="lang" value="{escape(language)}">
<button type="submit" id="opt-out">{t["do_not_sell"]}</button>
</form>
{_other_pages(site, language, overrides, ("notice", "data") if has_notice else ("data",))}
</main>
</body>
</html>
"""
    return Response(body, status_code=status, media_type="text/html; charset=utf-8", headers=HEADERS)


def _other_pages(site: str, language: str, overrides: Mapping[str, Mapping[str, str]], pages: tuple[str, ...]) -> str:
    """Links to the site's other privacy pages (`notice`, `data`, `opt-out`), in the reader's language."""
    texts = page_texts_for(language)
    labels = {
        "notice": texts["notice_title"],
        "data": texts["data_link"],
        "opt-out": texts_for(language, overrides)["do_not_sell"],
    }
    base, lang = f"/privacy/{escape(site)}", escape(language)
    links = [f'<a id="{page}-link" href="{base}/{page}?lang={lang}">{escape(labels[page])}</a>' for page in pages]
    return f'<nav class="links">{" · ".join(links)}</nav>'


# ---- shared by the notice and the your-data page ------------------------------------------------


def document(language: str, title: str, main: str, *, wide: bool = False) -> str:
    """A whole page around `main` (already HTML): no script, only the service's own stylesheet."""
    return f"""<!doctype html>
<html lang="{escape(language)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="/privacy/privacy.css">
</head>
<body>
<main{' class="wide"' if wide else ""}>
{main}
</main>
</body>
</html>
"""


def not_found_page(language: str, key: str) -> Response:
    """A 404 page in the reader's language; `key` names the page text that says what is missing."""
    p = {k: escape(v) for k, v in page_texts_for(language).items()}
    main = f'<h1>{p["not_found_title"]}</h1>\n<p id="missing">{p[key]}</p>'
    return html_page(document(language, p["not_found_title"], main), 404)


# ---- the your-data page ----------------------------------------------------------------------------


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
    problem: str | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A copy of this browser's record (a download link) and its deletion (a CSRF-protected form).

    `problem` names a page text (`problem_form`, `problem_store`) shown as an alert."""
    p = {k: escape(v) for k, v in page_texts_for(language).items()}
    notes = []
    if problem is not None:
        notes.append(f'<p class="problem" role="alert" id="problem">{p[problem]}</p>')
    if outcome is DataOutcome.DELETED:
        # The confirmation says what was kept and why: the bare opt-out (see rights.device_data.TOMBSTONE_NOTE).
        notes.append(f'<div class="done" role="status" id="status"><p>{p["deleted"]}</p>')
        notes.append(f'<p id="tombstone">{p["tombstone"]}</p></div>')
    elif outcome is DataOutcome.NOTHING_HELD:
        notes.append(f'<p class="done" role="status" id="status">{p["nothing_held"]}</p>')
    if has_device:
        actions = _data_actions(site, language, csrf, p)
    else:  # no device cookie: nothing to download or delete, so no dead link and no useless button
        actions = "" if outcome is DataOutcome.NOTHING_HELD else f'<p id="nothing">{p["nothing_held"]}</p>'
    pages = ("notice", "opt-out") if has_notice else ("opt-out",)
    main = f"""<h1>{p["data_title"]}</h1>
{"".join(notes)}
<p>{p["data_intro"]}</p>
{actions}
<p>{p["other_data_notice" if has_notice else "other_data"]}</p>
{_other_pages(site, language, overrides, pages)}"""
    return html_page(document(language, p["data_title"], main), status, headers)


def _data_actions(site: str, language: str, csrf: str, p: Mapping[str, str]) -> str:
    s = escape(site)
    return f"""<h2>{p["h_download"]}</h2>
<p><a id="download" href="/v1/me?site={s}&amp;download=1">{p["download"]}</a> ({p["download_detail"]})</p>
<h2>{p["h_delete"]}</h2>
<p>{p["tombstone"]}</p>
<form method="post" action="/privacy/{s}/data">
<input type="hidden" name="csrf" value="{escape(csrf)}">
<input type="hidden" name="lang" value="{escape(language)}">
<button type="submit" id="delete" class="danger">{p["delete_button"]}</button>
</form>"""
