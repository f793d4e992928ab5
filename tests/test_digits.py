"""One rule for whole numbers from outside (digits.ascii_int): ASCII decimal digits, bounded."""

from __future__ import annotations

import pytest

from consent_service.core.digits import MAX_DIGITS, MS_DIGITS, ascii_int


def test_ascii_decimal_digits_are_numbers() -> None:
    assert ascii_int("0") == 0 and ascii_int("007") == 7 and ascii_int("1700000000000") == 1_700_000_000_000
    assert ascii_int("9" * MAX_DIGITS) == int("9" * MAX_DIGITS)
    assert ascii_int("1000", max_digits=4) == 1000 and ascii_int("10000", max_digits=4) is None
    assert ascii_int("-5", signed=True) == -5 and ascii_int("-0", signed=True) == 0
    assert ascii_int("9" * MS_DIGITS, max_digits=MS_DIGITS) == int("9" * MS_DIGITS)


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "²",  # isdigit() is True, int() raises
        "²⁰²⁶",
        "١٢",  # Arabic-Indic: int() reads 12
        "１０",  # full-width: int() reads 10
        "৩",  # Bengali
        "7\u00a0",
        " 7",
        "7 ",
        "7\n",
        "+7",
        "1_000",
        "0x10",
        "1e3",
        "1.0",
        "-5",  # not signed
        "--5",
        "-",
        "9" * (MAX_DIGITS + 1),
        "9" * 5000,  # int() would raise past 4300 digits
    ],
)
def test_anything_else_is_none_never_an_exception(text: str | None) -> None:
    assert ascii_int(text) is None
    if text not in ("-5",):
        assert ascii_int(text, signed=True) is None, text
