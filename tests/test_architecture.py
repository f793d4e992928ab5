"""The package's shape (docs/architecture.md): the import rule, no circle, small modules.

The import rule itself lives in pyproject.toml (`[tool.importlinter]`) and is checked here by
import-linter's own command; the circle check covers what layers cannot (two modules of one package
importing each other). Both count type-only imports and imports inside functions.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "consent_service"
MAX_LINES = 400  # a module longer than this holds more than one thing: split it by what it holds
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def test_the_import_contracts_are_kept() -> None:
    found = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert found.returncode == 0, found.stdout + found.stderr
    assert "0 broken" in found.stdout and "5 kept" in found.stdout  # every contract was read and checked


def test_no_module_imports_itself_through_a_circle() -> None:
    graph = grimp.build_graph("consent_service", exclude_type_checking_imports=False, cache_dir=None)
    circles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back is not None:
                circles.append((module, *back))
    assert circles == []


def test_the_circle_check_finds_a_circle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above can fail: a type-only import closing a circle is found."""
    pkg = tmp_path / "circled"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from circled import b\n")
    (pkg / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from circled import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = grimp.build_graph("circled", exclude_type_checking_imports=False, cache_dir=None)
    assert graph.find_shortest_chain(importer="circled.b", imported="circled.a") == ("circled.b", "circled.a")


def test_no_module_is_longer_than_the_limit() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if (lines := len(path.read_text("utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
