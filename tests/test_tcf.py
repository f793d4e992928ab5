"""TC strings (core/tcf.py) read back by IAB's reference library, `@iabtechlabtcf/core` (npm, pinned by
tests/iab_node/package-lock.json): every field of many generated models, both vendor encodings
(bit field and ranges), the Disclosed Vendors and Publisher TC segments; and refusals of what does not
fit the format."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from consent_service.core.tcf import TCModel, TCStringError, _ranges, decode, encode

IAB_NODE_DIR = Path(__file__).resolve().parent / "iab_node"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def reference_decode(strings: list[str]) -> list[dict[str, object]]:
    node = shutil.which("node")
    assert node is not None, "node is needed (./dev test installs it)"
    out = subprocess.run(
        [node, str(IAB_NODE_DIR / "decode_tcf.mjs")], input=json.dumps(strings), capture_output=True,
        text=True, check=True, timeout=60,
    )  # fmt: skip
    return list(json.loads(out.stdout))


def _ids(rng: random.Random, top: int, dense: bool) -> frozenset[int]:
    if dense:  # long runs: ranges are shorter
        start = rng.randint(1, max(1, top - 200))
        return frozenset(range(start, min(top, start + rng.randint(1, 400)) + 1))
    return frozenset(rng.sample(range(1, top + 1), rng.randint(0, min(12, top))))


def generated(count: int, seed: int = 20261207) -> list[TCModel]:
    """Models spread over every field's range, deterministic (a fixed seed)."""
    rng = random.Random(seed)
    models = []
    for i in range(count):
        created = rng.randint(0, (1 << 36) - 1)
        top = rng.choice([1, 50, 755, 1200, 65535])
        publisher = rng.random() < 0.5
        models.append(
            TCModel(
                created_ds=created,
                updated_ds=rng.randint(created, (1 << 36) - 1),
                cmp_id=rng.randint(2, 4095),
                cmp_version=rng.randint(0, 4095),
                consent_screen=rng.randint(0, 63),
                consent_language=rng.choice(LETTERS) + rng.choice(LETTERS),
                vendor_list_version=rng.randint(1, 4095),
                policy_version=rng.randint(2, 63),
                is_service_specific=rng.random() < 0.8,
                use_non_standard_texts=rng.random() < 0.2,
                special_feature_opt_ins=frozenset(rng.sample(range(1, 13), rng.randint(0, 12))),
                purpose_consents=frozenset(rng.sample(range(1, 25), rng.randint(0, 24))),
                purpose_legitimate_interests=frozenset(rng.sample(range(2, 25), rng.randint(0, 23))),
                purpose_one_treatment=rng.random() < 0.1,
                publisher_cc=rng.choice(LETTERS) + rng.choice(LETTERS),
                vendor_consents=_ids(rng, top, i % 3 == 0),
                vendor_legitimate_interests=_ids(rng, top, i % 5 == 0),
                vendors_disclosed=_ids(rng, top, i % 2 == 0),
                publisher_consents=frozenset(rng.sample(range(1, 25), rng.randint(0, 10))) if publisher else None,
                publisher_legitimate_interests=frozenset(rng.sample(range(2, 25), rng.randint(0, 5)))
                if publisher
                else frozenset(),
            )
        )
    return models


def expected(model: TCModel) -> dict[str, object]:
    fields = {name: getattr(model, name) for name in model.__dataclass_fields__}
    for name, value in fields.items():
        if isinstance(value, frozenset):
            fields[name] = sorted(value)
    if model.publisher_consents is None:
        fields["publisher_consents"], fields["publisher_legitimate_interests"] = [], []
    return {"version": 2, **fields}


def test_the_reference_library_reads_every_field_we_write() -> None:
    models = generated(300)
    strings = [encode(m) for m in models]
    decoded = reference_decode(strings)
    for model, tc, got in zip(models, strings, decoded, strict=True):
        assert got == expected(model), (tc, got)
    assert len({len(s.split(".")) for s in strings}) == 2  # with and without the publisher segment
    # Both vendor encodings were exercised: ranges where they are shorter than the bit field.
    by_ranges = [_uses_ranges(m.vendor_consents) for m in models if m.vendor_consents]
    assert any(by_ranges) and not all(by_ranges)


def _uses_ranges(ids: frozenset[int]) -> bool:
    ranges = _ranges(sorted(ids))
    return 12 + sum(17 + (16 if a != b else 0) for a, b in ranges) < max(ids)


