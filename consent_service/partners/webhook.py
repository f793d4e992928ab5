"""What a partner receives (issue 7): the signed JSON body of one event, its headers, and how the
partner checks the signature. delivery.py sends it; docs/partners.md describes it to partners.

The body names the subject only by the partner's own pseudonym: never our token, a device or
account id, an address or a user agent. The signature is an HMAC-SHA256 over "<t>." + the exact
body, with the timestamp inside the MAC, so an old request cannot be made to look new.
"""

from __future__ import annotations

import hashlib
import hmac
from importlib import metadata
from typing import TypedDict

import orjson

from consent_service.core.clock import iso_ms
from consent_service.core.digits import ascii_int
from consent_service.core.iab import privacy_strings
from consent_service.core.partner import Partner
from consent_service.core.regions import is_us
from consent_service.core.site import Site
from consent_service.store.outbox import Claimed

SIGNATURE_HEADER = "Consent-Signature"
EVENT_ID_HEADER = "Consent-Event-Id"
TOLERANCE_S = 300  # a signature older (or newer) than this is refused: a captured request cannot be replayed later


def _version() -> str:
    try:
        return metadata.version("consent-service")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "0"


USER_AGENT = f"consent-service/{_version()}"


# ---- signing ------------------------------------------------------------------------------------


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The `Consent-Signature` value: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`.
    The timestamp is inside the MAC, so it cannot be changed to make an old request look new."""
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: bytes, header: str, body: bytes, now: float, tolerance_s: float = TOLERANCE_S) -> bool:
    """What a partner does with a delivery: the MAC over the exact bytes received matches (compared in
    constant time; any of several `v1` values, for a secret being rotated), and the timestamp is recent."""
    stamps: list[str] = []
    macs: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            stamps.append(value)
        elif name == "v1":
            macs.append(value)
    # Exactly one `t`, ASCII digits only (digits.ascii_int); the MAC is over the text received.
    stamp = ascii_int(stamps[0], max_digits=12) if len(stamps) == 1 else None
    if stamp is None or abs(now - stamp) > tolerance_s:
        return False
    expected = hmac.new(secret, stamps[0].encode() + b"." + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected.encode(), mac.encode()) for mac in macs)


# ---- the body -----------------------------------------------------------------------------------


class Subject(TypedDict):
    type: str  # "device" or "account"
    id: str  # the partner's own pseudonym of it


class EventBody(TypedDict):
    """What a partner receives, keys in this order (docs/partners.md)."""

    id: str  # the event's id (also the Consent-Event-Id header)
    type: str  # a core.partner.EventType value
    site: str
    time: str  # when the event happened, RFC 3339 (UTC)
    subject: Subject
    gpp: str | None
    gpp_sid: list[int]
    usp: str
    gpc: bool
    purposes: dict[str, bool]  # the partner's purposes → allowed after the change
    attempt: int


def event_body(claimed: Claimed, site: Site, partner: Partner, attempt: int) -> bytes:
    """The JSON a partner receives: compact, keys in a fixed order. It names the subject only by the
    partner's own pseudonym (never our token, a device or account id, an address or a user agent)."""
    f = claimed.fields
    choices = _choices(f.get("c", ""))
    gpc = f.get("g") == "1"
    sale_share = [pid for pid, p in site.purposes.items() if p.sale_share]
    # A device's region as the decision endpoint finds it (its own, else the site's default); an
    # account has none, and an account-wide opt-out is a US right: US strings.
    # An account-wide opt-out (`ao`) named for a device without a region (the fan-out cannot read the
    # devices' records) is a US right too.
    account = f.get("sk") == "account" or (f.get("ao") == "1" and not f.get("rg"))
    strings = privacy_strings(
        us=account or is_us(f.get("rg") or site.default_region),
        has_sale_share=site.has_sale_share,
        opted_out=gpc or f.get("ao") == "1" or any(choices.get(pid) is False for pid in sale_share),
        gpc=gpc,
        mspa_signatory=site.mspa_signatory,
    )
    body: EventBody = {
        "id": claimed.event_id,
        "type": f["ty"],
        "site": site.id,
        "time": iso_ms(claimed.created_ms),
        "subject": {"type": f.get("sk", "device"), "id": f["sub"]},
        "gpp": strings.gpp,
        "gpp_sid": list(strings.gpp_sid),
        "usp": strings.usp,
        "gpc": gpc,
        "purposes": {pid: choices[pid] for pid in partner.purposes if pid in choices},
        "attempt": attempt,
    }
    return orjson.dumps(body)


def _choices(raw: str) -> dict[str, bool]:
    """`purpose=0|1,…` (the outbox's choices after the change) as allowed (True) / refused (False)."""
    pairs = (item.partition("=") for item in raw.split(",") if item)
    return {pid: value == "1" for pid, _, value in pairs}


def headers_for(partner: Partner, event_id: str, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(partner.secret, timestamp, body),
        EVENT_ID_HEADER: event_id,
        "User-Agent": USER_AGENT,
    }
