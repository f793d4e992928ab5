"""HTTP plumbing shared by the routes: JSON answers, bounded bodies, origins, the device cookie.

No business rules here: this module knows HTTP, not consent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

import orjson
from starlette.requests import Request
from starlette.responses import Response

from consent_service.config.settings import Settings
from consent_service.core.digits import ascii_int
from consent_service.core.errors import ApiError
from consent_service.core.identity import DeviceTokens, Verified, chosen
from consent_service.core.keyed import FormTokens
from consent_service.core.vocab import ErrorCode

MAX_BODY_BYTES = 16 * 1024
MAX_FORM_FIELDS = 10  # our HTML forms have at most four
FORM_TYPE = "application/x-www-form-urlencoded"
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
COOKIE_PREFIX = "cs_device_"  # + the site id (sites.SITE_ID_RE: valid cookie-name characters)
LEGACY_COOKIE = "cs_device"  # one cookie for every site, before tokens were bound to a site: read, never set
DEVICE_HEADER = "x-consent-device"
JSON_TYPE = "application/json"
# JSON answers are data, never a document: forbid everything a browser could do with them.
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
}
NO_STORE = {"cache-control": "no-store", **SECURITY_HEADERS}


_HEADERS_KEY = "consent_service.headers"


def headers_of(request: Request) -> dict[str, str]:
    """The request's headers in one dict, built once per request in one pass.

    Starlette's `request.headers.get` scans every header on each call, and the decision path asks
    for about eight. Repeated fields are joined as HTTP joins them (with commas; cookies with `; `),
    which is also what the GPC parsing rule expects.
    """
    cached: dict[str, str] | None = request.scope.get(_HEADERS_KEY)
    if cached is not None:
        return cached
    headers: dict[str, str] = {}
    for raw_name, raw_value in request.scope["headers"]:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        if name in headers:
            value = f"{headers[name]}{'; ' if name == 'cookie' else ','}{value}"
        headers[name] = value
    request.scope[_HEADERS_KEY] = headers
    return headers


class JSONAnswer(Response):
    """A JSON response whose headers are assembled as bytes directly (the hot path's answers)."""

    media_type = JSON_TYPE

    def __init__(self, body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> None:
        self.status_code = status
        self.background = None
        self.body = orjson.dumps(body)
        self.raw_headers = [
            *_encoded(headers or NO_STORE),
            (b"content-length", str(len(self.body)).encode()),
            (b"content-type", b"application/json"),
        ]


def _encoded(headers: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return JSONAnswer(body, status, headers)


def error_response(error: ApiError, extra_headers: Mapping[str, str] | None = None) -> Response:
    headers = {**NO_STORE, **(extra_headers or {})}
    if error.retry_after is not None:
        headers["retry-after"] = str(error.retry_after)
    return json_response({"error": error.code.value, "detail": error.detail}, error.status, headers)


async def read_json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object, at most MAX_BODY_BYTES."""
    try:
        body = orjson.loads(await read_body(request))
    except orjson.JSONDecodeError:
        raise ApiError(ErrorCode.INVALID_JSON, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(ErrorCode.INVALID_BODY, "the body must be a JSON object")
    return body


async def read_body(request: Request) -> bytes:
    """The body, at most MAX_BODY_BYTES, read without buffering more than that."""
    declared = headers_of(request).get("content-length")
    declared_size = ascii_int(declared)
    if declared is not None and (declared_size is None or declared_size > MAX_BODY_BYTES):
        raise ApiError(ErrorCode.PAYLOAD_TOO_LARGE, f"the body must be at most {MAX_BODY_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ApiError(ErrorCode.PAYLOAD_TOO_LARGE, f"the body must be at most {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_form(request: Request, max_fields: int = MAX_FORM_FIELDS) -> dict[str, str]:
    """One of our HTML forms' urlencoded body, by `parse_form`'s rules, at most MAX_BODY_BYTES.

    Raises ApiError (400 `invalid_body`, 413 `payload_too_large`) and nothing else, so the page that
    reads it can answer a malformed form with its own HTML and a 4xx."""
    media = headers_of(request).get("content-type", FORM_TYPE).partition(";")[0].strip().lower()
    if media != FORM_TYPE:  # multipart, JSON…: our forms never send those
        raise ApiError(ErrorCode.INVALID_BODY, f"a form must be sent as {FORM_TYPE}")
    return parse_form(await read_body(request), max_fields)


def parse_form(body: bytes, max_fields: int = MAX_FORM_FIELDS) -> dict[str, str]:
    """The fields of an `application/x-www-form-urlencoded` body, strictly: `&`-separated (never
    `;`), ASCII on the wire, every `%` followed by two hex digits that decode to UTF-8, no control
    characters once decoded, at most `max_fields` fields, each named once (our forms never repeat a
    field; taking the first or the last of two CSRF tokens would be a guess). Anything else raises
    ApiError(INVALID_BODY), never another exception."""
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise _malformed("the form must be ASCII, with other characters percent-encoded") from None
    pieces = [piece for piece in text.split("&") if piece]
    if len(pieces) > max_fields:
        raise _malformed(f"a form has at most {max_fields} fields")
    fields: dict[str, str] = {}
    for piece in pieces:
        name, _, value = piece.partition("=")
        name, value = _form_text(name), _form_text(value)
        if name in fields:
            raise _malformed(f"the field {name[:32]!r} is repeated")
        fields[name] = value
    return fields


def _form_text(raw: str) -> str:
    if _BAD_ESCAPE.search(raw):
        raise _malformed("a `%` in a form must start a percent-escape (two hex digits)")
    try:
        text = unquote_plus(raw, errors="strict")
    except UnicodeDecodeError:
        raise _malformed("a percent-encoded form value must be UTF-8") from None
    if _CONTROL.search(text):  # NUL, CR, LF…: no field of ours holds them
        raise _malformed("a form field may not hold control characters")
    return text


def _malformed(detail: str) -> ApiError:
    return ApiError(ErrorCode.INVALID_BODY, detail)


def own_origin(request: Request, settings: Settings) -> str:
    """The service's own origin: configured, else the one this request was addressed to."""
    if settings.public_origin:
        return settings.public_origin
    host = headers_of(request).get("host", "")
    return f"{request.url.scheme}://{host}".lower()


def origin_allowed(origin: str | None, allowed: frozenset[str], request: Request, settings: Settings) -> bool:
    """No Origin (a server-side caller) is allowed; `null` and unlisted origins are not."""
    if origin is None:
        return True
    origin = origin.lower()
    return origin in allowed or origin == own_origin(request, settings)


# An origin as a browser sends it: scheme, lower-case host (or bracketed IPv6), optional port; nothing
# else (no path, no space, no control or bidi character) is ever echoed or logged.
_ORIGIN = re.compile(
    r"https?://(?:[a-z0-9-]{1,63}\.)*[a-z0-9-]{1,63}(?::[0-9]{1,5})?|https?://\[[0-9a-f:.]{2,45}\](?::[0-9]{1,5})?"
)


def well_formed_origin(origin: str) -> bool:
    return len(origin) <= 300 and _ORIGIN.fullmatch(origin) is not None


def cors_headers(origin: str) -> dict[str, str]:
    return {
        "access-control-allow-origin": origin,
        "access-control-allow-credentials": "true",
        "access-control-expose-headers": "retry-after",
        "vary": "Origin",
    }


def client_address(request: Request, forwarded_hops: int) -> str | None:
    """The client's address: the peer's, or, behind `forwarded_hops` trusted proxies, the address
    that many hops back in X-Forwarded-For (the proxies append; anything further left is the
    client's own claim and cannot be trusted). Only ever used hashed (rate limits)."""
    if forwarded_hops > 0:
        hops = [part.strip() for part in headers_of(request).get("x-forwarded-for", "").split(",") if part.strip()]
        if len(hops) >= forwarded_hops:
            return hops[-forwarded_hops][:64]
    return request.client.host if request.client else None


def device_cookie_name(site: str) -> str:
    """Each site its own device cookie: sites sharing one service host never overwrite each other's."""
    return f"{COOKIE_PREFIX}{site}"


def device_token(request: Request, tokens: DeviceTokens, site: str) -> tuple[str | None, Verified | None]:
    """The caller's valid token for `site` and its device, from the `X-Consent-Device` header, the
    site's cookie and the one cookie of before tokens named their site (LEGACY_COOKIE), as
    identity.chosen picks among them: in the usual case, a current header, at once."""
    header = headers_of(request).get(DEVICE_HEADER)
    verified = tokens.verify(header, site)
    if verified is not None and not verified.legacy and "~" not in headers_of(request).get("cookie", ""):
        return header, verified  # no cookie carries an opt-out (only a carrying token has a `~`)
    found = [(header, verified)] if header is not None and verified is not None else []
    for name in (device_cookie_name(site), LEGACY_COOKIE):
        cookie = _cookie(request, name)
        if cookie is not None and (valid := tokens.verify(cookie, site)) is not None:
            found.append((cookie, valid))
    return chosen(found)


def _cookie(request: Request, wanted: str) -> str | None:
    # Parsed by hand: only one cookie matters, and a hostile Cookie header must not cost much.
    raw = headers_of(request).get("cookie")
    if not raw or wanted not in raw:
        return None
    for part in raw.split(";"):
        name, _, value = part.strip().partition("=")
        if name == wanted:
            return value.strip('"')
    return None


def set_device_cookie(response: Response, site: str, token: str, request: Request, settings: Settings) -> None:
    secure = settings.cookie_secure == "always" or (
        settings.cookie_secure == "auto" and (request.url.scheme == "https" or settings.cookie_samesite == "none")
    )
    response.set_cookie(
        device_cookie_name(site),
        token,
        max_age=settings.cookie_max_age_days * 86_400,
        path="/",
        domain=settings.cookie_domain,
        secure=secure,
        httponly=True,
        samesite=settings.cookie_samesite,
    )


def bearer(request: Request) -> str:
    """The token of `Authorization: Bearer <token>` (scheme case-insensitive), else ""."""
    scheme, _, given = headers_of(request).get("authorization", "").partition(" ")
    return given.strip() if scheme.lower() == "bearer" else ""


def own_form_post(
    request: Request, forms: FormTokens, settings: Settings, *, csrf: str | None, scope: str, form: str
) -> bool:
    """A post of one of our own forms (CSRF): its signed token for this scope and form, and no
    foreign (or `null`) Origin. The one check of every HTML form the service serves."""
    origin = headers_of(request).get("origin")
    return forms.valid(csrf, scope, form) and origin_allowed(origin, frozenset(), request, settings)
