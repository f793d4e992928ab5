from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consent_service.core.regions import DEFAULT_REGIMES, is_us, is_valid_region, regime_for
from consent_service.core.vocab import Regime

EU = "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()

OPT_IN, OPT_OUT, NOTICE = Regime.OPT_IN, Regime.OPT_OUT, Regime.NOTICE


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("DE", OPT_IN),
        ("DE-BY", OPT_IN),  # a subdivision inherits its country's regime
        ("FR", OPT_IN),
        ("NL-NH", OPT_IN),
        ("GB", OPT_IN),
        ("GB-SCT", OPT_IN),
        ("IS", OPT_IN),
        ("LI", OPT_IN),
        ("NO", OPT_IN),
        ("CH", OPT_IN),
        ("BR", OPT_IN),
        ("BR-SP", OPT_IN),
        ("CA-QC", OPT_IN),
        ("CA", NOTICE),  # Canada outside Quebec
        ("CA-ON", NOTICE),
        ("CA-BC", NOTICE),
        ("US", OPT_OUT),
        ("US-CA", OPT_OUT),
        ("US-TX", OPT_OUT),
        ("US-NY", OPT_OUT),  # a state without its own law: still opt_out
        ("US-VA", OPT_OUT),
        ("JP", NOTICE),
        ("AU", NOTICE),
        ("IN", NOTICE),
        ("UK", NOTICE),  # not the ISO code for the United Kingdom (that is GB)
        (None, NOTICE),
    ],
)
def test_default_regimes(region: str | None, expected: Regime) -> None:
    assert regime_for(region) is expected
    assert regime_for(region, {}) is expected


@pytest.mark.parametrize("country", EU)
def test_every_eu_country_is_opt_in(country: str) -> None:
    assert regime_for(country) is OPT_IN
    assert DEFAULT_REGIMES[country] is OPT_IN


def test_default_table_has_no_unexpected_regimes() -> None:
    opt_in = {r for r, g in DEFAULT_REGIMES.items() if g is OPT_IN}
    assert opt_in == {*EU, "IS", "LI", "NO", "GB", "CH", "BR", "CA-QC"}
    assert {r for r, g in DEFAULT_REGIMES.items() if g is OPT_OUT} == {"US"}
    assert all(is_valid_region(r) for r in DEFAULT_REGIMES)


@pytest.mark.parametrize(
    ("region", "overrides", "expected"),
    [
        # the site's override beats the default
        ("DE", {"DE": NOTICE}, NOTICE),
        ("DE-BY", {"DE": NOTICE}, NOTICE),
        ("US-CA", {"US": OPT_IN}, OPT_IN),
        ("JP", {"JP": OPT_IN}, OPT_IN),
        ("CA-QC", {"CA-QC": NOTICE}, NOTICE),
        # the exact region beats its country
        ("US-CA", {"US": NOTICE, "US-CA": OPT_IN}, OPT_IN),
        ("US-TX", {"US": NOTICE, "US-CA": OPT_IN}, NOTICE),
        ("DE-BY", {"DE-BY": NOTICE}, NOTICE),
        ("DE-BE", {"DE-BY": NOTICE}, OPT_IN),
        # overrides for other regions leave the defaults alone
        ("DE", {"FR": NOTICE}, OPT_IN),
        ("US", {"US-CA": OPT_IN}, OPT_OUT),
        # "*" covers regions without a default or override, and an unknown region
        ("JP", {"*": OPT_IN}, OPT_IN),
        ("CA-ON", {"*": OPT_IN}, OPT_IN),
        (None, {"*": OPT_IN}, OPT_IN),
        (None, {"*": OPT_OUT}, OPT_OUT),
        (None, {"US": OPT_IN}, NOTICE),
        ("DE", {"*": NOTICE}, OPT_IN),
        ("US-CA", {"*": OPT_IN}, OPT_OUT),
        ("JP", {"*": OPT_IN, "JP": NOTICE}, NOTICE),
    ],
)
def test_overrides(region: str | None, overrides: dict[str, Regime], expected: Regime) -> None:
    assert regime_for(region, overrides) is expected


@pytest.mark.parametrize(
    ("region", "valid"),
    [
        ("US", True),
        ("US-CA", True),
        ("GB-ENG", True),
        ("FR-75C", True),
        ("CN-11", True),
        ("DE-1", True),
        ("us", False),
        ("Us", False),
        ("US-ca", False),
        ("USA", False),
        ("U", False),
        ("", False),
        ("US-", False),
        ("US-ABCD", False),
        ("US_CA", False),
        ("US CA", False),
        ("-CA", False),
        ("U1", False),
        ("*", False),
        ("US-CA-X", False),
        ("ÉÉ", False),
        (" US", False),
        ("US ", False),
        ("DE\n", False),  # `$` would match before a trailing newline
        ("US-CA\n", False),
    ],
)
def test_is_valid_region(region: str, valid: bool) -> None:
    assert is_valid_region(region) is valid


@given(st.text(max_size=8) | st.text(alphabet="USCAus-1\n\xc9 ", max_size=7))
def test_is_valid_region_matches_the_iso_shape(text: str) -> None:
    ascii_upper = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    country, sep, sub = text.partition("-")
    expected = (
        len(country) == 2
        and set(country) <= ascii_upper
        and (not sep or (1 <= len(sub) <= 3 and set(sub) <= ascii_upper | set("0123456789")))
    )
    assert is_valid_region(text) is expected


@given(st.from_regex(r"[A-Z]{2}(-[A-Z0-9]{1,3})?", fullmatch=True))
def test_is_valid_region_accepts_iso_shapes_and_nothing_appended(region: str) -> None:
    assert is_valid_region(region)
    assert not is_valid_region(region.lower())
    for suffix in ("\n", " ", "-", "X" * 4):
        assert not is_valid_region(region + suffix), repr(region + suffix)


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("US", True),
        ("US-CA", True),
        ("US-NY", True),
        (None, False),
        ("CA", False),  # Canada, not California
        ("USA", False),
        ("AU-US", False),
        ("DE", False),
        ("", False),
    ],
)
def test_is_us(region: str | None, expected: bool) -> None:
    assert is_us(region) is expected


def test_a_country_override_leaves_a_stricter_subdivision_default_alone() -> None:
    assert regime_for("CA-QC", {"CA": Regime.OPT_OUT}) is Regime.OPT_IN
    assert regime_for("CA-ON", {"CA": Regime.OPT_OUT}) is Regime.OPT_OUT
    assert regime_for("CA-QC", {"CA-QC": Regime.NOTICE}) is Regime.NOTICE
    assert regime_for("US-CA", {"US": Regime.NOTICE}) is Regime.NOTICE
