"""One HTTP GET of a Global Vendor List resource (the list, or one translation), bounded in time and size.

IAB asks servers to fetch compressed (`Accept-Encoding`; httpx2 sends gzip, deflate and br, and
decodes them) and to cache each resource exactly for its `Cache-Control: max-age`, like a browser:
max-age minus the answer's `Age`. An ETag is sent back as If-None-Match, so an unchanged list costs
a 304. Redirects are not followed and nothing is taken from the environment (no proxy, no .netrc):
the URL configured is the one asked.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx2

from consent_service.core.digits import ascii_int

USER_AGENT = "consent-service (GVL fetcher)"


class FetchError(Exception):
    """The resource could not be fetched; the message says why, without the body."""


@dataclass(frozen=True, slots=True)
class Fetched:
    body: bytes | None  # None: 304, the copy one has is still current
    max_age_s: float | None  # what is left of the answer's freshness, or None when it gives none
    etag: str | None


def new_client() -> httpx2.AsyncClient:
    # No timeout of its own: fetch() bounds the whole exchange, a slow but steady download included.
    return httpx2.AsyncClient(follow_redirects=False, trust_env=False, timeout=None)


async def fetch(client: httpx2.AsyncClient, url: str, *, etag: str | None, timeout_s: float, max_bytes: int) -> Fetched:
    """GET `url`. Raises FetchError for a timeout (the whole exchange, not one read), a connection
    error, any status but 200 and 304, and a body over `max_bytes` (counted as decoded)."""
    headers = {"accept": "application/json", "user-agent": USER_AGENT}
    if etag:
        headers["if-none-match"] = etag
    try:
        async with asyncio.timeout(timeout_s):
            async with client.stream("GET", url, headers=headers) as response:
                if response.status_code not in (200, 304):
                    raise FetchError(f"HTTP {response.status_code}")
                age = max_age(response.headers.get_list("cache-control"), response.headers.get("age"))
                tag = response.headers.get("etag")
                if response.status_code == 304:
                    return Fetched(None, age, tag or etag)
                return Fetched(await _body(response, max_bytes), age, tag)
    except TimeoutError:
        raise FetchError(f"no complete answer within {timeout_s:g} s") from None
    except httpx2.HTTPError as exc:
        raise FetchError(type(exc).__name__) from None


async def _body(response: httpx2.Response, max_bytes: int) -> bytes:
    declared = ascii_int(response.headers.get("content-length"))
    if declared is not None and declared > max_bytes:
        raise FetchError(f"body of {declared} bytes, over {max_bytes}")
    parts, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:  # also what a compressed body decodes to
            raise FetchError(f"body over {max_bytes} bytes")
        parts.append(chunk)
    return b"".join(parts)


def max_age(cache_control: list[str], age: str | None) -> float | None:
    """The seconds an answer stays fresh: `max-age` minus `Age`; 0 for `no-store` / `no-cache`; None
    when it says nothing (the caller's default applies)."""
    found: int | None = None
    for line in cache_control:
        for directive in line.split(","):
            name, _, value = directive.strip().lower().partition("=")
            if name in ("no-store", "no-cache"):
                return 0.0
            if name == "max-age":
                found = ascii_int(value.strip().strip('"'))
    if found is None:
        return None
    return float(max(0, found - (ascii_int(age) or 0)))
