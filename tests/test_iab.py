"""consent_service.core.iab: IAB's vectors, the rules for every input, round trips, and IAB's own decoder."""

from __future__ import annotations

import functools
import itertools
import json
import shutil
import subprocess
from pathlib import Path
from typing import NoReturn

import pytest

from consent_service.core.iab import PrivacyStrings, UsNatFields, decode_gpp, encode_gpp, encode_usnat, privacy_strings

IAB_NODE_DIR = Path(__file__).resolve().parent / "iab_node"
IAB_DECODER = IAB_NODE_DIR / "decode.mjs"
CMPAPI_VERSION = "3.2.0"

FLAGS = ("us", "has_sale_share", "opted_out", "gpc", "mspa_signatory")
ALL_INPUTS = [dict(zip(FLAGS, values, strict=True)) for values in itertools.product((False, True), repeat=5)]
APPLICABLE = [flags for flags in ALL_INPUTS if flags["us"] and flags["has_sale_share"]]


def expected_usnat(*, opted_out: bool, gpc: bool, mspa_signatory: bool, **_: bool) -> dict[str, object]:
    """The usnat fields DESIGN.md asks for, by the spec's field names."""
    choice = 1 if opted_out else 2  # 1 opted out, 2 did not opt out
    return {
        "Version": 2,
        "SharingNotice": 1,
        "SaleOptOutNotice": 1,
        "SharingOptOutNotice": 1,
        "TargetedAdvertisingOptOutNotice": 1,
        "SensitiveDataProcessingOptOutNotice": 0,
        "SensitiveDataLimitUseNotice": 0,
        "SaleOptOut": choice,
        "SharingOptOut": choice,
        "TargetedAdvertisingOptOut": choice,
        "SensitiveDataProcessing": [0] * 16,
        "KnownChildSensitiveDataConsents": [0] * 3,
        "PersonalDataConsents": 0,
        "MspaCoveredTransaction": 1 if mspa_signatory else 2,
        "MspaOptOutOptionMode": 0,
        "MspaServiceProviderMode": 0,
        "SubsectionType": 1,
        "Gpc": gpc,
    }


def gpp_of(flags: dict[str, bool]) -> str:
    gpp = privacy_strings(**flags).gpp
    assert gpp is not None, flags
    return gpp


@pytest.mark.parametrize(
    ("flags", "gpp", "usp"),
    [
        ({"opted_out": True, "gpc": True, "mspa_signatory": False}, "DBABLA~CVQVAAAAAACA.YA", "1YYN"),
        ({"opted_out": False, "gpc": False, "mspa_signatory": False}, "DBABLA~CVQqAAAAAACA.QA", "1YNN"),
        ({"opted_out": True, "gpc": True, "mspa_signatory": True}, "DBABLA~CVQVAAAAAABA.YA", "1YYY"),
    ],
)
def test_vectors_made_with_iab_library(flags: dict[str, bool], gpp: str, usp: str) -> None:
    assert privacy_strings(us=True, has_sale_share=True, **flags) == PrivacyStrings(gpp=gpp, gpp_sid=(7,), usp=usp)


@pytest.mark.parametrize("flags", ALL_INPUTS, ids=lambda flags: "-".join(k for k, v in flags.items() if v) or "none")
def test_rules_and_round_trip_for_every_input(flags: dict[str, bool]) -> None:
    strings = privacy_strings(**flags)
    if not (flags["us"] and flags["has_sale_share"]):
        assert strings == PrivacyStrings(gpp=None, gpp_sid=(), usp="1---")
        return
    assert strings.gpp_sid == (7,)
    assert strings.usp == "1Y" + ("Y" if flags["opted_out"] else "N") + ("Y" if flags["mspa_signatory"] else "N")
    assert decode_gpp(gpp_of(flags)) == {"SectionIds": [7], "usnat": expected_usnat(**flags)}


def test_strings_differ_for_every_applicable_input() -> None:
    # Each of the 8 visitor states must be told apart by ad tech (GPP), however the flags are combined.
    assert len({gpp_of(flags) for flags in APPLICABLE}) == len(APPLICABLE)


def test_privacy_strings_are_memoized() -> None:
    flags = {"us": True, "has_sale_share": True, "opted_out": True, "gpc": False, "mspa_signatory": False}
    assert privacy_strings(**flags) is privacy_strings(**dict(reversed(flags.items())))


def test_header_matches_spec_examples() -> None:
    # GPP string spec, header examples 1-3; the spec pads to 6 bits ("DBABM"), IAB's library (and we) to a byte first.
    assert encode_gpp({2: "x"}) == "DBABMA~x"
    assert encode_gpp({6: "y", 2: "x"}) == "DBACNYA~x~y"
    assert encode_gpp({5: "x", 6: "y"}) == "DBABjw~x~y"  # a run of ids: 5..6


def test_decoder_accepts_spec_padding() -> None:
    assert decode_gpp("DBABL~CVQVAAAAAACA.Y") == decode_gpp("DBABLA~CVQVAAAAAACA.YA")


