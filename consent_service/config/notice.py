"""Parsing the privacy notice's configuration (`[sites.notice]`) into core.notice's data.

Every error names the file and the field (config/validator.py).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from consent_service.config.validator import LANG_RE, Validator
from consent_service.core.notice import Collected, Contact, InfoCategory, Label, Notice, NoticeText, Recipient, Source
from consent_service.core.site import Purpose

NOTICE_ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")  # ASCII digits: \d also takes "２"
_EMAIL_RE = re.compile(r"^[^@\s<>\"'()]+@[^@\s<>\"'()]+\.[^@\s<>\"'()]+$")
_PHONE_RE = re.compile(r"^\+?[0-9][0-9 ().\-]{4,30}$")
_URL_RE = re.compile(r"^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?(/[^\s<>\"'`]*)?$")
_MAX_TEXT = 4000  # long enough for a paragraph, short enough that a typo'd file cannot bloat the page


_NOTICE_KEYS = {"business", "contact", "last_updated", "categories", "third_parties", "text", "sells_under_16"}
_COLLECTED_KEYS = {"id", "category", "text", "sources", "purposes", "retention_days"}
_RECIPIENT_KEYS = {"id", "text", "purposes"}


def parse_notice(v: Validator, raw: object, where: str, purposes: Mapping[str, Purpose]) -> Notice:
    """`[sites.notice]`, checked against the site's purposes; errors name file, field and problem."""
    if not isinstance(raw, dict):
        raise v.error(where, "must be a table ([sites.notice])")
    v.no_unknown(raw, _NOTICE_KEYS, where)
    # Parsed in the order a file is usually written, so the first error reported is the first one in it.
    business = _bounded(v, raw, "business", where)
    last_updated = _parse_date(v, raw.get("last_updated"), f"{where}.last_updated")
    contact = _parse_contact(v, raw.get("contact"), f"{where}.contact")
    text = _parse_notice_text(v, raw.get("text", {}), f"{where}.text")
    collected = _parse_all(v, raw, "categories", where, lambda r, w: _parse_collected(v, r, w, purposes))
    if not collected:
        raise v.error(f"{where}.categories", "at least one [[sites.notice.categories]] table is required")
    recipients = _parse_all(v, raw, "third_parties", where, lambda r, w: _parse_recipient(v, r, w, purposes))
    notice = Notice(
        business=business,
        contact=contact,
        last_updated=last_updated,
        collected=collected,
        recipients=recipients,
        text=text,
        sells_under_16=v.boolean(raw, "sells_under_16", where, default=False),
    )
    _check_retention(v, notice, where)
    _check_sales_disclosed(v, notice, where, purposes)
    return notice


_Item = TypeVar("_Item", Collected, Recipient)


def _parse_all(
    v: Validator, raw: dict[str, Any], key: str, where: str, parse: Callable[[dict[str, Any], str], _Item]
) -> tuple[_Item, ...]:
    """An array of tables, each parsed by `parse`, with unique ids."""
    out: list[_Item] = []
    for i, item in enumerate(v.list_of_tables(raw, key, f"{where}.{key}")):
        parsed = parse(item, f"{where}.{key}[{i}]")
        if any(p.id == parsed.id for p in out):
            raise v.error(f"{where}.{key}[{i}].id", f"duplicate id {parsed.id!r}")
        out.append(parsed)
    return tuple(out)


def _parse_collected(v: Validator, raw: dict[str, Any], where: str, purposes: Mapping[str, Purpose]) -> Collected:
    v.no_unknown(raw, _COLLECTED_KEYS, where)
    category = v.string(raw, "category", where)
    if category not in InfoCategory.__members__.values():
        raise v.error(f"{where}.category", f"{category!r} is not one of {', '.join(InfoCategory)}")
    return Collected(
        id=v.matching(raw, "id", NOTICE_ID_RE, where, "a lowercase identifier (a-z, 0-9, _)"),
        category=InfoCategory(category),
        text=_parse_labels(v, raw.get("text"), f"{where}.text"),
        sources=_parse_sources(v, raw, where),
        purposes=_parse_purpose_refs(v, raw, where, purposes),
        retention_days=v.int_range(raw, "retention_days", where, (1, 3650), 1) if "retention_days" in raw else None,
    )


def _parse_recipient(v: Validator, raw: dict[str, Any], where: str, purposes: Mapping[str, Purpose]) -> Recipient:
    v.no_unknown(raw, _RECIPIENT_KEYS, where)
    return Recipient(
        id=v.matching(raw, "id", NOTICE_ID_RE, where, "a lowercase identifier (a-z, 0-9, _)"),
        text=_parse_labels(v, raw.get("text"), f"{where}.text"),
        purposes=_parse_purpose_refs(v, raw, where, purposes),
    )


def _parse_sources(v: Validator, raw: dict[str, Any], where: str) -> tuple[Source, ...]:
    names = v.list_of(raw, "sources", str, where)
    if not names:
        raise v.error(f"{where}.sources", "name at least one source")
    for k, name in enumerate(names):
        if name not in Source.__members__.values():
            raise v.error(f"{where}.sources[{k}]", f"{name!r} is not one of {', '.join(Source)}")
    return tuple(dict.fromkeys(Source(n) for n in names))


