"""Static assets served from memory: banner.js and banner-prefs.js (precompressed) and the demo page's files.

Compressed once at start-up, not per request: the banner is fetched by every page view of every
site, and brotli at its best level is far too slow to run per request.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from importlib import resources

import brotli
from starlette.requests import Request
from starlette.responses import Response

BANNER = "banner.js"
BANNER_PREFS = "banner-prefs.js"  # the preferences, which banner.js loads when they are first opened
LONG_CACHE = "public, max-age=31536000, immutable"  # a content-hashed URL never changes
SHORT_CACHE = "public, max-age=300"  # the plain URL: new releases reach sites within minutes


@dataclass(frozen=True, slots=True)
class Asset:
    """One file with its encodings, ETag and content hash."""

    body: bytes
    gzip: bytes
    brotli: bytes
    media_type: str
    digest: str  # first 12 hex digits of its sha256

    @property
    def etag(self) -> str:
        return f'"{self.digest}"'

    @classmethod
    def of(cls, body: bytes, media_type: str) -> Asset:
        return cls(
            body=body,
            gzip=gzip.compress(body, compresslevel=9, mtime=0),
            brotli=brotli.compress(body, quality=11),
            media_type=media_type,
            digest=hashlib.sha256(body).hexdigest()[:12],
        )


def load_asset(name: str, media_type: str) -> Asset:
    return Asset.of(resources.files("consent_service").joinpath("static", name).read_bytes(), media_type)


def serve(asset: Asset, request: Request, cache_control: str, extra: dict[str, str] | None = None) -> Response:
    """The best encoding the client accepts, with ETag/304 and `Vary: Accept-Encoding`."""
    headers = {
        "cache-control": cache_control,
        "etag": asset.etag,
        "vary": "Accept-Encoding",
        "x-content-type-options": "nosniff",
        # Embeddable by pages that require CORP (COEP), from any site: it is public code.
        "cross-origin-resource-policy": "cross-origin",
        **(extra or {}),
    }
    if asset.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    accepted = _encodings(request.headers.get("accept-encoding", ""))
    if "br" in accepted:
        return Response(asset.brotli, headers={**headers, "content-encoding": "br"}, media_type=asset.media_type)
    if "gzip" in accepted:
        return Response(asset.gzip, headers={**headers, "content-encoding": "gzip"}, media_type=asset.media_type)
    return Response(asset.body, headers=headers, media_type=asset.media_type)


def _encodings(header: str) -> set[str]:
    """Codings the client accepts (q=0 excluded)."""
    accepted = set()
    for item in header.lower().split(","):
        coding, _, params = item.strip().partition(";")
        if params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000"):
            accepted.add(coding.strip())
    return accepted
