"""One rule for formula-like CSV cells (csv_cells.csv_cell), used by every CSV the service writes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from consent_service.core.csv_cells import csv_cell, formula_like

HOSTILE = [
    "=1+1",
    "+1",
    "-1+1",
    "-",
    "@x",
    "@SUM(A1)",
    "＝1+1",  # full-width forms: NFKC makes them = + - @
    "＋1",
    "－1+1",
    "＠SUM(A1)",
    "﹦1",  # small equals sign
    "⁼1",  # superscript equals sign
    "  =1+1",  # leading whitespace before a formula character
    " +1",
    "\u3000=1",  # ideographic space
    "\u00a0=1",  # no-break space
    "\u2003@x",  # em space
    "\u3000＝1",
    "\t=1",  # tab, CR, LF starts: neutralised whatever follows
    "\tplain",
    "\rplain",
    "\nplain",
    "\r\n=1",
]
PLAIN = ["", "plain", "v1", "2026-11-30", "1+1", "a=1", "x@y", "e-mail", " plain", "\u3000plain", "   ", "'=1"]


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_like_text_is_neutralised(text: str) -> None:
    assert formula_like(text)
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize("text", PLAIN)
def test_other_text_is_written_as_it_is(text: str) -> None:
    assert not formula_like(text)
    assert csv_cell(text) == text


def test_numbers_of_ours_stay_numbers() -> None:
    assert csv_cell(-3) == "-3" and csv_cell(0) == "0" and csv_cell(12) == "12"
    assert csv_cell(Decimal("0.500000")) == "0.500000" and csv_cell(Decimal("-0.250000")) == "-0.250000"
    assert csv_cell(-1.5) == "-1.5" and csv_cell(None) == ""
    assert csv_cell("-3") == "'-3"  # text is text, even when it looks like a number
