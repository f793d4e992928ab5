"""CSV cells a spreadsheet will not run as formulas: one rule for every CSV the service writes (the
audit export, the statistics report).

Spreadsheets start a formula with `=`, `+`, `-` or `@`, and they are lenient about what comes first:
they skip leading whitespace, and some read full-width forms (`＝`, `＋`, `－`, `＠`) as the ASCII
ones. So a text cell is neutralised (a leading `'`, which spreadsheets show as text and hide) when
its first character that is not whitespace (str.isspace: also U+3000 and NBSP) is, after NFKC
normalisation, one of those four; and when it starts with a tab, CR or LF, which can hide a formula
on a line of its own. Numbers the service computed itself (counts, rates) are written as they are:
they are not text from outside, and a sign in them is a sign.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal

FORMULA_STARTS = frozenset("=+-@")
_HIDING_STARTS = ("\t", "\r", "\n")

Cell = str | int | float | Decimal | None


def formula_like(text: str) -> bool:
    """Whether a spreadsheet could read `text` as a formula (see the module's docstring)."""
    if text.startswith(_HIDING_STARTS):
        return True
    first = text.lstrip()[:1]
    return bool(first) and unicodedata.normalize("NFKC", first)[:1] in FORMULA_STARTS


def csv_cell(value: Cell) -> str:
    """The cell's text: a number of ours as it is, None empty, any other text neutralised when it
    is formula-like."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    return "'" + text if formula_like(text) else text
