"""What the service's secret keys do besides device tokens (identity.py): signed tokens for its own
HTML forms (CSRF), keyed pseudonyms (account ids and client addresses are never stored raw), and
the one comparison of a presented secret with the configured ones."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from typing import TypeVar

from itsdangerous import BadSignature, TimestampSigner

from consent_service.core.identity import DEVICE_ID_BYTES, MAX_TOKEN_LENGTH

Found = TypeVar("Found")


class FormTokens:
    """CSRF tokens for the service's own HTML forms: signed, bound to a site and a form, short-lived."""

    def __init__(self, keys_newest_first: tuple[str, ...], max_age_s: int = 3600) -> None:
        self._signer = TimestampSigner(
            list(reversed(keys_newest_first)), salt="cs-form-v1", digest_method=hashlib.sha256
        )
        self._max_age_s = max_age_s

    def issue(self, site: str, form: str) -> str:
        return self._signer.sign(f"{form}:{site}:{secrets.token_urlsafe(8)}").decode("ascii")

    def valid(self, token: str | None, site: str, form: str) -> bool:
        if not token or len(token) > MAX_TOKEN_LENGTH * 2 or not token.isascii():
            return False
        try:
            value = self._signer.unsign(token, max_age=self._max_age_s).decode("ascii", "replace")
        except BadSignature:  # also expired
            return False
        return value.startswith(f"{form}:{site}:")


class Pseudonyms:
    """Keyed pseudonyms of account ids, so that no raw account id is ever stored.

    An HMAC with the pseudonymization key, which never rotates with the signing keys (a rotation
    would orphan every account). 128 bits, base64url like a device id, so it buckets the same way.
    """

    def __init__(self, key: str) -> None:
        self._key = key.encode()

    def client(self, address: str) -> str:
        """A client address's pseudonym, for rate limits: the address itself is never stored."""
        digest = hmac.new(self._key, f"client\0{address}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:DEVICE_ID_BYTES]).rstrip(b"=").decode("ascii")

    def account(self, site: str, account_id: str) -> str:
        message = f"account\0{site}\0{account_id}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:DEVICE_ID_BYTES]).rstrip(b"=").decode("ascii")


def matching_key(presented: str, keys: Iterable[tuple[str, Found]]) -> Found | None:
    """What the configured key equal to `presented` stands for (its sites, say), else None. Every key
    is compared, in constant time, so the timing says nothing about which one matched, or whether
    one did. The one comparison of presented secrets (admin keys at login and on the API, the
    metrics key)."""
    found: Found | None = None
    given = presented.encode()
    for known, value in keys:
        if hmac.compare_digest(given, known.encode()) and presented:
            found = value
    return found
