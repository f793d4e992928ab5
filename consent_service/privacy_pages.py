"""The service's own HTML pages for privacy rights. They work without JavaScript and under the same
strict CSP as everything else (no inline script or style)."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from starlette.responses import Response

from consent_service.texts import texts_for

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
</main>
</body>
</html>
"""
    return Response(body, status_code=status, media_type="text/html; charset=utf-8", headers=HEADERS)


STYLESHEET = b"""body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
main{max-width:40rem;margin:2rem auto;padding:0 1.25rem}
h1{font-size:1.5rem}
button{font:inherit;padding:.7rem 1.2rem;border:0;border-radius:8px;background:#0b57d0;color:#fff;cursor:pointer}
button:focus-visible{outline:3px solid #1d1d1f;outline-offset:2px}
.done{padding:.8rem 1rem;border-radius:8px;background:#e6f4ea;color:#0d652d}
.gpc{padding:.8rem 1rem;border-radius:8px;background:#e8f0fe;color:#174ea6}
.problem{padding:.8rem 1rem;border-radius:8px;background:#fce8e6;color:#a50e0e}
"""
