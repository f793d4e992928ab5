"""The README's "Try it", run top to bottom as written against `consent-service serve` as `./dev serve`
starts it (no configuration: the demo site, a private Redis, the development admin key in
`.consent-data/`), and every documented answer compared with the real one (tests/readme_steps.py):
the README cannot drift from the service again (issue 14)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.readme_steps import mismatches, steps_of, text_mismatches, try_it_block
from tests.serving import Served

ROOT = Path(__file__).resolve().parent.parent
STEP_TIMEOUT_S = 120  # the whole block, bounded; not a speed claim


def test_the_readme_try_it_runs_as_documented(tmp_path: Path, env: dict[str, str], served: list[Served]) -> None:
    for tool in ("curl", "python3"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is needed to run the README's Try it (./dev installs it)")
    block, first_line = try_it_block((ROOT / "README.md").read_text("utf-8"))
    steps = steps_of(block, first_line)
    assert steps[0].command[0] == "S=http://localhost:8000", "the block starts by naming the service"
    service = Served(tmp_path, env)
    served.append(service)
    out = tmp_path / "out"
    out.mkdir()
    steps[0].command[0] = f"S={service.base}"
    script = []
    for i, step in enumerate(steps):
        script += ["{", *step.command, f"}} > {out}/{i} 2>&1"]
    run = subprocess.run(["bash", "-c", "\n".join(script)], cwd=tmp_path, timeout=STEP_TIMEOUT_S, check=False)
    assert run.returncode == 0, run
    problems, checked = [], 0
    for i, step in enumerate(steps):
        expected = step.expected
        if expected is None:
            continue
        checked += 1
        actual = (out / str(i)).read_text("utf-8")
        if isinstance(expected, list) and expected and isinstance(expected[0], str) and not _is_json(actual):
            found = text_mismatches(expected, actual)
        else:
            try:
                found = mismatches(expected, json.loads(actual))
            except json.JSONDecodeError:
                found = [f"not JSON: {actual[:300]!r}"]
        problems += [f"README line {step.line} ({step.command[0][:60]}…): {p}" for p in found]
    assert checked >= 20, f"only {checked} documented answers: the block lost its outputs"
    assert not problems, "\n".join(problems)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True
