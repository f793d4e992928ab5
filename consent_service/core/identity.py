"""Device identity: 128 random bits, signed with itsdangerous.

A missing, tampered, expired, other-site or garbage token is simply no device: the caller issues a
fresh one. It never raises and never maps to another device.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import string
import time
from collections.abc import Iterable
from typing import NamedTuple

from itsdangerous import BadSignature, TimestampSigner

from consent_service.core.digits import ascii_int

DEVICE_ID_BYTES = 16  # 128 bits
DEVICE_ID_LENGTH = 22  # base64url without padding
CLOCK_SKEW_S = 300  # tolerated difference between replicas' clocks
MAX_TOKEN_LENGTH = 128  # id + timestamp + sha256 signature is ~72 (~100 with a pending opt-out)
BUCKETS = 1024  # fixed: changing it would move every key
SITE_SALT = "cs-device-v2"  # + ":<site id>": a token verifies on the site that issued it only
LEGACY_SALT = "cs-device-v1"  # tokens signed before they were bound to a site (one salt for all)
_ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
_B64_INDEX = {c: i for i, c in enumerate(_ALPHABET)}
_ID_CHARS = frozenset(_ALPHABET)


def new_device_id() -> str:
    return secrets.token_urlsafe(DEVICE_ID_BYTES)


def bucket_of(device_id: str) -> int:
    """The Redis Cluster bucket: the id's first 12 random bits, mod BUCKETS (uniform: 4096 % 1024 == 0)."""
    return ((_B64_INDEX[device_id[0]] << 6) | _B64_INDEX[device_id[1]]) % BUCKETS


def derived_device_id(site: str, legacy_id: str) -> str:
    """The device a legacy token's carried opt-out moves to on a site that holds no record of it:
    derived, not random, so that a retry (the answer lost after the write landed) names the same
    device and the write script finds it done. Unguessable: the legacy id is a secret of its token."""
    digest = hashlib.sha256(f"derived-device\0{site}\0{legacy_id}".encode()).digest()
    return base64.urlsafe_b64encode(digest[:DEVICE_ID_BYTES]).rstrip(b"=").decode("ascii")


def chosen(candidates: Iterable[tuple[str, Verified]]) -> tuple[str | None, Verified | None]:
    """Of the valid tokens a request carries (header first, then cookies), the one that names its
    device: a current token before a legacy one, and the first of equals. An opt-out any of them
    carries for that same device is kept (the earliest): a banner's saved token may predate an
    opt-out made on the no-JS page, during an outage."""
    found = list(candidates)
    if not found:
        return None, None
    token, device = min(found, key=lambda pair: pair[1].legacy)  # min() keeps the first of equals
    carried = [v.pending for _, v in found if v.device_id == device.device_id and v.pending is not None]
    return token, device._replace(pending=min(carried)) if carried else device


def is_device_id(value: str) -> bool:
    return len(value) == DEVICE_ID_LENGTH and _ID_CHARS.issuperset(value)


class DeviceTokens:
    """Signs and verifies device tokens; keys newest first (the first signs, all verify).

    A token is bound to the site that issued it: its signature is salted with the site's id, so a
    token of one site fails to verify on another, whatever the cookie or header it came in. Tokens
    signed before that (LEGACY_SALT, one salt for every site) still verify, marked `legacy`: the
    service accepts one only on a site that holds a record of its device, and re-signs it bound to
    that site (service.adopt_legacy).
    """

    def __init__(self, keys_newest_first: tuple[str, ...], max_age_s: int) -> None:
        # itsdangerous signs with the LAST key of its list and tries all: hence the reversal.
        self._keys = list(reversed(keys_newest_first))
        self._signers: dict[str, TimestampSigner] = {}  # per site id: bounded by the configured sites
        self._legacy = self._signer(LEGACY_SALT)
        self._max_age_s = max_age_s

    def _signer(self, salt: str) -> TimestampSigner:
        return TimestampSigner(self._keys, salt=salt, digest_method=hashlib.sha256)

    def _for_site(self, site: str) -> TimestampSigner:
        signer = self._signers.get(site)
        if signer is None:
            signer = self._signers[site] = self._signer(f"{SITE_SALT}:{site}")
        return signer

    def sign(self, site: str, device_id: str, pending: PendingOptOut | None = None, *, legacy: bool = False) -> str:
        """The device's token for `site`; with `pending`, it also carries an opt-out that was
        acknowledged but not yet stored (signed, so only this service can have put it there).
        `legacy`: a legacy token again, for a legacy device whose site storage could not tell yet
        (its adoption is decided once it can, service.adopt_legacy)."""
        value = device_id if pending is None else f"{device_id}~{pending.at_ms}~{pending.source}"
        return (self._legacy if legacy else self._for_site(site)).sign(value).decode("ascii")

    def verify(self, token: str | None, site: str) -> Verified | None:
        """The device of a token valid for `site` (or of a legacy token, marked so), else None: a
        token of another site, tampered, expired or garbage is no device."""
        if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
            return None
        verified = self._unsign(self._for_site(site), token)
        if verified is None:
            verified = self._unsign(self._legacy, token)
            return None if verified is None else verified._replace(legacy=True)
        return verified

    def _unsign(self, signer: TimestampSigner, token: str) -> Verified | None:
        try:
            value, signed_at = signer.unsign(token, return_timestamp=True)
        except BadSignature:  # also malformed timestamps
            return None
        # Our own age check: itsdangerous refuses a token even 1 s "from the future", and replicas'
        # clocks differ a little; a device must not lose its opt-out over that.
        age = time.time() - signed_at.timestamp()
        if not -CLOCK_SKEW_S <= age <= self._max_age_s:
            return None
        device_id, _, rest = value.decode("ascii", "replace").partition("~")
        if not is_device_id(device_id):
            return None
        return Verified(device_id, int(signed_at.timestamp()), _pending(rest))


class PendingOptOut(NamedTuple):
    """An opt-out of sale/sharing acknowledged while storage was unreachable: when, and how it came."""

    at_ms: int
    source: str


class Verified(NamedTuple):
    device_id: str
    signed_at: int  # seconds
    pending: PendingOptOut | None = None
    legacy: bool = False  # signed before tokens were bound to a site: not yet known to be this site's


def _pending(rest: str) -> PendingOptOut | None:
    at, _, source = rest.partition("~")
    at_ms = ascii_int(at, max_digits=15)
    if at_ms is None or not source.isidentifier() or len(source) > 16:
        return None
    return PendingOptOut(at_ms, source)
