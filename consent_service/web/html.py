"""The HTML answer every page of the service shares (the privacy pages, the notice, the admin pages):
a strict Content-Security-Policy without script, no-store, nosniff, and the pages' base stylesheet
(served at /privacy/privacy.css; the admin pages add theirs)."""

from __future__ import annotations

from collections.abc import Mapping

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


STYLESHEET = b"""body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
main{max-width:40rem;margin:2rem auto;padding:0 1.25rem}
h1{font-size:1.5rem}
button{font:inherit;padding:.7rem 1.2rem;border:0;border-radius:8px;background:#0b57d0;color:#fff;cursor:pointer}
button:focus-visible{outline:3px solid #1d1d1f;outline-offset:2px}
.done{padding:.8rem 1rem;border-radius:8px;background:#e6f4ea;color:#0d652d}
.gpc{padding:.8rem 1rem;border-radius:8px;background:#e8f0fe;color:#174ea6}
.problem{padding:.8rem 1rem;border-radius:8px;background:#fce8e6;color:#a50e0e}
main.wide{max-width:62rem}
h2{font-size:1.2rem;margin-top:2rem}
a{color:#0b57d0}
a:focus-visible{outline:3px solid #1d1d1f;outline-offset:2px}
a.button{display:inline-block;padding:.5rem .9rem;border-radius:8px;background:#0b57d0;color:#fff;text-decoration:none}
button.danger{background:#b3261e}
.meta,.langs,.links{color:#555;font-size:.9rem}
.links{margin-top:1.5rem}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;align-items:center;margin:1rem 0}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{text-align:left;vertical-align:top;padding:.5rem;border-bottom:1px solid #ddd}
thead th{background:#f0f0f0}
td ul,th ul{margin:0;padding-left:1rem}
.statutory,.desc{display:block;font-weight:normal;color:#555}
.statutory{font-style:italic}
td.yes{color:#a50e0e;font-weight:600}
.rights li{margin-bottom:.5rem}
.done p{margin:.25rem 0}
"""
