"""The demo publisher page (`GET /demo`): gated tags served by the service itself, so a newcomer sees
the banner, GPC, tag gating and the IAB/Google signals work with the README's run command alone.

`?region=DE` (or `US-CA`, `BR`, …; empty to clear) sets the region for the bundled demo site only, via
a cookie on the service's origin; every other site ignores it. The page is a template,
web/templates/pages/demo.html.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from consent_service.core.regions import is_valid_region
from consent_service.web.assets import SHORT_CACHE, Asset, load_asset, serve
from consent_service.web.templating import render
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
    body = render("pages/demo.html", banner=f"/v1/banner.{banner_digest}.js", region=chosen, regions=TRY_REGIONS)
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
