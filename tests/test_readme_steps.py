"""The reader of the README's "Try it" (tests/readme_steps.py): how steps split and answers match."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.readme_steps import Step, mismatches, steps_of, text_mismatches, try_it_block

BLOCK = """S=http://x
# prose
curl -s "$S/a" \\
  -H 'A: b'
#> {"a": 1,
#>  "b": "…", "c": "DB~…"}

curl -s "$S/b"   # no output documented
# more prose
curl -s "$S/c" | grep x
#> <button id="x">…

for x in 1 2; do
  echo $x
done
#> 1
#> 2
echo 3
#> 3
"""


def test_steps_split_on_commands_outputs_and_prose() -> None:
    steps = steps_of(BLOCK, 10)
    assert [s.command for s in steps] == [
        ["S=http://x"],
        ['curl -s "$S/a" \\', "  -H 'A: b'"],
        ['curl -s "$S/b"   # no output documented'],
        ['curl -s "$S/c" | grep x'],
        ["for x in 1 2; do", "  echo $x", "done"],
        ["echo 3"],
    ]
    assert [s.line for s in steps] == [10, 12, 17, 19, 22, 27]
    assert steps[1].expected == {"a": 1, "b": "…", "c": "DB~…"}
    assert steps[2].expected is None and steps[3].expected == ['<button id="x">…']
    assert steps[4].expected == ["1", "2"] and steps[5].expected == 3  # "1\n2" is not JSON: lines of text


def test_matching_is_exact_but_for_the_ellipsis() -> None:
    expected = {"a": 1, "b": "…", "c": "DB~…", "d": [True, {"e": None}]}
    assert mismatches(expected, {"a": 1, "b": {"any": 1}, "c": "DB~xyz", "d": [True, {"e": None}]}) == []
    assert mismatches(expected, {"a": 2, "b": 0, "c": "DB~", "d": [True, {"e": None}]}) == ["$.a: 2 ≠ 1"]
    found = mismatches(expected, {"a": 1, "b": 0, "c": "XDB~", "d": [True, {"e": None}], "f": 1})
    assert sorted(found) == ["$.c: 'XDB~' ≠ 'DB~…'", "$: undocumented 'f'"]
    assert mismatches({"a": 1}, {}) == ["$: missing 'a'"]
    assert mismatches({"a": 1, "…": "…"}, {"a": 1, "z": 2}) == []  # the members not shown
    assert mismatches({"a": 1, "…": "…"}, {"z": 2}) == ["$: missing 'a'"]
    assert mismatches({"n": 1}, {"n": True}) == ["$.n: True ≠ 1"]  # a bool is not a number
    assert mismatches([1, 2], [1]) == ["$: expected 2 items, got [1]"]
    assert text_mismatches(["<button id=x>…"], "<button id=x>Do Not Sell\n") == []
    assert text_mismatches(["a…", "b"], "a1\nc") == ["line 2: 'c' ≠ 'b'"]


def test_an_output_needs_a_command() -> None:
    with pytest.raises(ValueError, match="line 2"):
        steps_of("# prose\n#> {}\n")


def test_the_readme_has_a_try_it_block() -> None:
    block, line = try_it_block((Path(__file__).parent.parent / "README.md").read_text("utf-8"))
    steps = steps_of(block, line)
    assert len(steps) > 10 and all(isinstance(s, Step) for s in steps)
