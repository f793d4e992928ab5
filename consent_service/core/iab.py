"""IAB privacy strings: GPP (header + `usnat` section with its GPC subsection) and US Privacy.

Pure and memoized. Layouts follow IAB's GPP string spec and the MSPA US National section spec, version 2
(the August 2024 release: 16 sensitive-data values and 3 known-child values). `usnat` is written for MSPA
signatories and non-signatories alike; non-signatories say so with `MspaCoveredTransaction` 2. Both MSPA
modes are 0 (not applicable): they only mean something inside a covered transaction, and we claim neither.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Final

from consent_service.core import tcf

_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
GPP_HEADER_TYPE: Final = 3
GPP_VERSION: Final = 1
TCFEUV2_ID: Final = 2  # IAB TCF EU v2: the section is the TC string itself (core.tcf)
USNAT_ID: Final = 7
USNAT_VERSION: Final = 2
GPC_SUBSECTION_TYPE: Final = 1
USP_NOT_APPLICABLE: Final = "1---"


@dataclass(frozen=True, slots=True)
class PrivacyStrings:
    """What ad tech reads: the GPP string and its section ids, and the (deprecated) US Privacy string."""

    gpp: str | None
    gpp_sid: tuple[int, ...]
    usp: str


@dataclass(frozen=True, slots=True)
class UsNatFields:
    """`usnat` core fields in bit order (one Int(2) each, tuples are N-Bitfield(2, n)), then the GPC flag.

    Notices: 0 n/a, 1 yes, 2 no. Opt-outs: 0 n/a, 1 opted out, 2 did not. Consents: 0 n/a, 1 no, 2 yes.
    """

    sharing_notice: int = 0
    sale_opt_out_notice: int = 0
    sharing_opt_out_notice: int = 0
    targeted_advertising_opt_out_notice: int = 0
    sensitive_data_processing_opt_out_notice: int = 0
    sensitive_data_limit_use_notice: int = 0
    sale_opt_out: int = 0
    sharing_opt_out: int = 0
    targeted_advertising_opt_out: int = 0
    sensitive_data_processing: tuple[int, ...] = (0,) * 16
    known_child_sensitive_data_consents: tuple[int, ...] = (0,) * 3
    personal_data_consents: int = 0
    mspa_covered_transaction: int = 2  # 1 yes, 2 no: the one field without a "not applicable"
    mspa_opt_out_option_mode: int = 0
    mspa_service_provider_mode: int = 0
    gpc: bool = False  # lives in the GPC subsection, not in the core

    def __post_init__(self) -> None:
        if len(self.sensitive_data_processing) != 16 or len(self.known_child_sensitive_data_consents) != 3:
            raise ValueError("usnat v2 has 16 SensitiveDataProcessing and 3 KnownChildSensitiveDataConsents values")
        if any(v not in (0, 1, 2) for v in _core_values(self)) or self.mspa_covered_transaction == 0:
            raise ValueError(f"usnat value out of range: {self}")


_CORE_FIELDS: Final = tuple(f.name for f in dataclasses.fields(UsNatFields) if f.name != "gpc")


def _core_values(fields: UsNatFields) -> list[int]:
    values: list[int] = []
    for name in _CORE_FIELDS:
        value = getattr(fields, name)
        values.extend(value if isinstance(value, tuple) else (value,))
    return values


_DEFAULTS: Final = UsNatFields()


def _uint(value: int, width: int) -> str:
    if not 0 <= value < 1 << width:
        raise ValueError(f"{value} does not fit in {width} bits")
    return format(value, f"0{width}b")


def _fibonacci(value: int) -> str:
    """Fibonacci code of value >= 1: Zeckendorf bits for 1, 2, 3, 5, 8, ..., then a closing 1."""
    if value < 1:
        raise ValueError("Fibonacci coding starts at 1")
    fibs = [1, 2]
    while fibs[-1] <= value:
        fibs.append(fibs[-1] + fibs[-2])
    bits = []
    for fib in reversed(fibs):  # greedy from the top never picks two neighbours, so "11" only ends a code
        if fib <= value:
            bits.append("1")
            value -= fib
        else:
            bits.append("0")
    return "".join(reversed(bits)).rstrip("0") + "1"


def _to_base64url(bits: str) -> str:
    # Pad to whole bytes, then to whole characters, as IAB's reference library does ("YA", not "Y", for
    # the GPC subsection). The spec only asks for a multiple of 6; readers ignore trailing zeros either way.
    bits += "0" * (-len(bits) % 8)
    bits += "0" * (-len(bits) % 6)
    return "".join(_ALPHABET[int(bits[i : i + 6], 2)] for i in range(0, len(bits), 6))


def encode_usnat(fields: UsNatFields) -> str:
    """The `usnat` section: core segment "." GPC subsection (always included)."""
    core = _uint(USNAT_VERSION, 6) + "".join(_uint(v, 2) for v in _core_values(fields))
    gpc = _uint(GPC_SUBSECTION_TYPE, 2) + _uint(int(fields.gpc), 1)
    return f"{_to_base64url(core)}.{_to_base64url(gpc)}"


def _section_ids(ids: list[int]) -> str:
    """Range(Fibonacci): a 12-bit group count, then each single id or run as offsets from the previous id."""
    groups: list[list[int]] = []
    for section_id in ids:
        if groups and groups[-1][-1] + 1 == section_id:
            groups[-1].append(section_id)
        else:
            groups.append([section_id])
    bits, last = [_uint(len(groups), 12)], 0
    for group in groups:
        start, end = group[0], group[-1]
        offset = _fibonacci(start - last)
        bits.append("0" + offset if start == end else "1" + offset + _fibonacci(end - start))
        last = end
    return "".join(bits)


def encode_gpp(sections: Mapping[int, str]) -> str:
    """A full GPP string from encoded sections by section id: header "~" sections, in id order."""
    ids = sorted(sections)
    if not ids or ids[0] < 1:
        raise ValueError("a GPP string needs section ids >= 1")
    header = _uint(GPP_HEADER_TYPE, 6) + _uint(GPP_VERSION, 6) + _section_ids(ids)
    return "~".join([_to_base64url(header), *(sections[i] for i in ids)])


@cache  # at most 9 distinct answers
def _strings(applies: bool, opted_out: bool, gpc: bool, mspa_signatory: bool) -> PrivacyStrings:
    if not applies:
        return PrivacyStrings(gpp=None, gpp_sid=(), usp=USP_NOT_APPLICABLE)
    choice = 1 if opted_out else 2
    fields = UsNatFields(
        sharing_notice=1,
        sale_opt_out_notice=1,
        sharing_opt_out_notice=1,
        targeted_advertising_opt_out_notice=1,
        sale_opt_out=choice,
        sharing_opt_out=choice,
        targeted_advertising_opt_out=choice,
        mspa_covered_transaction=1 if mspa_signatory else 2,
        gpc=gpc,
    )
    usp = "1Y" + ("Y" if opted_out else "N") + ("Y" if mspa_signatory else "N")
    return PrivacyStrings(gpp=encode_gpp({USNAT_ID: encode_usnat(fields)}), gpp_sid=(USNAT_ID,), usp=usp)


@lru_cache(maxsize=1024)
def tcf_strings(tc_string: str) -> PrivacyStrings:
    """GPP (section 2, `tcfeuv2`, alone) for a visitor where TCF applies; US Privacy does not."""
    return PrivacyStrings(gpp=encode_gpp({TCFEUV2_ID: tc_string}), gpp_sid=(TCFEUV2_ID,), usp=USP_NOT_APPLICABLE)


def privacy_strings(
    *, us: bool, has_sale_share: bool, opted_out: bool, gpc: bool, mspa_signatory: bool
) -> PrivacyStrings:
    """GPP/USP for a visitor; `opted_out` is the caller's verdict (opt-out, GPC, account, fail-closed)."""
    return _strings(us and has_sale_share, opted_out, gpc, mspa_signatory)


