"""Whole numbers from text that came from outside: a request, a header, a token, a value read back
from Redis. Pure, no I/O: every layer may use it.

`str.isdigit()` then `int()` is the trap this replaces: "²".isdigit() is True and int("²") raises
(a 500), while int() reads "١٢" (Arabic-Indic), "１０" (full-width), " 7 ", "+7" and "1_0" as
numbers that no client of ours ever meant.
"""

from __future__ import annotations

_DIGITS = frozenset("0123456789")
MAX_DIGITS = 18  # fits in a signed 64-bit integer; far below int()'s 4300-digit limit (a ValueError)
MS_DIGITS = 13  # milliseconds since 1970 up to the year 2286: a datetime made from them never overflows


def ascii_int(text: str | None, *, max_digits: int = MAX_DIGITS, signed: bool = False) -> int | None:
    """`text` as an int when it is 1 to `max_digits` ASCII decimal digits (after one leading `-`
    when `signed`), else None. Never raises."""
    if text is None:
        return None
    digits = text[1:] if signed and text.startswith("-") else text
    if not 0 < len(digits) <= max_digits or not _DIGITS.issuperset(digits):
        return None
    return int(text)
