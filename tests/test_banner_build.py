"""banner_js/: the committed consent_service/static/banner.js is the build of its sources, within budget;
the sources type-check (tsc, against the page API's types/consent-service.d.ts) and pass their unit
tests (node --test banner_js/test/*.test.mjs), whose IAB fixture is the service's own strings."""

from __future__ import annotations

import gzip
import importlib
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import NoReturn

import pytest

from consent_service.config.catalogs import texts_for
from consent_service.core.gvl import CONSENT_ONLY_PURPOSES, PURPOSE_IDS
from consent_service.core.iab import parsed_sections, privacy_strings, tcf_strings
from consent_service.core.tcf import TCModel, encode
from consent_service.core.tcf_signals import tc_data
from consent_service.core.texts import TEXT_KEYS

ROOT = Path(__file__).resolve().parent.parent
BANNER_JS = ROOT / "banner_js"
BUILT = ROOT / "consent_service" / "static" / "banner.js"
BUDGET_GZIP = 7 * 1024  # DESIGN.md: the base banner, JS + CSS, at most 7 KB gzip, a hard budget
UNIT_TESTS = BANNER_JS / "test"
IAB_FIXTURE = UNIT_TESTS / "fixtures" / "iab-strings.json"
TCF_FIXTURE = UNIT_TESTS / "fixtures" / "tcf-answers.json"


def fail_setup(reason: str) -> NoReturn:
    pytest.fail(
        f"cannot build the banner: {reason}. Run ./dev test, which installs it "
        f"(or `npm ci --prefix {BANNER_JS}`; needs Node.js 18+).",
        pytrace=False,
    )


def require_pinned(package: str) -> None:
    """The devDependency is installed at the version package.json pins (the lockfile's)."""
    installed = BANNER_JS / "node_modules" / package / "package.json"
    if not installed.is_file():
        fail_setup(f"{installed} is missing")
    pinned = json.loads((BANNER_JS / "package.json").read_text(encoding="utf-8"))["devDependencies"][package]
    version = json.loads(installed.read_text(encoding="utf-8"))["version"]
    if version != pinned:
        fail_setup(f"{package} {version} is installed, package.json pins {pinned}")


def node() -> str:
    """Node, with the esbuild the lockfile pins (another version may build other bytes)."""
    found = shutil.which("node")
    if found is None:
        fail_setup("`node` is not on PATH")
    require_pinned("esbuild")
    return found


