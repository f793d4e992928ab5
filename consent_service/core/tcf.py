"""IAB TCF v2 TC strings (issue 16, first step): the Core String, the Disclosed Vendors segment and the
Publisher TC segment, encoded and decoded here (no maintained Python encoder exists).

A TC string is base64url (no padding) segments joined by `.`, each a big-endian bit field. The core
segment's fields, in order and with their widths, are the spec's ("IAB Tech Lab – Consent string and
vendor list formats v2", TCF v2.3: the Disclosed Vendors segment is mandatory). Vendor sets are
written as a bit field or as ranges, whichever is shorter, as the reference library does; times are
deciseconds since the epoch; a language or a country is two letters, each 6 bits from `A`.

Tested against IAB's reference library `@iabtechlabtcf/core` (tests/test_tcf.py decodes our strings
with it). Pure: no I/O, no clock (the caller gives the times).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

TCF_VERSION = 2
PURPOSES, SPECIAL_FEATURES = 24, 12  # the core segment's fixed bit fields
DISCLOSED_VENDORS, PUBLISHER_TC = 1, 3  # segment types


@dataclass(frozen=True)
class TCModel:
    """What a TC string says. Purpose and special-feature ids start at 1; vendor ids are GVL ids."""

    created_ds: int  # deciseconds since the epoch
    updated_ds: int
    cmp_id: int
    cmp_version: int
    consent_screen: int
    consent_language: str  # two letters, e.g. "EN"
    vendor_list_version: int
    policy_version: int  # the GVL's tcfPolicyVersion
    is_service_specific: bool = True
    use_non_standard_texts: bool = False
    special_feature_opt_ins: frozenset[int] = frozenset()
    purpose_consents: frozenset[int] = frozenset()
    purpose_legitimate_interests: frozenset[int] = frozenset()
    purpose_one_treatment: bool = False
    publisher_cc: str = "AA"
    vendor_consents: frozenset[int] = frozenset()
    vendor_legitimate_interests: frozenset[int] = frozenset()
    vendors_disclosed: frozenset[int] = frozenset()
    publisher_consents: frozenset[int] | None = None  # with the legitimate interests: the Publisher TC segment
    publisher_legitimate_interests: frozenset[int] = field(default_factory=frozenset)


class TCStringError(ValueError):
    """A TC string that cannot be read, or a model that cannot be written."""


class _Bits:
    def __init__(self) -> None:
        self.bits: list[str] = []

    def number(self, value: int, width: int) -> None:
        if not 0 <= value < (1 << width):
            raise TCStringError(f"{value} does not fit in {width} bits")
        self.bits.append(format(value, f"0{width}b"))

    def flag(self, value: bool) -> None:
        self.bits.append("1" if value else "0")

    def letters(self, value: str) -> None:
        if len(value) != 2 or not value.isascii() or not value.isalpha():
            raise TCStringError(f"not two letters: {value!r}")
        for letter in value.upper():
            self.number(ord(letter) - ord("A"), 6)

    def fixed(self, ids: Iterable[int], width: int) -> None:
        chosen = set(ids)
        if any(not 1 <= i <= width for i in chosen):
            raise TCStringError(f"an id outside 1..{width}: {sorted(chosen)}")
        self.bits.append("".join("1" if i in chosen else "0" for i in range(1, width + 1)))

    def vendors(self, ids: Iterable[int]) -> None:
        """MaxVendorId, then a bit field or ranges, whichever is shorter (ties: the bit field)."""
        chosen = sorted(set(ids))
        if chosen and not 1 <= chosen[0] <= chosen[-1] < (1 << 16):
            raise TCStringError("a vendor id outside 1..65535")
        top = chosen[-1] if chosen else 0
        ranges = _ranges(chosen)
        range_bits = 12 + sum(1 + 16 + (16 if a != b else 0) for a, b in ranges)
        self.number(top, 16)
        if range_bits < top:
            self.flag(True)
            self.number(len(ranges), 12)
            for a, b in ranges:
                self.flag(a != b)
                self.number(a, 16)
                if a != b:
                    self.number(b, 16)
        else:
            self.flag(False)
            self.fixed(chosen, top)

    def base64(self) -> str:
        text = "".join(self.bits)
        text += "0" * (-len(text) % 8)
        raw = int(text, 2).to_bytes(len(text) // 8, "big") if text else b""
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _ranges(ids: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for i in ids:
        if out and out[-1][1] == i - 1:
            out[-1] = (out[-1][0], i)
        else:
            out.append((i, i))
    return out


def encode(model: TCModel) -> str:
    """The TC string: core, disclosed vendors, and the publisher segment when it has one."""
    core = _Bits()
    core.number(TCF_VERSION, 6)
    core.number(model.created_ds, 36)
    core.number(model.updated_ds, 36)
    core.number(model.cmp_id, 12)
    core.number(model.cmp_version, 12)
    core.number(model.consent_screen, 6)
    core.letters(model.consent_language)
    core.number(model.vendor_list_version, 12)
    core.number(model.policy_version, 6)
    core.flag(model.is_service_specific)
    core.flag(model.use_non_standard_texts)
    core.fixed(model.special_feature_opt_ins, SPECIAL_FEATURES)
    core.fixed(model.purpose_consents, PURPOSES)
    core.fixed(model.purpose_legitimate_interests, PURPOSES)
    core.flag(model.purpose_one_treatment)
    core.letters(model.publisher_cc)
    core.vendors(model.vendor_consents)
    core.vendors(model.vendor_legitimate_interests)
    core.number(0, 12)  # NumPubRestrictions: none
    disclosed = _Bits()
    disclosed.number(DISCLOSED_VENDORS, 3)
    disclosed.vendors(model.vendors_disclosed)
    segments = [core.base64(), disclosed.base64()]
    if model.publisher_consents is not None:
        publisher = _Bits()
        publisher.number(PUBLISHER_TC, 3)
        publisher.fixed(model.publisher_consents, PURPOSES)
        publisher.fixed(model.publisher_legitimate_interests, PURPOSES)
        publisher.number(0, 6)  # NumCustomPurposes: none
        segments.append(publisher.base64())
    return ".".join(segments)


class _Reader:
    def __init__(self, segment: str) -> None:
        if not segment or len(segment) > 8192 or not segment.isascii():
            raise TCStringError("an empty, overlong or non-ASCII segment")
        try:
            raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        except (ValueError, TypeError) as exc:
            raise TCStringError("a segment that is not base64url") from exc
        self.bits = "".join(format(byte, "08b") for byte in raw)
        self.at = 0

    def number(self, width: int) -> int:
        if self.at + width > len(self.bits):
            raise TCStringError("the segment ends early")
        value = int(self.bits[self.at : self.at + width], 2) if width else 0
        self.at += width
        return value

    def flag(self) -> bool:
        return self.number(1) == 1

    def letters(self) -> str:
        return "".join(chr(ord("A") + self._letter()) for _ in range(2))

    def _letter(self) -> int:
        value = self.number(6)
        if value > 25:
            raise TCStringError("not a letter")
        return value

    def fixed(self, width: int) -> frozenset[int]:
        return frozenset(i for i in range(1, width + 1) if self.flag())

    def vendors(self) -> frozenset[int]:
        top = self.number(16)
        if not self.flag():
            return self.fixed(top)
        chosen: set[int] = set()
        for _ in range(self.number(12)):
            is_range, start = self.flag(), self.number(16)
            end = self.number(16) if is_range else start
            if not 1 <= start <= end <= top:
                raise TCStringError("a vendor range outside 1..MaxVendorId")
            chosen.update(range(start, end + 1))
        return frozenset(chosen)


def decode(tc: str) -> TCModel:
    """The model a TC string says (publisher restrictions are skipped: this service writes none).
    Raises TCStringError for anything that is not a well-formed version 2 string."""
    segments = tc.split(".")
    if len(segments) > 4:
        raise TCStringError("too many segments")
    core = _Reader(segments[0])
    if core.number(6) != TCF_VERSION:
        raise TCStringError("not a TCF version 2 string")
    head = [core.number(w) for w in (36, 36, 12, 12, 6)]
    language, list_version, policy = core.letters(), core.number(12), core.number(6)
    service_specific, non_standard = core.flag(), core.flag()
    features, consents, interests = core.fixed(SPECIAL_FEATURES), core.fixed(PURPOSES), core.fixed(PURPOSES)
    one_treatment, country = core.flag(), core.letters()
    vendor_consents, vendor_interests = core.vendors(), core.vendors()
    model = TCModel(
        created_ds=head[0], updated_ds=head[1], cmp_id=head[2], cmp_version=head[3], consent_screen=head[4],
        consent_language=language, vendor_list_version=list_version, policy_version=policy,
        is_service_specific=service_specific, use_non_standard_texts=non_standard, special_feature_opt_ins=features,
        purpose_consents=consents, purpose_legitimate_interests=interests, purpose_one_treatment=one_treatment,
        publisher_cc=country, vendor_consents=vendor_consents, vendor_legitimate_interests=vendor_interests,
    )  # fmt: skip
    for segment in segments[1:]:
        model = _with_segment(model, _Reader(segment))
    return model


def _with_segment(model: TCModel, reader: _Reader) -> TCModel:
    kind = reader.number(3)
    if kind == DISCLOSED_VENDORS:
        return replace(model, vendors_disclosed=reader.vendors())
    if kind == PUBLISHER_TC:
        consents, interests = reader.fixed(PURPOSES), reader.fixed(PURPOSES)
        return replace(model, publisher_consents=consents, publisher_legitimate_interests=interests)
    return model  # another segment type (allowed vendors, from TCF v2.0): nothing this service uses
