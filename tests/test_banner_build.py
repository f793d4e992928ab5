"""banner_js/: the committed consent_service/static/banner.js is the build of its sources, within budget."""

from __future__ import annotations

import gzip
import importlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import NoReturn

import pytest

from consent_service.core.texts import TEXT_KEYS, texts_for

ROOT = Path(__file__).resolve().parent.parent
BANNER_JS = ROOT / "banner_js"
BUILT = ROOT / "consent_service" / "static" / "banner.js"
BUDGET_GZIP = 6 * 1024  # DESIGN.md: banner JS + CSS at most 6 KB gzip, a hard budget


def fail_setup(reason: str) -> NoReturn:
    pytest.fail(
        f"cannot build the banner: {reason}. Run ./dev test, which installs it "
        f"(or `npm ci --prefix {BANNER_JS}`; needs Node.js 18+).",
        pytrace=False,
    )


def node() -> str:
    """Node, with the esbuild the lockfile pins (another version may build other bytes)."""
    found = shutil.which("node")
    if found is None:
        fail_setup("`node` is not on PATH")
    installed = BANNER_JS / "node_modules" / "esbuild" / "package.json"
    if not installed.is_file():
        fail_setup(f"{installed} is missing")
    pinned = json.loads((BANNER_JS / "package.json").read_text(encoding="utf-8"))["devDependencies"]["esbuild"]
    version = json.loads(installed.read_text(encoding="utf-8"))["version"]
    if version != pinned:
        fail_setup(f"esbuild {version} is installed, package.json pins {pinned}")
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