def _parse_purpose_refs(
    v: Validator, raw: dict[str, Any], where: str, purposes: Mapping[str, Purpose]
) -> tuple[str, ...]:
    refs = v.list_of(raw, "purposes", str, where)
    if not refs:
        raise v.error(f"{where}.purposes", "name at least one purpose of this site")
    for k, pid in enumerate(refs):
        if pid not in purposes:
            raise v.error(f"{where}.purposes[{k}]", f"unknown purpose {pid!r} (this site's: {', '.join(purposes)})")
    return tuple(dict.fromkeys(refs))


def _parse_labels(v: Validator, raw: object, where: str) -> dict[str, Label]:
    if not isinstance(raw, dict) or "en" not in raw:
        raise v.error(where, "a table of texts per language with at least [text.en] is required")
    out: dict[str, Label] = {}
    for lang, entry in raw.items():
        if not LANG_RE.fullmatch(lang) or not isinstance(entry, dict):
            raise v.error(f"{where}.{lang}", "must be a table named by an ISO 639 language code")
        v.no_unknown(entry, {"label", "description"}, f"{where}.{lang}")
        out[lang] = Label(
            label=_bounded(v, entry, "label", f"{where}.{lang}"),
            description=_bounded(v, entry, "description", f"{where}.{lang}", optional=True),
        )
    return out


def _parse_notice_text(v: Validator, raw: object, where: str) -> dict[str, NoticeText]:
    if not isinstance(raw, dict):
        raise v.error(where, "must be a table of [text.<language>] tables")
    out: dict[str, NoticeText] = {}
    for lang, entry in raw.items():
        if not LANG_RE.fullmatch(lang) or not isinstance(entry, dict):
            raise v.error(f"{where}.{lang}", "must be a table named by an ISO 639 language code")
        v.no_unknown(entry, {"intro", "retention", "extra"}, f"{where}.{lang}")
        w = f"{where}.{lang}"
        out[lang] = NoticeText(
            intro=_bounded(v, entry, "intro", w, optional=True),
            retention=_bounded(v, entry, "retention", w, optional=True),
            extra=_bounded(v, entry, "extra", w, optional=True),
        )
    return out


def _bounded(v: Validator, raw: dict[str, Any], key: str, where: str, *, optional: bool = False) -> str:
    if optional and key not in raw:
        return ""
    value = v.string(raw, key, where)
    if len(value) > _MAX_TEXT:
        raise v.error(f"{where}.{key}", f"is longer than {_MAX_TEXT} characters")
    return value.strip()


def _parse_contact(v: Validator, raw: object, where: str) -> Contact:
    if not isinstance(raw, dict):
        raise v.error(where, "a [sites.notice.contact] table with an email or url is required")
    v.no_unknown(raw, {"email", "url", "phone"}, where)
    checks = {
        "email": (_EMAIL_RE, "an email address"),
        "url": (_URL_RE, "an http(s) URL"),
        "phone": (_PHONE_RE, "a phone number"),
    }
    found = {key: v.matching(raw, key, pattern, where, what) for key, (pattern, what) in checks.items() if key in raw}
    if "email" not in found and "url" not in found:
        raise v.error(where, "give an email or a url where people can send requests")
    return Contact(**found)


def _parse_date(v: Validator, raw: object, where: str) -> dt.date:
    """A TOML date (`2026-11-29`) or the same as a string; a date-time is refused (a notice is dated)."""
    if raw is None:
        raise v.error(where, "is required (a date like 2026-11-29)")
    if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
        return raw
    if isinstance(raw, str) and _DATE_RE.fullmatch(raw):
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            pass
    raise v.error(where, f"{raw!r} is not a date like 2026-11-29")


# ---- cross-checks: what the law needs the notice to say, and what makes it honest ------------------


def _check_retention(v: Validator, notice: Notice, where: str) -> None:
    """Every category needs a retention period: its own days, or the general statement in English."""
    if notice.text.get("en", NoticeText()).retention:
        return
    for i, c in enumerate(notice.collected):
        if c.retention_days is None:
            raise v.error(
                f"{where}.categories[{i}].retention_days",
                "is required unless [sites.notice.text.en] has a `retention` statement",
            )


def _check_sales_disclosed(v: Validator, notice: Notice, where: str, purposes: Mapping[str, Purpose]) -> None:
    """A sale or sharing is a disclosure of some category to some third party: the notice must name both,
    or it would tell people less than the decisions do."""
    for pid, purpose in purposes.items():
        if not purpose.sale_share:
            continue
        if not notice.collected_for(pid):
            raise v.error(f"{where}.categories", f"purpose {pid!r} is a sale or sharing: list what it uses")
        if not notice.recipients_for(pid):
            raise v.error(f"{where}.third_parties", f"purpose {pid!r} is a sale or sharing: list who receives it")