def run_node(*args: str) -> str:
    run = subprocess.run([node(), *args], cwd=BANNER_JS, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, f"node {' '.join(args)} exited with {run.returncode}:\n{run.stderr}"
    return run.stdout


def test_committed_banner_is_the_build_of_its_sources(tmp_path: Path) -> None:
    out = tmp_path / "banner.js"
    run_node("build.mjs", "--out", str(out))
    assert out.read_bytes() == BUILT.read_bytes(), (
        "consent_service/static/banner.js is not the build of banner_js/: run `node banner_js/build.mjs` "
        "and commit the result"
    )


def test_banner_fits_the_weight_budget() -> None:
    data = BUILT.read_bytes()
    gzipped = len(gzip.compress(data, compresslevel=9, mtime=0))
    sizes = f"banner.js (JS + CSS): {len(data)} bytes, gzip -9 {gzipped} bytes"
    try:
        brotli = importlib.import_module("brotli")
    except ImportError:
        sizes += ", brotli: not measured (no `brotli` module)"
    else:
        sizes += f", brotli -q 11 {len(brotli.compress(data, quality=11))} bytes"
    print(sizes)
    assert gzipped <= BUDGET_GZIP, f"{sizes}: over the budget of {BUDGET_GZIP} bytes gzip"


def test_embedded_english_texts_are_the_services() -> None:
    """The banner works offline with its own English; it must say what the service would say."""
    script = "import('./src/constants.js').then((m) => console.log(JSON.stringify([m.TEXT_KEYS, m.EN_TEXTS])))"
    keys, english = json.loads(run_node("--input-type=module", "-e", script))
    assert keys == list(TEXT_KEYS)
    assert english == texts_for("en")


def test_built_in_english_comes_from_the_catalog(tmp_path: Path) -> None:
    """The build takes EN_TEXTS from the English catalog, not from the source's copy."""
    catalog = (ROOT / "consent_service" / "locale" / "en" / "LC_MESSAGES" / "messages.po").read_text("utf-8")
    assert catalog.count('msgstr "Accept all"') == 1
    edited = tmp_path / "messages.po"
    edited.write_text(catalog.replace('msgstr "Accept all"', 'msgstr "Accept \\"every\\" one"'), "utf-8")
    out = tmp_path / "banner.js"
    run_node("build.mjs", "--out", str(out), "--en-catalog", str(edited))
    built = out.read_text("utf-8")
    assert 'Accept "every" one' in built  # the msgstr unescaped (esbuild quotes it as it likes)
    assert "Accept all" not in built


def test_banner_sources_type_check() -> None:
    """`// @ts-check` sources and the page API's declarations, under tsconfig.json (strict)."""
    npx = shutil.which("npx")
    if npx is None:
        fail_setup("`npx` is not on PATH")
    require_pinned("typescript")
    command = [npx, "--no-install", "tsc", "-p", "tsconfig.json", "--noEmit"]
    run = subprocess.run(command, cwd=BANNER_JS, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, f"tsc found errors (cd banner_js && npm run check):\n{run.stdout}{run.stderr}"


def test_banner_unit_tests_pass() -> None:
    """node --test on banner_js/test/*.test.mjs (each file in a process of its own)."""
    files = sorted(path.relative_to(BANNER_JS).as_posix() for path in UNIT_TESTS.glob("*.test.mjs"))
    assert len(files) >= 3, files  # state, API and IAB at least
    # The files are named (not a directory or a glob): Node 20 takes a directory, later versions globs.
    run = subprocess.run(
        [node(), "--test", "--test-reporter=tap", *files],
        cwd=BANNER_JS,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    summary = dict(re.findall(r"^# (tests|pass|fail) (\d+)$", run.stdout, re.MULTILINE))
    assert run.returncode == 0 and summary.get("fail") == "0", f"node --test failed:\n{run.stdout}{run.stderr}"
    assert int(summary["pass"]) == int(summary["tests"]) > 0, summary


# The service's strings for the IAB cases the unit tests use: three are the vectors tests/test_iab.py
# checks against IAB's reference library; the last is a visitor outside the US.
IAB_CASES = [
    {"us": True, "has_sale_share": True, "opted_out": False, "gpc": False, "mspa_signatory": False},
    {"us": True, "has_sale_share": True, "opted_out": True, "gpc": True, "mspa_signatory": False},
    {"us": True, "has_sale_share": True, "opted_out": True, "gpc": True, "mspa_signatory": True},
    {"us": True, "has_sale_share": True, "opted_out": True, "gpc": False, "mspa_signatory": False},
    {"us": False, "has_sale_share": True, "opted_out": False, "gpc": False, "mspa_signatory": False},
]


def iab_fixture() -> str:
    cases = []
    for flags in IAB_CASES:
        strings = privacy_strings(**flags)
        cases.append(
            {
                "flags": flags,
                "gpp": strings.gpp,
                "gpp_sid": list(strings.gpp_sid),
                "usp": strings.usp,
                "gpp_parsed": parsed_sections(strings.gpp),
            }
        )
    return json.dumps(cases, indent=2) + "\n"


# What the service's answers carry for TCF in GDPR territory (`tcf`, `gpp`, `gpp_sid`, `gpp_parsed`,
# `tcf_data`) before a choice (nothing granted, the vendors disclosed) and after Accept all, for two
# vendors (Xandr 32, Google 755), CMP id 300 version 7, on one day; the TCF unit tests answer them.
TCF_VENDORS = frozenset({32, 755})


def tcf_case(name: str, granted: bool) -> dict[str, object]:
    every = frozenset(PURPOSE_IDS)
    model = TCModel(
        created_ds=17_000_000_000,
        updated_ds=17_000_000_000,
        cmp_id=300,
        cmp_version=7,
        consent_screen=1,
        consent_language="EN",
        vendor_list_version=3,
        policy_version=5,
        special_feature_opt_ins=frozenset({1, 2}) if granted else frozenset(),
        purpose_consents=every if granted else frozenset(),
        purpose_legitimate_interests=every - CONSENT_ONLY_PURPOSES if granted else frozenset(),
        publisher_cc="DE",
        vendor_consents=TCF_VENDORS if granted else frozenset(),
        vendor_legitimate_interests=TCF_VENDORS if granted else frozenset(),
        vendors_disclosed=TCF_VENDORS,
        publisher_consents=every if granted else frozenset(),
        publisher_legitimate_interests=every - CONSENT_ONLY_PURPOSES if granted else frozenset(),
    )
    tc = encode(model)
    strings = tcf_strings(tc)
    return {
        "name": name,
        "tcf": tc,
        "gpp": strings.gpp,
        "gpp_sid": list(strings.gpp_sid),
        "usp": strings.usp,
        "gpp_parsed": parsed_sections(strings.gpp),
        "tcf_data": tc_data(model, tc, sorted(TCF_VENDORS)),
    }


def tcf_fixture() -> str:
    return json.dumps([tcf_case("no_consent", False), tcf_case("accept_all", True)], indent=2) + "\n"


def test_unit_tests_iab_fixture_is_the_services_strings() -> None:
    """The banner's unit tests read the service's strings from a file; it must say what the service says."""
    for fixture, text in ((IAB_FIXTURE, iab_fixture()), (TCF_FIXTURE, tcf_fixture())):
        assert fixture.read_text(encoding="utf-8") == text, (
            f"{fixture.relative_to(ROOT)} is stale: rewrite it with `.venv/bin/python tests/test_banner_build.py`"
        )


if __name__ == "__main__":
    IAB_FIXTURE.write_text(iab_fixture(), encoding="utf-8")
    TCF_FIXTURE.write_text(tcf_fixture(), encoding="utf-8")