def test_a_small_known_model() -> None:
    model = TCModel(
        created_ds=17_966_808_000, updated_ds=17_966_808_000, cmp_id=10, cmp_version=2, consent_screen=1,
        consent_language="EN", vendor_list_version=100, policy_version=5, purpose_consents=frozenset({1, 2, 3}),
        publisher_cc="DE", vendor_consents=frozenset({32, 755}), vendor_legitimate_interests=frozenset({32}),
        vendors_disclosed=frozenset({32, 755}),
    )  # fmt: skip
    tc = encode(model)
    assert tc.count(".") == 1 and tc.startswith("C")  # version 2 → the first 6 bits 000010 → "C"
    assert reference_decode([tc]) == [expected(model)]


@pytest.mark.parametrize(
    "bad",
    [
        {"consent_language": "E"},
        {"consent_language": "E1"},
        {"publisher_cc": "DEU"},
        {"cmp_id": 4096},
        {"created_ds": 1 << 36},
        {"purpose_consents": frozenset({25})},
        {"special_feature_opt_ins": frozenset({0})},
        {"vendor_consents": frozenset({0})},
        {"vendors_disclosed": frozenset({65536})},
    ],
)
def test_what_does_not_fit_is_refused(bad: dict[str, object]) -> None:
    base: dict[str, object] = {"created_ds": 1, "updated_ds": 1, "cmp_id": 2, "cmp_version": 1,
                               "consent_screen": 1, "consent_language": "EN", "vendor_list_version": 1,
                               "policy_version": 5}  # fmt: skip
    with pytest.raises(TCStringError):
        encode(TCModel(**{**base, **bad}))  # type: ignore[arg-type]


def test_our_decoder_reads_back_what_we_write() -> None:
    for model in generated(300, seed=7):
        assert decode(encode(model)) == model


@pytest.mark.parametrize("junk", ["", ".", "!!!", "BAAA", "C", "CP" * 5000, "Cé", "C.C.C.C.C", "AAAAAAAAAAAA"])
def test_malformed_strings_are_refused_cleanly(junk: str) -> None:
    with pytest.raises(TCStringError):
        decode(junk)


def test_random_bytes_never_raise_anything_but_a_tc_string_error() -> None:
    rng = random.Random(11)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
    refused = 0
    for _ in range(2000):
        junk = "C" + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 120)))
        try:
            model = decode(junk)
        except TCStringError:
            refused += 1
        else:  # what reads as a TC string says the same once written again (an encodable model)
            assert decode(encode(model)) == model
    assert refused > 0


# TC strings published as examples: the first in IAB's own library documentation and several decoders'
# (a core segment alone), the second in the Go decoder iabtcfv2's README (core with publisher
# restrictions, then Disclosed Vendors and Publisher TC segments). Written by other encoders.
PUBLISHED = [
    "COvFyGBOvFyGBAbAAAENAPCAAOAAAAAAAAAAAEEUACCKAAA",
    "COxR03kOxR1CqBcABCENAgCMAP_AAH_AAAqIF3EXySoGY2thI2YVFxBEIYwfJxyigMgChgQIsSwNQIeFLBoGLiAAHBGYJAQAGBAEEACBAQIkHG"
    "BMCQAAgAgBiRCMQEGMCzNIBIBAggEbY0FACCVmHkHSmZCY7064O__QLuIJEFQMAkSBAIACLECIQwAQDiAAAYAlAAABAhIaAAgIWBQEeAAAACAwAAg"
    "AAABBAAACAAQAAICIAAABAAAgAiAQAAAAGgIQAACBABACRIAAAEANCAAgiCEAQg4EAo4AAA.IF3EXySoGY2tho2YVFzBEIYwfJxyigMgShgQIsS0"
    "NQIeFLBoGPiAAHBGYJAQAGBAkkACBAQIsHGBMCQABgAgRiRCMQEGMDzNIBIBAggkbY0FACCVmnkHS3ZCY70-6u__QA.elAAAAAAAWA",
]


def test_published_examples_read_as_the_reference_library_reads_them() -> None:
    for tc, got in zip(PUBLISHED, reference_decode(PUBLISHED), strict=True):
        assert "error" not in got, got
        ours = expected(decode(tc))
        # Our model keeps no publisher restrictions (this service writes none): every other field.
        assert ours == {key: got[key] for key in ours}, tc
