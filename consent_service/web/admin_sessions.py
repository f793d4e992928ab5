"""The admin pages' sessions (issue 6): the signed `cs_admin` cookie and the login throttle. Made once
per app (web/state.py, `Basics`); the login, logout and dashboard routes (web/admin/) use them.

- `cs_admin`: base64url JSON signed with itsdangerous' TimestampSigner (sha256, salt
  `cs-admin-session-v1`, the service's signing keys newest first: the first signs, all verify), so it
  carries its issue time. 8 hours, which the server enforces too, whatever the browser does with
  Max-Age.
- It also holds a keyed fingerprint of the key (an HMAC under the pseudonymization key: neither the key
  nor any part of it), so that taking a key out of CONSENT_ADMIN_KEYS ends its sessions at once, and a
  session never sees more sites than its key still may.
- Each session has a random id (128 bits) in the cookie, which signing out revokes server-side
  (store/sessions.py; web/admin/session.py says how).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass

import orjson
from itsdangerous import BadSignature, TimestampSigner

from consent_service.core.identity import CLOCK_SKEW_S, is_device_id
from consent_service.core.keyed import matching_key

COOKIE = "cs_admin"
MAX_AGE_S = 8 * 3600
MAX_COOKIE_LENGTH = 2048
FAILURES_ALLOWED, FAILURE_WINDOW_S = 10, 300  # failed logins per client address and window
SESSION_ID_BYTES = 16  # 128 random bits, base64url: a device id's format (so store buckets spread them)
FORMAT = 2  # the cookie payload's "v"; 1 had no session id and is refused


@dataclass(frozen=True, slots=True)
class AdminSession:
    sites: frozenset[str]  # site ids, or "*" for every site
    issued_at: int  # seconds
    session_id: str  # random; what a logout revokes

    def may_see(self, site_id: str) -> bool:
        return "*" in self.sites or site_id in self.sites


def _meet(a: frozenset[str], b: frozenset[str]) -> frozenset[str]:
    """The sites both allow ("*" is every site)."""
    return b if "*" in a else a if "*" in b else a & b


class AdminSessions:
    """Issues and verifies `cs_admin` cookies; checks a presented admin key (once, at login)."""

    def __init__(self, keys_newest_first: tuple[str, ...], fingerprint_key: str, max_age_s: int = MAX_AGE_S) -> None:
        # itsdangerous signs with the LAST key of its list and tries all: hence the reversal.
        self._signer = TimestampSigner(
            list(reversed(keys_newest_first)), salt="cs-admin-session-v1", digest_method=hashlib.sha256
        )
        self._fingerprint_key = fingerprint_key.encode()
        self.max_age_s = max_age_s

    def fingerprint(self, admin_key: str) -> str:
        digest = hmac.new(self._fingerprint_key, f"admin-key\0{admin_key}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")

    @staticmethod
    def check_key(presented: str, admin_keys: tuple[tuple[str, frozenset[str]], ...]) -> tuple[str, frozenset[str]]:
        """The configured (key, sites) the presented key is, else ("", empty). Every key is compared
        in constant time, so the timing says nothing about which one matched."""
        found = matching_key(presented, ((known, (known, sites)) for known, sites in admin_keys))
        return found or ("", frozenset())

    def issue(self, admin_key: str, sites: frozenset[str]) -> str:
        sid = secrets.token_urlsafe(SESSION_ID_BYTES)
        payload = orjson.dumps({"v": FORMAT, "sid": sid, "sites": sorted(sites), "kid": self.fingerprint(admin_key)})
        return self._signer.sign(base64.urlsafe_b64encode(payload).rstrip(b"=")).decode("ascii")

    def verify(self, cookie: str | None, admin_keys: tuple[tuple[str, frozenset[str]], ...]) -> AdminSession | None:
        """The session of a valid cookie whose key is still configured, else None (never raises).
        Whether it was signed out is the store's to say: see `session_of`."""
        read = self.signed(cookie)
        if read is None:
            return None
        session, kid = read
        current = [allowed for known, allowed in admin_keys if hmac.compare_digest(self.fingerprint(known), kid)]
        if not current:  # the key was taken out of the configuration
            return None
        return AdminSession(_meet(session.sites, current[0]), session.issued_at, session.session_id)

    def signed(self, cookie: str | None) -> tuple[AdminSession, str] | None:
        """The session a cookie of ours names, signed and within its age, and its key's fingerprint;
        whether that key is still configured is not checked here (a logout revokes either way)."""
        if not cookie or len(cookie) > MAX_COOKIE_LENGTH or not cookie.isascii():
            return None
        try:
            raw, signed_at = self._signer.unsign(cookie, return_timestamp=True)
            payload = orjson.loads(base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4)))
        except (BadSignature, ValueError):  # orjson's and base64's errors are ValueErrors
            return None
        # Our own age check, as for device tokens: itsdangerous refuses a cookie a second "from the
        # future", and replicas' clocks differ a little.
        issued = int(signed_at.timestamp())
        if not -CLOCK_SKEW_S <= time.time() - issued <= self.max_age_s or not isinstance(payload, dict):
            return None
        sites, kid, sid = payload.get("sites"), payload.get("kid"), payload.get("sid")
        if not isinstance(sites, list) or not all(isinstance(s, str) for s in sites) or not isinstance(kid, str):
            return None
        if payload.get("v") != FORMAT or not isinstance(sid, str) or not is_device_id(sid):  # no id: not revocable
            return None
        return AdminSession(frozenset(sites), issued, sid), kid

    def remaining_s(self, session: AdminSession) -> int:
        """How long any replica could still accept the session: its age limit from its issue time,
        plus the clock skew tolerated between replicas."""
        return max(1, session.issued_at + self.max_age_s + CLOCK_SKEW_S - int(time.time()))


class LoginThrottle:
    """Failed logins per client (keyed hash), in this process: past the limit, further failures are
    refused for the window. It never refuses a correct key (see login_post). Keys are 32+ random
    characters, so this only keeps the log and the CPU quiet; it is no defence against guessing."""

    def __init__(self, allowed: int = FAILURES_ALLOWED, window_s: int = FAILURE_WINDOW_S, size: int = 10_000) -> None:
        self._allowed, self._window_s, self._size = allowed, window_s, size
        self._failures: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def blocked_for(self, client: str) -> int:
        """Seconds until this client may try again (0: now)."""
        started, n = self._failures.get(client, (0.0, 0))
        left = started + self._window_s - time.monotonic()
        return max(1, int(left)) if n >= self._allowed and left > 0 else 0

    def failed(self, client: str) -> None:
        now = time.monotonic()
        started, n = self._failures.pop(client, (now, 0))
        self._failures[client] = (started, n + 1) if now - started < self._window_s else (now, 1)
        while len(self._failures) > self._size:
            self._failures.popitem(last=False)


# ---- the pages ----------------------------------------------------------------------------------------
