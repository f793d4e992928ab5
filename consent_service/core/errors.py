"""Typed errors raised below the web layer; the web layer maps them to HTTP in one place."""

from __future__ import annotations

from consent_service.core.vocab import ErrorCode

STATUS: dict[ErrorCode, int] = {
    ErrorCode.INVALID_JSON: 400,
    ErrorCode.INVALID_BODY: 400,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.UNKNOWN_SITE: 404,
    ErrorCode.UNKNOWN_PURPOSE: 422,
    ErrorCode.FORBIDDEN_ORIGIN: 403,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.STORE_UNAVAILABLE: 503,
    ErrorCode.INTERNAL: 500,
    ErrorCode.HEADERS_TOO_LARGE: 431,
}


class ApiError(Exception):
    """An answer the client must see as `{"error": code, "detail": detail}`."""

    def __init__(
        self, code: ErrorCode, detail: str, *, retry_after: int | None = None, site: str | None = None
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.retry_after = retry_after
        self.site = site  # the site asked for, where the error is about it (unknown, or a foreign origin)

    @property
    def status(self) -> int:
        return STATUS[self.code]


def unavailable() -> ApiError:
    """503 `store_unavailable`: storage did not answer in time; the client may retry shortly."""
    return ApiError(ErrorCode.STORE_UNAVAILABLE, "storage is unavailable; please retry", retry_after=5)
