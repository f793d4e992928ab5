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
import ipaddress
import json
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from consent_service.config.sites import Purpose, _Validator

PARTNER_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MIN_SECRET_CHARS = 32
MAX_PARTNERS = 32  # per site: every change carries the partners' spec into its script


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


def parse_partners(v: _Validator, raw: object, where: str, purposes: Mapping[str, Purpose]) -> tuple[Partner, ...]:
    """`[[sites.partners]]`: name, url, purposes, events, and `secret_env` (the name of an
    environment variable holding the secret; preferred) or `secret`."""
    if not isinstance(raw, list) or not all(isinstance(p, dict) for p in raw):
        raise v.error(where, "must be a list of [[sites.partners]] tables")
    if len(raw) > MAX_PARTNERS:
        raise v.error(where, f"at most {MAX_PARTNERS} partners per site")
    partners: list[Partner] = []
    for i, entry in enumerate(raw):
        partner = _parse_partner(v, entry, f"{where}[{i}]", purposes)
        if any(p.name == partner.name for p in partners):
            raise v.error(f"{where}[{i}].name", f"duplicate partner name {partner.name!r}")
        partners.append(partner)
    return tuple(partners)


_KEYS = {"name", "url", "purposes", "events", "secret", "secret_env"}


def _parse_partner(v: _Validator, raw: dict[str, Any], where: str, purposes: Mapping[str, Purpose]) -> Partner:
    v.no_unknown(raw, _KEYS, where)
    name = v.matching(raw, "name", PARTNER_NAME_RE, where, "a lowercase name (a-z, 0-9, _ and -)")
    url = v.string(raw, "url", where)
    if (problem := url_problem(url)) is not None:
        raise v.error(f"{where}.url", problem)
    chosen = tuple(v.list_of(raw, "purposes", str, where))
    for k, pid in enumerate(chosen):
        if pid not in purposes:
            raise v.error(f"{where}.purposes[{k}]", f"unknown purpose {pid!r}")
        if purposes[pid].necessary:
            raise v.error(f"{where}.purposes[{k}]", f"{pid!r} is necessary: it can be neither refused nor withdrawn")
    if not chosen:
        raise v.error(f"{where}.purposes", "at least one purpose is required")
    names = v.list_of(raw, "events", str, where, default=[e.value for e in EventType])
    unknown = [e for e in names if e not in EventType.__members__.values()]
    if unknown or not names:
        raise v.error(f"{where}.events", f"must name some of {', '.join(EventType)} (got {unknown or names!r})")
    return Partner(
        name=name,
        url=url,
        purposes=chosen,
        events=frozenset(EventType(e) for e in names),
        secret=_secret(v, raw, where),
    )


def _secret(v: _Validator, raw: dict[str, Any], where: str) -> bytes:
    if ("secret" in raw) == ("secret_env" in raw):
        raise v.error(where, "exactly one of secret_env (an environment variable's name) or secret is required")
    if "secret_env" in raw:
        variable = v.string(raw, "secret_env", where)
        value = os.environ.get(variable, "")
        if not value:
            raise v.error(f"{where}.secret_env", f"the environment variable {variable} is not set")
    else:
        value = v.string(raw, "secret", where)
    if len(value) < MIN_SECRET_CHARS:
        raise v.error(where, f"the signing secret must have at least {MIN_SECRET_CHARS} characters")
    return value.encode()


def url_problem(url: str) -> str | None:
    """Why a partner URL is refused, or None: https only, except http to the loopback address for
    development (a partner's receiver on this machine). No credentials in the URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"not a URL: {exc}"
    del port  # read only to validate it
    if parts.username or parts.password:
        return "must not carry credentials (the signature authenticates us)"
    if not parts.hostname:
        return "must name a host"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and _loopback(parts.hostname):
        return None
    return "must be https (http only to 127.0.0.1, ::1 or localhost, for development)"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def partner_key(key: bytes, site: str, partner: str) -> bytes:
    """A key of the partner's own, derived from the pseudonymization key (HMAC-SHA256)."""
    return hmac.new(key, f"partner\0{site}\0{partner}".encode(), hashlib.sha256).digest()


def subject_id(key: bytes, site: str, partner: str, kind: SubjectKind, subject: str) -> str:
    """The partner-specific pseudonym of a device id or an account pseudonym: stable for one partner,
    unrelated across partners, useless without our key. HMAC-SHA1 under the partner's derived key,
    because Redis's Lua can compute that one too (redis.sha1hex): an account's opt-out names every
    linked device to the partners inside its own atomic script (store/outbox_scripts.py, `partner_subject`)."""
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
