"""Revoked admin sessions: the one piece of server state the admin pages' signed cookie
(web/admin/session.py) needs, so that signing out ends a session in every worker and replica at once.

    cs1:{admin.<bucket>}:revoked:<session id>   string  "1", expiring when the session would have

The session id is 128 random bits (base64url, like a device id), so its bucket spreads the keys over
every shard like devices do. Each key is read and written alone: no two share a step. A revocation
lives exactly as long as the cookie it refuses could still be accepted, so the set never grows past
the sessions signed out in the last few hours.
"""

from __future__ import annotations

import asyncio

from consent_service.core.identity import bucket_of, is_device_id
from consent_service.store.connect import Client
from consent_service.store.errors import REDIS_ERRORS, unavailable
from consent_service.store.trail import KEY_VERSION


def revoked_key(session_id: str) -> str:
    """The revocation's key; `session_id` is 22 base64url characters (web/admin_sessions.py checks it)."""
    assert is_device_id(session_id), "a session id has a device id's format"
    return f"{KEY_VERSION}:{{admin.{bucket_of(session_id):04d}}}:revoked:{session_id}"


class SessionRevocations:
    """Every method raises StoreUnavailable and nothing else from Redis."""

    def __init__(self, client: Client) -> None:
        self._redis = client

    async def revoke(self, session_id: str, ttl_s: int, timeout_s: float) -> None:
        """From now on the session is refused everywhere, for `ttl_s` seconds (its remaining life)."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._redis.set(revoked_key(session_id), "1", ex=max(1, ttl_s))
        except REDIS_ERRORS as exc:
            raise unavailable(exc) from exc

    async def revoked(self, session_id: str, timeout_s: float) -> bool:
        try:
            async with asyncio.timeout(timeout_s):
                return bool(await self._redis.exists(revoked_key(session_id)))
        except REDIS_ERRORS as exc:
            raise unavailable(exc) from exc