class _Reader:
    """Reads fields off the bits of one base64url segment, left to right."""

    __slots__ = ("_bits", "_pos")

    def __init__(self, text: str) -> None:
        if not text or any(c not in _ALPHABET for c in text):
            raise ValueError(f"not a base64url GPP segment: {text!r}")
        self._bits = "".join(format(_ALPHABET.index(c), "06b") for c in text)
        self._pos = 0

    def uint(self, width: int) -> int:
        end = self._pos + width
        if end > len(self._bits):
            raise ValueError("GPP segment too short")
        value, self._pos = int(self._bits[self._pos : end], 2), end
        return value

    def fibonacci(self) -> int:
        end = self._bits.find("11", self._pos)
        if end < 0:
            raise ValueError("unterminated Fibonacci code")
        code, self._pos = self._bits[self._pos : end + 1], end + 2
        fibs = [1, 2]
        while len(fibs) < len(code):
            fibs.append(fibs[-1] + fibs[-2])
        return sum(fib for fib, bit in zip(fibs, code, strict=False) if bit == "1")


def _decode_usnat(section: str) -> dict[str, object]:
    core, _, subsection = section.partition(".")
    reader = _Reader(core)
    fields: dict[str, object] = {"Version": reader.uint(6)}
    if fields["Version"] != USNAT_VERSION:
        raise ValueError(f"unsupported usnat version {fields['Version']}")
    for name in _CORE_FIELDS:
        template = getattr(_DEFAULTS, name)
        value = [reader.uint(2) for _ in template] if isinstance(template, tuple) else reader.uint(2)
        fields["".join(word.capitalize() for word in name.split("_"))] = value  # the spec's name: SaleOptOut
    if subsection:
        gpc = _Reader(subsection)
        fields["SubsectionType"] = gpc.uint(2)
        fields["Gpc"] = bool(gpc.uint(1))
    return fields


