"""The `[sites.tcf]` table (config/tcf.py): what it accepts, the defaults by purpose kind, and errors that
name the field and the problem."""

from __future__ import annotations

import pytest

from consent_service.config.sites import parse_sites
from consent_service.config.validator import ConfigError

SITE = """
[[sites]]
id = "shop"
[[sites.purposes]]
id = "necessary"
kind = "necessary"
[sites.purposes.text.en]
label = "Necessary"
[[sites.purposes]]
id = "stats"
kind = "analytics"
[sites.purposes.text.en]
label = "Statistics"
[[sites.purposes]]
id = "ads"
kind = "advertising"
sale_share = true
[sites.purposes.text.en]
label = "Ads"
"""


def tcf_of(table: str):  # type: ignore[no-untyped-def]
    return parse_sites(SITE + table, source="site.toml").sites["shop"].tcf


def test_defaults_follow_the_purpose_kinds() -> None:
    tcf = tcf_of("[sites.tcf]\nvendors = [32, 755]\n")
    assert tcf is not None and tcf.vendors == {32, 755} and tcf.publisher_cc == "AA" and not tcf.switzerland
    assert tcf.purposes == {1: "ads", 2: "ads", 3: "ads", 4: "ads", 7: "ads", 8: "stats", 9: "ads", 10: "ads"}
    assert tcf.special_features == {}  # never granted unless mapped


def test_an_explicit_mapping_and_switching_off() -> None:
    tcf = tcf_of('[sites.tcf]\nvendors = [32]\nswitzerland = true\npublisher_cc = "CH"\n'
                 '[sites.tcf.purposes]\n1 = "stats"\n[sites.tcf.special_features]\n1 = "ads"\n')  # fmt: skip
    assert tcf is not None and tcf.purposes == {1: "stats"} and tcf.special_features == {1: "ads"}
    assert tcf.switzerland and tcf.publisher_cc == "CH"
    assert tcf_of("[sites.tcf]\nenabled = false\nvendors = [32]\n") is None
    assert tcf_of("") is None


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[sites.tcf]\n", "sites[0].tcf.vendors: is required"),
        ("[sites.tcf]\nvendors = []\n", "must list 1 to 2000 GVL vendor ids"),
        ("[sites.tcf]\nvendors = [0]\n", "must list 1 to 2000 GVL vendor ids"),
        ("[sites.tcf]\nvendors = [70000]\n", "must list 1 to 2000 GVL vendor ids"),
        ("[sites.tcf]\nvendors = [32, 32]\n", "lists a vendor twice"),
        ('[sites.tcf]\nvendors = ["32"]\n', "must be a list of int"),
        ('[sites.tcf]\nvendors = [32]\npublisher_cc = "de"\n', "not a two-letter country code"),
        ("[sites.tcf]\nvendors = [32]\nswitzerland = 1\n", "must be true or false"),
        ('[sites.tcf]\nvendors = [32]\nlayers = "yes"\n', "sites[0].tcf.layers: unknown field"),
        ('[sites.tcf]\nvendors = [32]\n[sites.tcf.purposes]\n12 = "ads"\n', "a TCF id from 1 to 11"),
        ('[sites.tcf]\nvendors = [32]\n[sites.tcf.purposes]\n1 = "nope"\n', "'nope' is not one of this site's"),
        ('[sites.tcf]\nvendors = [32]\n[sites.tcf.purposes]\n1 = "necessary"\n', "cannot follow a necessary"),
        ('[sites.tcf]\nvendors = [32]\n[sites.tcf.special_features]\n3 = "ads"\n', "a TCF id from 1 to 2"),
        ("[[sites.tcf]]\nvendors = [32]\n", "sites[0].tcf: must be a table"),
    ],
)
def test_errors_name_the_field(table: str, message: str) -> None:
    with pytest.raises(ConfigError, match=r"^site\.toml: ") as caught:
        tcf_of(table)
    assert message in str(caught.value)
