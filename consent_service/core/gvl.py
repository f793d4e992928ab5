"""The IAB Global Vendor List (GVL, version 3 JSON), read into plain frozen data (pure: no I/O).

What the service takes from it: the list's version and TCF policy version (written into every TC
string; a new policy version re-asks for consent), the purposes', special purposes', features' and
special features' standard texts (the CMP must show them as written), and each vendor's declared
purposes. Everything else in the file is kept out of the model but left in the raw bytes the loader
caches, so a copy can be handed on unchanged.

The format is IAB Europe's "Global Vendor List" v3 (TCF v2.2+): `gvlSpecificationVersion` 3,
objects keyed by the decimal id as a string, each entry repeating its `id`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

GVL_SPEC_VERSION: Final = 3
MAX_GVL_BYTES: Final = 16 * 1024 * 1024  # the real list is about 1.5 MB; anything far larger is not one
PURPOSE_IDS: Final = range(1, 12)  # TCF v2.2+: purposes 1-11
SPECIAL_FEATURE_IDS: Final = range(1, 3)
# TCF policy (v2.2+): these purposes may not rest on legitimate interest.
CONSENT_ONLY_PURPOSES: Final = frozenset({1, 3, 4, 5, 6})


class GvlError(ValueError):
    """Bytes that are not a usable GVL v3 (the last good copy stays in use)."""


@dataclass(frozen=True, slots=True)
class GvlText:
    """A purpose's, feature's or stack's standard name and description, in the list's language."""

    name: str
    description: str
    illustrations: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GvlVendor:
    id: int
    name: str
    purposes: frozenset[int]  # on consent
    leg_int_purposes: frozenset[int]  # on legitimate interest
    flexible_purposes: frozenset[int]  # either, publisher's choice
    special_purposes: frozenset[int]
    features: frozenset[int]
    special_features: frozenset[int]
    privacy_url: str | None = None  # the English (or first) privacy policy link
    deleted: bool = False  # has a `deletedDate`: no longer in the framework

    @property
    def uses_consent(self) -> bool:
        return bool(self.purposes or self.special_features)

    @property
    def uses_legitimate_interest(self) -> bool:
        return bool(self.leg_int_purposes)


@dataclass(frozen=True, slots=True, eq=False)  # compared (and hashed, for memos) by identity: one per load
class Gvl:
    vendor_list_version: int
    tcf_policy_version: int
    last_updated: str
    language: str  # the texts' language: "en" for the list itself, else a translation's
    purposes: Mapping[int, GvlText]
    special_purposes: Mapping[int, GvlText]
    features: Mapping[int, GvlText]
    special_features: Mapping[int, GvlText]
    stacks: Mapping[int, GvlText]
    vendors: Mapping[int, GvlVendor]

    def live_vendor(self, vendor_id: int) -> GvlVendor | None:
        """The vendor, unless it is absent or deleted (a deleted vendor gets no signal)."""
        vendor = self.vendors.get(vendor_id)
        return None if vendor is None or vendor.deleted else vendor


def parse_gvl(data: bytes | str, *, language: str = "en") -> Gvl:
    """The list in `data` (GVL v3 JSON). Raises GvlError for anything else: wrong JSON, another
    spec version, missing purposes, vendors without ids or names, ids that do not match their keys."""
    if len(data) > MAX_GVL_BYTES:
        raise GvlError(f"larger than {MAX_GVL_BYTES} bytes")
    raw = _json_object(data)
    if raw.get("gvlSpecificationVersion") != GVL_SPEC_VERSION:
        raise GvlError(f"gvlSpecificationVersion is not {GVL_SPEC_VERSION}")
    purposes = _texts(raw, "purposes")
    if set(purposes) != set(PURPOSE_IDS):
        raise GvlError("the list must define purposes 1-11")
    return Gvl(
        vendor_list_version=_positive(raw, "vendorListVersion"),
        tcf_policy_version=_positive(raw, "tcfPolicyVersion"),
        last_updated=_string(raw, "lastUpdated"),
        language=language,
        purposes=purposes,
        special_purposes=_texts(raw, "specialPurposes"),
        features=_texts(raw, "features"),
        special_features=_texts(raw, "specialFeatures"),
        stacks=_texts(raw, "stacks"),
        vendors={v.id: v for v in (_vendor(key, entry) for key, entry in _objects(raw, "vendors").items())},
    )


def with_translation(gvl: Gvl, data: bytes | str, language: str) -> Gvl:
    """The list with the texts of a translation file (`purposes-de.json`: the same keys, texts only).
    Texts the translation lacks stay English; vendors are never translated. A file without purposes is
    no translation ("{}" would translate nothing): GvlError."""
    raw = _json_object(data)
    if not isinstance(raw.get("purposes"), dict):
        raise GvlError("a translation without purposes")
    merged = {
        name: {**getattr(gvl, attr), **(_texts(raw, name) if name in raw else {})}
        for name, attr in _TEXT_SECTIONS.items()
    }
    return Gvl(
        vendor_list_version=gvl.vendor_list_version,
        tcf_policy_version=gvl.tcf_policy_version,
        last_updated=gvl.last_updated,
        language=language,
        purposes=merged["purposes"],
        special_purposes=merged["specialPurposes"],
        features=merged["features"],
        special_features=merged["specialFeatures"],
        stacks=merged["stacks"],
        vendors=gvl.vendors,
    )


_TEXT_SECTIONS: Final = {
    "purposes": "purposes",
    "specialPurposes": "special_purposes",
    "features": "features",
    "specialFeatures": "special_features",
    "stacks": "stacks",
}


def _json_object(data: bytes | str) -> dict[str, object]:
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise GvlError(f"not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise GvlError("not a JSON object")
    return raw


def _objects(raw: Mapping[str, object], name: str) -> dict[int, Mapping[str, object]]:
    section = raw.get(name, {})
    if not isinstance(section, dict):
        raise GvlError(f"{name} is not an object")
    out: dict[int, Mapping[str, object]] = {}
    for key, entry in section.items():
        if not isinstance(key, str) or not key.isdigit() or not isinstance(entry, dict):
            raise GvlError(f"{name}: entry {key!r} is not an object under a numeric key")
        if entry.get("id", int(key)) != int(key):
            raise GvlError(f"{name}: entry {key} has id {entry.get('id')!r}")
        out[int(key)] = entry
    return out


def _texts(raw: Mapping[str, object], name: str) -> dict[int, GvlText]:
    out: dict[int, GvlText] = {}
    for key, entry in _objects(raw, name).items():
        illustrations = entry.get("illustrations", [])
        if not isinstance(illustrations, list) or not all(isinstance(i, str) for i in illustrations):
            raise GvlError(f"{name} {key}: illustrations are not a list of texts")
        out[key] = GvlText(_string(entry, "name"), _string(entry, "description"), tuple(illustrations))
    return out


def _vendor(key: int, entry: Mapping[str, object]) -> GvlVendor:
    urls = entry.get("urls", [])
    privacy = None
    if isinstance(urls, list):
        links = [u for u in urls if isinstance(u, dict) and isinstance(u.get("privacy"), str)]
        english = [u for u in links if u.get("langId") == "en"] or links
        privacy = str(english[0]["privacy"]) if english else None
    return GvlVendor(
        id=key,
        name=_string(entry, "name"),
        purposes=_ids(entry, "purposes", PURPOSE_IDS),
        leg_int_purposes=_ids(entry, "legIntPurposes", PURPOSE_IDS),
        flexible_purposes=_ids(entry, "flexiblePurposes", PURPOSE_IDS),
        special_purposes=_ids(entry, "specialPurposes", range(1, 64)),
        features=_ids(entry, "features", range(1, 64)),
        special_features=_ids(entry, "specialFeatures", SPECIAL_FEATURE_IDS),
        privacy_url=privacy,
        deleted="deletedDate" in entry,
    )


def _ids(entry: Mapping[str, object], name: str, allowed: range) -> frozenset[int]:
    value = entry.get(name, [])
    if not isinstance(value, list) or not all(isinstance(i, int) and i in allowed for i in value):
        raise GvlError(f"vendor {entry.get('id')}: {name} must be ids in {allowed.start}..{allowed.stop - 1}")
    return frozenset(value)


def _positive(raw: Mapping[str, object], name: str) -> int:
    value = raw.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise GvlError(f"{name} must be a positive integer")
    return value


def _string(raw: Mapping[str, object], name: str) -> str:
    value = raw.get(name)
    if not isinstance(value, str) or not value.strip():
        raise GvlError(f"{name} must be non-empty text")
    return value