def decode_gpp(gpp: str) -> dict[str, object]:
    """Our own reader, for round-trip tests: {"SectionIds": [...], "usnat": {IAB field name: value}}."""
    header, *sections = gpp.split("~")
    reader = _Reader(header)
    if (reader.uint(6), reader.uint(6)) != (GPP_HEADER_TYPE, GPP_VERSION):
        raise ValueError(f"not a GPP v1 header: {header!r}")
    ids: list[int] = []
    last = 0
    for _ in range(reader.uint(12)):
        is_run = reader.uint(1)
        start = last + reader.fibonacci()
        last = start + reader.fibonacci() if is_run else start
        ids.extend(range(start, last + 1))
    if len(ids) != len(sections):
        raise ValueError(f"header lists {len(ids)} sections, string has {len(sections)}")
    decoded: dict[str, object] = {"SectionIds": ids}
    for section_id, section in zip(ids, sections, strict=True):
        if section_id == USNAT_ID:
            decoded["usnat"] = _decode_usnat(section)
        elif section_id == TCFEUV2_ID:
            decoded["tcfeuv2"] = tcfeuv2_fields(section)
        else:
            raise ValueError(f"section {section_id} is not decoded here")
    return decoded


def tcfeuv2_fields(section: str) -> dict[str, object]:
    """The `tcfeuv2` section's fields under the GPP spec's names, as `getSection("tcfeuv2")` gives them
    (IAB's @iabgpp/cmpapi: fixed bit fields as lists of booleans, vendor sets as sorted ids)."""
    try:
        model = tcf.decode(section)
    except tcf.TCStringError as exc:
        raise ValueError(f"not a tcfeuv2 section: {exc}") from None

    def bits(chosen: frozenset[int], width: int) -> list[bool]:
        return [i in chosen for i in range(1, width + 1)]

    def when(ds: int) -> str:
        seconds, tenths = divmod(ds, 10)
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{tenths * 100:03d}Z"

    publisher = model.publisher_consents
    return {
        "Version": tcf.TCF_VERSION,
        "Created": when(model.created_ds),
        "LastUpdated": when(model.updated_ds),
        "CmpId": model.cmp_id,
        "CmpVersion": model.cmp_version,
        "ConsentScreen": model.consent_screen,
        "ConsentLanguage": model.consent_language,
        "VendorListVersion": model.vendor_list_version,
        "PolicyVersion": model.policy_version,
        "IsServiceSpecific": model.is_service_specific,
        "UseNonStandardStacks": model.use_non_standard_texts,
        "SpecialFeatureOptins": bits(model.special_feature_opt_ins, tcf.SPECIAL_FEATURES),
        "PurposeConsents": bits(model.purpose_consents, tcf.PURPOSES),
        "PurposeLegitimateInterests": bits(model.purpose_legitimate_interests, tcf.PURPOSES),
        "PurposeOneTreatment": model.purpose_one_treatment,
        "PublisherCountryCode": model.publisher_cc,
        "VendorConsents": sorted(model.vendor_consents),
        "VendorLegitimateInterests": sorted(model.vendor_legitimate_interests),
        "PublisherRestrictions": [],
        "PublisherPurposesSegmentType": tcf.PUBLISHER_TC,
        "PublisherConsents": bits(publisher or frozenset(), tcf.PURPOSES),
        "PublisherLegitimateInterests": bits(model.publisher_legitimate_interests, tcf.PURPOSES),
        "NumCustomPurposes": 0,
        "PublisherCustomConsents": [],
        "PublisherCustomLegitimateInterests": [],
        "VendorsAllowedSegmentType": 2,
        "VendorsAllowed": [],
        "VendorsDisclosedSegmentType": tcf.DISCLOSED_VENDORS,
        "VendorsDisclosed": sorted(model.vendors_disclosed),
    }


@lru_cache(maxsize=256)
def _parsed(gpp: str) -> str:
    decoded = decode_gpp(gpp)
    parsed: dict[str, object] = {}
    if "usnat" in decoded:
        usnat = dict(decoded["usnat"])  # type: ignore[call-overload]
        gpc = {"SubsectionType": usnat.pop("SubsectionType"), "Gpc": usnat.pop("Gpc")}
        parsed["usnat"] = [usnat, gpc]
    if "tcfeuv2" in decoded:
        parsed["tcfeuv2"] = decoded["tcfeuv2"]
    return json.dumps(parsed)


def parsed_sections(gpp: str | None) -> dict[str, object]:
    """The GPP string's sections as the CMP API's `getSection` gives them (core, then subsections),
    decoded here so the browser needs no decoder. Memoized: there are only a few distinct strings."""
    return {} if gpp is None else json.loads(_parsed(gpp))  # a fresh copy: callers may not share it
