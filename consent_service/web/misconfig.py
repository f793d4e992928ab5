"""Misconfiguration speaks up: a page whose origin is not among its site's origins, or whose tag names
a site that is not configured, is refused (403 `forbidden_origin`, 404 `unknown_site`) or answered
without CORS, and the browser only shows a CORS error in the page's console. So the service logs a
warning that names the fix, once per (origin, site) every 10 minutes, with bounded memory and a cap
per minute (obs/once.py), so that no client can fill the memory or the log.

The line names the origin (a web page's address, not a person's) and the site id; a value that is
not a well-formed origin or site id is not written, only said to be malformed. No token, address,
path or query is written.
"""

from __future__ import annotations

import logging

from consent_service.config.selection import FLAGS_SOURCE, origins_source
from consent_service.config.sites import DEMO_SOURCE, SITE_ID_RE
from consent_service.core.errors import ApiError
from consent_service.core.site import SiteConfig
from consent_service.core.vocab import ErrorCode
from consent_service.obs.once import OncePer
from consent_service.web.http import well_formed_origin

log = logging.getLogger("consent_service.misconfig")
NULL_ORIGIN = "null"  # a page opened from a file, or a sandboxed frame


class Misconfig:
    def __init__(self, sites: SiteConfig, limiter: OncePer | None = None) -> None:
        self._sites = sites
        self._once = limiter or OncePer()

    def refused(self, error: ApiError, origin: str | None) -> None:
        """After a 403 `forbidden_origin` or a 404 `unknown_site` (web/errors.py)."""
        if error.code is ErrorCode.FORBIDDEN_ORIGIN and origin is not None:
            self._origin(origin, error.site, f"{error.status} {error.code.value}")
        elif error.code is ErrorCode.UNKNOWN_SITE and error.site is not None:
            self._unknown_site(error.site, origin)

    def not_granted(self, origin: str, site_id: str) -> None:
        """A GET from a page whose origin is not the site's: answered without CORS, unreadable there."""
        self._origin(origin, site_id, "answered without CORS: the browser hides the answer from the page")

    def _origin(self, raw_origin: str, site_id: str | None, what: str) -> None:
        origin = _clean_origin(raw_origin)
        site = site_id if site_id in self._sites.sites else None
        left_out = self._once.due(("origin", origin, site))
        if left_out is None:
            return
        if origin == NULL_ORIGIN:
            fix = (
                "the page has no origin (Origin: null: opened from a file, or a sandboxed frame); serve it over http(s)"
            )
        elif origin is None:
            fix = "its Origin header is malformed"
        elif site is None:
            fix = self._add_to_any(origin)
        else:
            fix = self._add_to_site(origin, site)
        subject = f"origin {origin}" if origin not in (None, NULL_ORIGIN) else "a request"
        where = f"site {site!r}" if site is not None else "any site"
        _warn(f"{subject} is not in the origins of {where} ({what}): {fix}", left_out, site, "forbidden_origin")

    def _add_to_site(self, origin: str, site_id: str) -> str:
        source = origins_source(self._sites, site_id)
        if source == FLAGS_SOURCE:
            return f"add --origin {origin} (CONSENT_ORIGINS) and restart"
        if source == DEMO_SOURCE:
            return (
                f"the bundled demo site serves its own pages only; serve a site of your own for this page: "
                f"--site ID --origin {origin} (or --config FILE)"
            )
        return f"add it to the origins of site {site_id!r} in {source} and restart"

    def _add_to_any(self, origin: str) -> str:
        if len(self._sites.sites) == 1:
            return self._add_to_site(origin, next(iter(self._sites.sites)))
        return f"add it to the origins of the site whose tag is on that page, in {self._sites.source}, and restart"

    def _unknown_site(self, raw_site: str, raw_origin: str | None) -> None:
        site = raw_site if SITE_ID_RE.fullmatch(raw_site) else None
        origin = _clean_origin(raw_origin) if raw_origin is not None else None
        left_out = self._once.due(("site", site, origin))
        if left_out is None:
            return
        served = ", ".join(self._sites.sites)
        if site is None:
            message = f"a request named a site id that is not valid (sites here: {served})"
        else:
            page = f" (from a page of origin {origin})" if origin not in (None, NULL_ORIGIN) else ""
            message = f"site {site!r} is not configured{page}; sites here: {served}: {self._add_site(site, origin)}"
        _warn(message, left_out, site, "unknown_site")

    def _add_site(self, site_id: str, origin: str | None) -> str:
        page_origin = origin if origin not in (None, NULL_ORIGIN) else "ORIGIN"
        files = sorted({origins_source(self._sites, s) for s in self._sites.sites} - {FLAGS_SOURCE, DEMO_SOURCE})
        if files:
            return f'check data-site="…" on the page, or add a [[sites]] table with id = "{site_id}" to {files[0]}'
        if any(origins_source(self._sites, s) == FLAGS_SOURCE for s in self._sites.sites):
            return 'check data-site="…" on the page (--site serves one site; several need a file: --config)'
        return f'check data-site="…" on the page, or serve that site: --site {site_id} --origin {page_origin}'


def _clean_origin(raw: str | None) -> str | None:
    """The origin when it is one (lowercase), `null`, or None for anything else (never written)."""
    if raw is None:
        return None
    origin = raw.strip().lower()
    if origin == NULL_ORIGIN or well_formed_origin(origin):
        return origin
    return None


def _warn(message: str, left_out: int, site: str | None, kind: str) -> None:
    if left_out:
        message += f" ({left_out} more such warnings left out in the last minute)"
    log.warning(message, extra={"site": site, "kind": kind})
