"""The visitor of one request, read from it once: the region (the configured CDN headers, the demo's
chosen region, else the site's default) and its regime, GPC, the site's device token, the language,
the clock and the client's address. The API routes and the privacy pages share it."""

from __future__ import annotations

from starlette.requests import Request

from consent_service.core.clock import now_ms
from consent_service.core.regions import is_valid_region, regime_for
from consent_service.core.signals import gpc_signal, negotiate_language, region_from_headers
from consent_service.core.site import Site
from consent_service.core.tcf_signals import policy_version
from consent_service.core.texts import LANGUAGES
from consent_service.core.visitor import Visitor
from consent_service.web import http
from consent_service.web.state import AppState

REGION_COOKIE = "cs_demo_region"  # the demo page's chosen region (web/pages/demo.py sets it)


def visitor_of(request: Request, state: AppState, site: Site, gpc_flag: bool) -> Visitor:
    headers = http.headers_of(request)
    region = region_from_headers(headers.get, state.settings.region_header_pairs) or site.default_region
    if state.demo_site_active and site.id == "demo":
        region = demo_region(request) or region
    token, device = http.device_token(request, state.tokens, site.id)
    return Visitor(
        site=site,
        region=region,
        policy=policy_version(site, region, state.tcf.gvl() if site.tcf is not None else None),
        accept_language=headers.get("accept-language"),
        regime=regime_for(region, site.regimes),
        gpc_now=gpc_flag or gpc_signal((headers.get("sec-gpc", ""),)),
        device=device,
        token=token,
        user_agent=headers.get("user-agent"),
        now_ms=now_ms(),
        client_address=http.client_address(request, state.settings.forwarded_hops),
    )


def demo_region(request: Request) -> str | None:
    value = request.cookies.get(REGION_COOKIE, "").upper()
    return value if is_valid_region(value) else None


def language(request: Request, requested: str | None) -> str:
    return negotiate_language(requested or http.headers_of(request).get("accept-language"), LANGUAGES)