def test_gpc_subsection_carries_the_flag_alone() -> None:
    core_off, gpc_off = encode_usnat(UsNatFields(gpc=False)).split(".")
    core_on, gpc_on = encode_usnat(UsNatFields(gpc=True)).split(".")
    assert (core_off, gpc_off, gpc_on) == (core_on, "QA", "YA")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sale_opt_out": 3},
        {"sharing_notice": -1},
        {"mspa_covered_transaction": 0},
        {"sensitive_data_processing": (0,) * 12},  # the version 1 length
        {"known_child_sensitive_data_consents": (0,) * 2},
    ],
)
def test_usnat_fields_reject_values_outside_the_spec(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="usnat"):
        UsNatFields(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("gpp", "message"),
    [
        ("DBABLA", "header lists 1 sections, string has 0"),
        ("DBABLA~CVQVAAAAAACA.YA~CVQVAAAAAACA.YA", "header lists 1 sections, string has 2"),
        ("CBABLA~CVQVAAAAAACA.YA", "not a GPP v1 header"),
        ("DBABMA~CVQVAAAAAACA.YA", "not a tcfeuv2 section"),
        ("DBABGA~CVQVAAAAAACA.YA", "section 3 is not decoded here"),
        ("DBABLA~BVQVAAAAAACA.YA", "unsupported usnat version 1"),
        ("DBABLA~CVQVAA", "too short"),
        ("DBAB+A~CVQVAAAAAACA.YA", "not a base64url"),
    ],
)
def test_decoder_rejects_malformed_strings(gpp: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_gpp(gpp)


# IAB's reference implementation, run by Node on our strings (tests/iab_node/decode.mjs).

MISSING_GPC_SUBSECTION = "DBABLA~CVQVAAAAAACA"  # controls: the harness must see these as different / broken
NOT_GPP = "not-a-gpp-string"


def fail_setup(reason: str) -> NoReturn:
    pytest.fail(
        f"IAB reference decoder unavailable: {reason}. Run the project's test command, which installs it "
        f"(or run `npm ci` in {IAB_NODE_DIR}; needs Node.js 18+).",
        pytrace=False,
    )


@functools.cache
def iab_decode(strings: tuple[str, ...]) -> list[dict[str, object]]:
    """Decode all strings with @iabgpp/cmpapi in one Node process."""
    node = shutil.which("node")
    if node is None:
        fail_setup("`node` is not on PATH")
    installed = IAB_NODE_DIR / "node_modules" / "@iabgpp" / "cmpapi" / "package.json"
    if not installed.is_file():
        fail_setup(f"{installed} is missing")
    version = json.loads(installed.read_text(encoding="utf-8"))["version"]
    if version != CMPAPI_VERSION:
        fail_setup(f"@iabgpp/cmpapi {version} is installed, the lockfile pins {CMPAPI_VERSION}")
    run = subprocess.run(
        [str(node), str(IAB_DECODER)],
        input=json.dumps(strings),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if run.returncode != 0:
        fail_setup(f"{IAB_DECODER.name} exited with {run.returncode}: {run.stderr.strip()}")
    decoded: list[dict[str, object]] = json.loads(run.stdout)
    assert [item["gpp"] for item in decoded] == list(strings)
    return decoded


def batch() -> tuple[str, ...]:
    return (*(gpp_of(flags) for flags in APPLICABLE), MISSING_GPC_SUBSECTION, NOT_GPP)


def test_iab_reference_decoder_reads_our_strings_as_the_rules_say() -> None:
    by_string = {item["gpp"]: item for item in iab_decode(batch())}
    for flags in ALL_INPUTS:
        if not (flags["us"] and flags["has_sale_share"]):
            assert privacy_strings(**flags).gpp is None  # nothing for IAB's decoder to read
            continue
        gpp = gpp_of(flags)
        item = by_string[gpp]
        assert "error" not in item, item
        assert item["cmpapiVersion"] == CMPAPI_VERSION
        assert item["header"] == {"Id": 3, "Version": 1, "SectionIds": [7]}, gpp
        assert item["sectionList"] == [7], gpp
        assert item["hasUsnat"] is True, gpp
        assert item["gpcSegmentIncluded"] is True, gpp
        usnat = dict(item["usnat"])  # type: ignore[call-overload]
        usnat["SubsectionType"] = usnat.pop("GpcSegmentType")  # the library's name for the spec's field
        assert usnat == expected_usnat(**flags), (flags, gpp)
        assert item["reencoded"] == gpp, "IAB's library writes these fields differently"


def test_iab_harness_reports_differences() -> None:
    # Without these the agreement above could pass on a harness that reads nothing.
    by_string = {item["gpp"]: item for item in iab_decode(batch())}
    missing = by_string[MISSING_GPC_SUBSECTION]
    assert missing["hasUsnat"] is True
    assert missing["gpcSegmentIncluded"] is False
    assert missing["usnat"]["SaleOptOut"] == 1  # type: ignore[index]
    assert "error" in by_string[NOT_GPP]
