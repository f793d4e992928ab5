"""The bundled Global Vendor List (consent_service/config/gvl/) as IAB's reference library,
`@iabtechlabtcf/core` (pinned by tests/iab_node/package-lock.json), reads it: the library loads it
and reads what our parser reads; TC strings the library encodes with it (it encodes only with a GVL)
are read back by our decoder, core/tcf.py, field by field (tests/test_tcf.py checks the other
direction). The demo translations parse and translate every text."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from dataclasses import fields

import pytest

from consent_service.config.gvl_files import DEMO_LANGUAGES, bundled_list, demo_translation
from consent_service.core.gvl import Gvl, parse_gvl, with_translation
from consent_service.core.tcf import TCModel, decode
from tests.test_tcf import IAB_NODE_DIR

GVL = parse_gvl(bundled_list())


def reference_encode(models: list[dict[str, object]]) -> dict[str, object]:
    node = shutil.which("node")
    assert node is not None, "node is needed (./dev test installs it)"
    payload = json.dumps({"gvl": json.loads(bundled_list()), "models": models})
    out = subprocess.run(
        [node, str(IAB_NODE_DIR / "encode_tcf.mjs")], input=payload, capture_output=True, text=True, check=True,
        timeout=60,
    )  # fmt: skip
    return dict(json.loads(out.stdout))


def _by_id(ids: dict[int, object]) -> dict[str, object]:
    return {str(i): value for i, value in sorted(ids.items())}


def test_the_reference_library_reads_what_we_read() -> None:
    got = reference_encode([])["gvl"]
    assert isinstance(got, dict)
    purposes = sorted(GVL.purposes)
    assert got == {
        "gvlSpecificationVersion": 3,
        "vendorListVersion": GVL.vendor_list_version,
        "tcfPolicyVersion": GVL.tcf_policy_version,
        "lastUpdated": GVL.last_updated.replace("Z", ".000Z"),
        "language": "EN",
        "purposes": _by_id({i: t.name for i, t in GVL.purposes.items()}),
        "specialPurposes": _by_id({i: t.name for i, t in GVL.special_purposes.items()}),
        "features": _by_id({i: t.name for i, t in GVL.features.items()}),
        "specialFeatures": _by_id({i: t.name for i, t in GVL.special_features.items()}),
        "stacks": _by_id({i: t.name for i, t in GVL.stacks.items()}),
        "vendors": _by_id({i: v.name for i, v in GVL.vendors.items()}),
        "consent": _by_id({p: sorted(v.id for v in GVL.vendors.values() if p in v.purposes) for p in purposes}),
        "legitimateInterest": _by_id(
            {p: sorted(v.id for v in GVL.vendors.values() if p in v.leg_int_purposes) for p in purposes}
        ),
        "flexible": _by_id(
            {p: sorted(v.id for v in GVL.vendors.values() if p in v.flexible_purposes) for p in purposes}
        ),
        "specialFeatureVendors": _by_id(
            {f: sorted(v.id for v in GVL.vendors.values() if f in v.special_features) for f in GVL.special_features}
        ),
    }


def test_the_list_is_what_the_demo_and_prebid_need() -> None:
    assert GVL.tcf_policy_version == 5  # TCF v2.3
    assert GVL.vendors[32].name == "Xandr, Inc." and GVL.vendors[755].name == "Google Advertising Products"
    assert {10, 32, 52, 69, 76, 91, 755} <= set(GVL.vendors)
    assert set(GVL.special_purposes) == {1, 2, 3} and set(GVL.features) == {1, 2, 3}
    assert all(t.illustrations for t in GVL.purposes.values())  # the standard texts include them
    assert json.loads(bundled_list())["dataCategories"].keys() == {str(i) for i in range(1, 12)}


def generated(count: int, gvl: Gvl, seed: int = 16) -> list[dict[str, object]]:
    """Models the reference library keeps as given: vendors from the list (it drops others), no
    legitimate interest for purposes 1 and 3-6 (TCF v2.2+ forbids it; it drops them), and the
    Publisher TC segment only in service-specific strings (it writes it in those only)."""
    rng = random.Random(seed)
    vendors, out = sorted(gvl.vendors), []
    for _ in range(count):
        created = rng.randint(0, (1 << 36) - 1)
        specific = rng.random() < 0.8

        def some(pool: list[int], rng: random.Random = rng) -> list[int]:
            return sorted(rng.sample(pool, rng.randint(0, len(pool))))

        out.append(
            {
                "created_ds": created,
                "updated_ds": rng.randint(created, (1 << 36) - 1),
                "cmp_id": rng.randint(2, 4095),
                "cmp_version": rng.randint(0, 4095),
                "consent_screen": rng.randint(0, 63),
                "publisher_cc": rng.choice(["DE", "FR", "NL", "AA", "GB"]),
                "is_service_specific": specific,
                "use_non_standard_texts": rng.random() < 0.2,
                "purpose_one_treatment": rng.random() < 0.1,
                "special_feature_opt_ins": some(sorted(gvl.special_features)),
                "purpose_consents": some(sorted(gvl.purposes)),
                "purpose_legitimate_interests": some([2, 7, 8, 9, 10, 11]),
                "vendor_consents": some(vendors),
                "vendor_legitimate_interests": some(vendors),
                "vendors_disclosed": some(vendors),
                "publisher_consents": some(list(range(1, 25))) if specific else [],
                "publisher_legitimate_interests": some(list(range(2, 25))) if specific else [],
            }
        )
    return out


def expected(model: dict[str, object]) -> TCModel:
    given = {k: frozenset(v) if isinstance(v, list) else v for k, v in model.items()}
    if not model["is_service_specific"]:  # no Publisher TC segment
        given["publisher_consents"] = None
    return TCModel(
        **given,  # type: ignore[arg-type]
        consent_language="EN",  # the list's language
        vendor_list_version=GVL.vendor_list_version,  # from the list: the library takes them from there
        policy_version=GVL.tcf_policy_version,
    )


def test_strings_the_reference_library_encodes_with_our_list_read_back_field_by_field() -> None:
    models = generated(200, GVL)
    strings = reference_encode(models)["strings"]
    assert isinstance(strings, list) and len(strings) == len(models)
    for model, tc in zip(models, strings, strict=True):
        want, got = expected(model), decode(tc)
        for field in fields(TCModel):
            assert getattr(got, field.name) == getattr(want, field.name), (tc, field.name)
    assert {s.count(".") for s in strings} == {1, 2}  # with and without the Publisher TC segment


@pytest.mark.parametrize("language", DEMO_LANGUAGES)
def test_the_demo_translations_translate_every_text(language: str) -> None:
    data = demo_translation(language)
    assert data is not None
    translated = with_translation(GVL, data, language)
    raw = json.loads(data)
    assert raw["vendorListVersion"] == GVL.vendor_list_version and "vendors" not in raw
    for section in ("purposes", "special_purposes", "features", "special_features", "stacks"):
        english, other = getattr(GVL, section), getattr(translated, section)
        assert other.keys() == english.keys()
        for i, text in other.items():
            assert text.name != english[i].name, (section, i)
            assert len(text.illustrations) == len(english[i].illustrations), (section, i)
    assert demo_translation("it") is None
