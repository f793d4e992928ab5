"""Parsing a site's partners (`[[sites.partners]]`, issue 7) into core.partner's data.

Each partner names the purposes it takes part in, the events it wants and a signing secret (given
or read from an environment variable); its URL must be https (http only to the loopback address).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from consent_service.config.validator import Validator, outbound_url_problem
from consent_service.core.partner import EventType, Partner
from consent_service.core.site import Purpose

PARTNER_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MIN_SECRET_CHARS = 32
MAX_PARTNERS = 32  # per site: every change carries the partners' spec into its script


def parse_partners(v: Validator, raw: object, where: str, purposes: Mapping[str, Purpose]) -> tuple[Partner, ...]:
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


def _parse_partner(v: Validator, raw: dict[str, Any], where: str, purposes: Mapping[str, Purpose]) -> Partner:
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


def _secret(v: Validator, raw: dict[str, Any], where: str) -> bytes:
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
    """Why a partner URL is refused, or None (config/validator.outbound_url_problem has the rule:
    https only, except http to the loopback address for development; no credentials)."""
    found = outbound_url_problem(url)
    if found is None:
        return None
    kind, detail = found
    return {
        "malformed": f"not a URL: {detail}",
        "credentials": "must not carry credentials (the signature authenticates us)",
        "no_host": "must name a host",
        "scheme": "must be https (http only to 127.0.0.1, ::1 or localhost, for development)",
    }[kind]
