"""The README's "Try it" block read as steps, and answers matched against what it documents.

The block is shell, run top to bottom as written (tests/test_readme_try_it.py). A *step* is a run of
command lines (one command, its continuation lines, a loop); the lines starting `#>` right after it
are its documented output, and a command after them starts the next step. Other comments are prose,
and end a step like a blank line does. An output is JSON when it parses as JSON, else text
compared line by line. `…` stands for anything: a whole value (`"device":"…"`), part of a string
(`"gpp":"DBABLA~…"`), part of a text line, or the members of an object not shown (`"…":"…"`, for
a long list of texts). Everything else must be equal: the same keys, the same
values, the same number of list items, so the README cannot drift from what the service answers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

ANY = "…"


@dataclass
class Step:
    command: list[str]
    output: list[str] = field(default_factory=list)
    line: int = 0  # where the command starts in the README, for messages

    @property
    def expected(self) -> Any:
        """The documented output: JSON when it parses, else its lines of text; None when there is none."""
        if not self.output:
            return None
        text = "\n".join(self.output)
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return self.output


def try_it_block(readme: str) -> tuple[str, int]:
    """The shell block under the `## Try it` heading, and the README line it starts on."""
    section = readme.index("\n## Try it")
    start = readme.index("```sh\n", section) + len("```sh\n")
    end = readme.index("\n```", start)
    return readme[start:end], readme[:start].count("\n") + 1


def steps_of(block: str, first_line: int = 1) -> list[Step]:
    steps: list[Step] = []
    current: Step | None = None
    for number, line in enumerate(block.split("\n"), first_line):
        if line.startswith("#>"):
            if current is None:
                raise ValueError(f"README line {number}: an output with no command before it")
            current.output.append(line[3:] if line.startswith("#> ") else line[2:])
        elif not line.strip() or line.lstrip().startswith("#"):
            current = None  # prose or a blank line ends a step
        elif current is None or current.output:
            current = Step([line], line=number)  # a command after an output starts the next step
            steps.append(current)
        else:
            current.command.append(line)  # the lines of a loop or a list of commands: one step
    return steps


def _text_matches(pattern: str, text: str) -> bool:
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split(ANY)), text, re.DOTALL) is not None


def mismatches(expected: Any, actual: Any, where: str = "$") -> list[str]:
    """Every place `actual` differs from the documented `expected` (`…` matching anything)."""
    if expected == ANY:
        return []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {actual!r}"]
        open_ended = expected.get(ANY) == ANY  # `"…": "…"`: more members than those shown
        shown = expected.keys() - {ANY} if open_ended else expected.keys()
        problems = [f"{where}: missing {key!r}" for key in shown - actual.keys()]
        if not open_ended:
            problems += [f"{where}: undocumented {key!r}" for key in actual.keys() - shown]
        for key in shown & actual.keys():
            problems += mismatches(expected[key], actual[key], f"{where}.{key}")
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: expected {len(expected)} items, got {actual!r}"]
        return [
            p for i, (e, a) in enumerate(zip(expected, actual, strict=True)) for p in mismatches(e, a, f"{where}[{i}]")
        ]
    if isinstance(expected, str) and ANY in expected:
        return (
            []
            if isinstance(actual, str) and _text_matches(expected, actual)
            else [f"{where}: {actual!r} ≠ {expected!r}"]
        )
    if type(expected) is not type(actual) or expected != actual:
        return [f"{where}: {actual!r} ≠ {expected!r}"]
    return []


def text_mismatches(expected: list[str], actual: str) -> list[str]:
    lines = actual.strip("\n").split("\n")
    if len(lines) != len(expected):
        return [f"expected {len(expected)} lines, got {len(lines)}: {actual!r}"]
    return [
        f"line {i + 1}: {a!r} ≠ {e!r}"
        for i, (e, a) in enumerate(zip(expected, lines, strict=True))
        if not _text_matches(e, a)
    ]
