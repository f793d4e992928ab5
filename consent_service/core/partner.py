"""Partners: the ad and analytics companies a site sells or shares data with (issue 7).

CCPA regs §7026(f) make a business that sold or shared someone's personal information tell those
third parties about the opt-out, and §7022 about a deletion. Each partner is configured per site
(`[[sites.partners]]`) with the purposes it takes part in, the events it wants and a signing
secret; the store writes one outbox event per concerned partner in the same atomic step as the
change (store/outbox.py), and the delivery worker (delivery.py) carries it over HTTPS, signed.

What a partner receives never holds our token, our device id or an account id: the subject is a
keyed pseudonym per partner (`subject_id`), so two partners cannot join their data on it, and it
is stable, so a partner can match a later deletion to an earlier opt-out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum


class EventType(StrEnum):
    OPT_OUT = "opt_out"  # a sale/share purpose refused where that is an opt-out (not opt_in regimes)
    GPC = "gpc"  # GPC first seen for a device
    CONSENT_WITHDRAWN = "consent_withdrawn"  # a granted purpose refused later
    DELETION = "deletion"  # a device's or an account's data deleted


class SubjectKind(StrEnum):
    DEVICE = "device"
    ACCOUNT = "account"


@dataclass(frozen=True, slots=True)
class Partner:
    name: str
    url: str
    purposes: tuple[str, ...]
    events: frozenset[EventType]
    secret: bytes

    def __repr__(self) -> str:  # never the secret, in logs or tracebacks
        return f"Partner({self.name!r}, {self.url!r})"


def partner_key(key: bytes, site: str, partner: str) -> bytes:
    """A key of the partner's own, derived from the pseudonymization key (HMAC-SHA256)."""
    return hmac.new(key, f"partner\0{site}\0{partner}".encode(), hashlib.sha256).digest()


def subject_id(key: bytes, site: str, partner: str, kind: SubjectKind, subject: str) -> str:
    """The partner-specific pseudonym of a device id or an account pseudonym: stable for one partner,
    unrelated across partners, useless without our key. HMAC-SHA1 under the partner's derived key,
    because Redis's Lua can compute that one too (redis.sha1hex): an account's opt-out names every
    linked device to the partners inside its own atomic script (store/lua/lib_outbox.lua, `partner_subject`)."""
    return _subject(partner_key(key, site, partner), kind, subject)


def _subject(derived: bytes, kind: SubjectKind, subject: str) -> str:
    return hmac.new(derived, f"{kind.value}:{subject}".encode(), hashlib.sha1).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class _Known:
    """A partner as every change names it: what its events need, its derived key computed once."""

    partner: Partner
    derived: bytes
    events: tuple[str, ...]


class OutboxSpecs:
    """What a change's script needs to write its partners' events (store/outbox.py), for every site:
    the partners (name, events, purposes, subject id and derived key) and the sale/share purposes, as
    compact JSON that Redis's Lua reads with cjson; "" on a site without partners. Each partner's
    derived key is computed once here, not on every write or answer."""

    def __init__(self, sites: Mapping[str, tuple[Sequence[Partner], Sequence[str]]], key: bytes) -> None:
        self._sites = {
            site: (
                tuple(
                    _Known(p, partner_key(key, site, p.name), tuple(sorted(e.value for e in p.events)))
                    for p in partners
                ),
                list(sale_share),
            )
            for site, (partners, sale_share) in sites.items()
            if partners
        }

    def subjects(self, site: str, kind: SubjectKind, subject: str) -> dict[str, str]:
        """Each partner's id for a device or account: what the site's page or backend hands to the
        partner, so that it can match our events to what it holds."""
        known, _ = self._sites.get(site, ((), []))
        return {k.partner.name: _subject(k.derived, kind, subject) for k in known}

    def __call__(self, site: str, kind: SubjectKind, subject: str) -> str:
        found = self._sites.get(site)
        if found is None:
            return ""
        known, sale_share = found
        spec = {
            "eid": secrets.token_hex(10),
            "k": kind.value,
            "ss": sale_share,
            "p": [
                {
                    "n": k.partner.name,
                    "e": k.events,
                    "u": k.partner.purposes,
                    "s": _subject(k.derived, kind, subject),
                    "k": k.derived.hex(),  # for subjects the script names itself (the account fan-out)
                }
                for k in known
            ],
        }
        return json.dumps(spec, separators=(",", ":"))


NO_PARTNERS = OutboxSpecs({}, b"")
