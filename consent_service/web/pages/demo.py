"""The demo publisher page (`GET /demo`): gated tags served by the service itself, so a newcomer sees
the banner, GPC, tag gating and the IAB/Google signals work with the README's run command alone.

`?region=DE` (or `US-CA`, `BR`, …; empty to clear) sets the region for the bundled demo site only, via
a cookie on the service's origin; every other site ignores it.
"""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import Response

from consent_service.core.regions import is_valid_region
from consent_service.web.assets import SHORT_CACHE, Asset, load_asset, serve
from consent_service.web.visitor import REGION_COOKIE, demo_region

FILES = {
    "gtag.js": "text/javascript; charset=utf-8",
    "ads.js": "text/javascript; charset=utf-8",
    "analytics.js": "text/javascript; charset=utf-8",
    "demo.js": "text/javascript; charset=utf-8",
    "ad-frame.js": "text/javascript; charset=utf-8",
    "ad-frame.html": "text/html; charset=utf-8",
    "demo.css": "text/css; charset=utf-8",
}
# The strict policy the banner must live under: no inline script or style anywhere.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)
TRY_REGIONS = (
    ("US-CA", "California"),
    ("DE", "Germany"),
    ("GB", "United Kingdom"),
    ("BR", "Brazil"),
    ("JP", "Japan"),
    ("", "no region"),
)


def load_files() -> dict[str, Asset]:
    return {name: load_asset(f"demo/{name}", media_type) for name, media_type in FILES.items()}


def page(request: Request, banner_digest: str) -> Response:
    region = request.query_params.get("region")
    chosen = region.upper() if region is not None else demo_region(request)
    if chosen and not is_valid_region(chosen):
        chosen = None
    body = _PAGE.format(
        banner=f"/v1/banner.{banner_digest}.js",
        region=html.escape(chosen or "none (the region headers, else the site's default)"),
        regions=" ".join(f'<a href="/demo?region={code}">{name}</a>' for code, name in TRY_REGIONS),
    )
    headers = {
        "content-security-policy": CSP,
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
    }
    response = Response(body, media_type="text/html; charset=utf-8", headers=headers)
    if region is not None:
        if chosen:
            response.set_cookie(REGION_COOKIE, chosen, max_age=86_400, path="/", httponly=True, samesite="lax")
        else:
            response.delete_cookie(REGION_COOKIE, path="/")
    return response


def file(request: Request, assets: dict[str, Asset]) -> Response:
    asset = assets.get(request.path_params["name"])
    if asset is None:
        return Response(status_code=404)
    return serve(
        asset,
        request,
        SHORT_CACHE,
        {"content-security-policy": CSP} if asset.media_type.startswith("text/html") else None,
    )


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>The Daily Example: consent-service demo</title>
<link rel="stylesheet" href="/demo/demo.css">
<script src="/demo/gtag.js"></script>
<script src="{banner}" data-site="demo"></script>
</head>
<body>
<header>
<h1>The Daily Example</h1>
<p>A publisher page wired to consent-service. Region: <strong id="demo-region">{region}</strong>.
Try: <span class="regions">{regions}</span></p>
</header>
<main>
<article>
<h2>Local news, gently tracked</h2>
<p>This page carries an analytics tag, an advertising tag and an ad in an iframe. None of them runs
before the banner's decision allows its purpose; with Global Privacy Control on, the advertising
tag never runs.</p>
</article>
<div id="analytics-slot" class="tag">Analytics tag: not loaded.</div>
<div id="ad-slot" class="tag">Advertising tag: not loaded.</div>
<iframe data-consent="advertising" data-src="/demo/ad-frame.html" title="Advertisement"></iframe>
<h2>What ad tech can read</h2>
<dl class="status">
<dt>Regime</dt><dd id="st-regime"></dd>
<dt>GPC</dt><dd id="st-gpc"></dd>
<dt>Decisions</dt><dd id="st-decisions"></dd>
<dt>US Privacy</dt><dd id="st-usp"></dd>
<dt>GPP</dt><dd id="st-gpp"></dd>
<dt>Cookies</dt><dd id="st-cookies"></dd>
</dl>
</main>
<footer>
<p><a href="/privacy/demo/opt-out" data-consent-open>Do Not Sell or Share My Personal Information</a> ·
<a href="#privacy-choices" data-consent-open>Your Privacy Choices</a></p>
</footer>
<script type="text/plain" data-consent="analytics" src="/demo/analytics.js"></script>
<script type="text/plain" data-consent="advertising" src="/demo/ads.js"></script>
<script src="/demo/demo.js"></script>
</body>
</html>
"""
