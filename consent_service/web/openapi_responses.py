"""The building blocks of the operations in /openapi.json: answers with their headers, the error
answers by status, and the headers and parameters many operations share."""

from __future__ import annotations

from consent_service.web.http import MAX_BODY_BYTES
from consent_service.web.openapi_schemas import ID, Schema, ref

NO_STORE_HEADERS = {
    "Cache-Control": {
        "required": True,
        "schema": {"type": "string", "const": "no-store"},
        "description": "per-device and admin answers, and every error, are never cached",
    },
    "X-Content-Type-Options": {"required": True, "schema": {"type": "string", "const": "nosniff"}},
}
_SET_COOKIE = {
    "Set-Cookie": {
        "required": False,
        "schema": {"type": "string", "pattern": "^cs_device_[a-z0-9][a-z0-9_-]*="},
        "description": "the device token as the site's `cs_device_<site>` cookie (HttpOnly), when one is issued or "
        "re-signed",
    }
}
_RETRY_AFTER = {
    "Retry-After": {
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
        "description": "seconds to wait before retrying",
    }
}
_ERROR_TEXT = {
    400: "invalid JSON, body or query (`invalid_json`, `invalid_body`)",
    401: "no or unknown admin key (`unauthorized`)",
    403: "a foreign origin (`forbidden_origin`), or an admin key not for this site (`forbidden`)",
    404: "unknown site (`unknown_site`), or nothing found (`not_found`)",
    413: f"body over {MAX_BODY_BYTES} bytes (`payload_too_large`)",
    422: "unknown purpose (`unknown_purpose`)",
    429: "too many writes from this device or client (`rate_limited`; never for an opt-out): retry after Retry-After",
    503: "storage unavailable, nothing was changed (`store_unavailable`): retry after Retry-After",
}


def json_answer(schema: str, description: str, headers: Schema | None = None) -> Schema:
    answer: Schema = {"description": description, "content": {"application/json": {"schema": ref(schema)}}}
    if headers:
        answer["headers"] = headers
    return answer


def ok_answer(schema: str, description: str, *, cookie: bool = False) -> Schema:
    """A 200 JSON answer that is never cached (per device or admin), maybe setting the device cookie."""
    return json_answer(schema, description, NO_STORE_HEADERS | (_SET_COOKIE if cookie else {}))


def error_answers(*codes: int) -> Schema:
    return {
        str(code): json_answer(
            "Error", _ERROR_TEXT[code], NO_STORE_HEADERS | (_RETRY_AFTER if code in (429, 503) else {})
        )
        for code in codes
    }


def _header(name: str, description: str) -> Schema:
    return {"name": name, "in": "header", "required": False, "schema": {"type": "string"}, "description": description}


DEVICE_HEADER = _header("X-Consent-Device", "the site's device token; wins over its cs_device_<site> cookie if valid")
_GPC_HEADER = _header(
    "Sec-GPC",
    "Global Privacy Control: an element exactly `1` (comma-separated, trimmed) is an opt-out of sale and "
    "sharing; any other value is no signal",
)
# The trusted CDN region headers (CONSENT_REGION_HEADERS); without a valid one, the site's default region.
_REGION_HEADERS = [
    _header(name, "visitor's country or subdivision, from a trusted CDN (ISO 3166)")
    for name in (
        "CloudFront-Viewer-Country",
        "CloudFront-Viewer-Country-Region",
        "CF-IPCountry",
        "CF-Region-Code",
        "X-Vercel-IP-Country",
        "X-Vercel-IP-Country-Region",
    )
]
VISITOR_HEADERS = [DEVICE_HEADER, _GPC_HEADER, *_REGION_HEADERS]
GPC_QUERY = {
    "name": "gpc",
    "in": "query",
    "required": False,
    "schema": {"type": "string"},
    "description": "`1` when the page sees navigator.globalPrivacyControl === true (the header's rule: "
    "any other value is no signal)",
}
SITE_QUERY = {"name": "site", "in": "query", "required": True, "schema": ID}
BEARER: list[Schema] = [{"bearer": []}]
