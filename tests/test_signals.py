from __future__ import annotations

import gc
import re
import tracemalloc
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consent_service.config.settings import REGION_HEADER_SETS, Settings
from consent_service.core.signals import (
    UA_PREFIX,
    _device_class,
    device_class,
    gpc_signal,
    negotiate_language,
    region_from_headers,
    ua_labels,
)
from consent_service.core.vocab import DeviceClass

# --- GPC -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["1"], True),
        ([" 1"], True),
        (["1 "], True),
        (["\t1\t"], True),
        ([" \t 1 \t "], True),
        (["0, 1"], True),
        (["1,0"], True),
        (["yes,\t1"], True),
        ([",1,"], True),
        (["0"], False),
        (["true"], False),
        (["True"], False),
        (["yes"], False),
        (["1.0"], False),
        ([" 1 2"], False),
        ([""], False),
        (["01"], False),
        (["10"], False),
        (["+1"], False),
        (["1;q=1"], False),
        (['"1"'], False),
        (["1\n"], False),  # only spaces and tabs are trimmed
        (["\xa01"], False),  # a no-break space is not HTTP whitespace
        ([","], False),
        ([], False),
        # repeated header lines: any line may carry the 1
        (["0", "1"], True),
        (["1", "0"], True),
        (["true", "yes", " 1 "], True),
        (["0", "0"], False),
        (["", ""], False),
        (["0", "1.0", "true"], False),
    ],
)
def test_gpc_signal_header_values(lines: list[str], expected: bool) -> None:
    assert gpc_signal(lines) is expected


def test_gpc_signal_accepts_any_iterable_of_lines() -> None:
    assert gpc_signal(iter(["0", "1"])) is True
    assert gpc_signal(("0",)) is False
    assert gpc_signal(line for line in ["x", " 1"]) is True


@pytest.mark.parametrize(
    ("flag", "expected"),
    [
        ("1", True),
        (" 1", True),
        ("1\t", True),
        ("0", False),
        ("", False),
        ("true", False),
        ("yes", False),
        ("1.0", False),
        ("01", False),
        ("1,0", True),
        ("0, 1", True),
    ],
)
def test_gpc_signal_query_values_follow_the_header_rule(flag: str, expected: bool) -> None:
    assert gpc_signal([flag]) is expected


def test_gpc_signal_repeated_query_values_like_repeated_lines() -> None:
    assert gpc_signal(["1", "0"]) is True
    assert gpc_signal(["0", "1"]) is True
    assert gpc_signal(["0", "0"]) is False


def _gpc_oracle(lines: list[str]) -> bool:
    """DESIGN's rule written independently: split on commas, drop leading/trailing SP/HTAB, equals '1'."""
    element = re.compile(r"[ \t]*1[ \t]*")
    return any(element.fullmatch(part) for line in lines for part in re.split(",", line))


GPC_TEXT = st.text(alphabet="01 ,\t\ty\xa0\n", max_size=12)


@given(st.lists(GPC_TEXT, max_size=4))
def test_gpc_signal_matches_oracle(lines: list[str]) -> None:
    assert gpc_signal(lines) is _gpc_oracle(lines)


# --- region ----------------------------------------------------------------------------------

PAIRS = Settings().region_header_pairs  # cloudfront, cloudflare, vercel
CLOUDFRONT = REGION_HEADER_SETS["cloudfront"]
VERCEL = REGION_HEADER_SETS["vercel"]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"cloudfront-viewer-country": "US", "cloudfront-viewer-country-region": "CA"}, "US-CA"),
        ({"cloudfront-viewer-country": "DE"}, "DE"),
        ({"cloudfront-viewer-country": "DE", "cloudfront-viewer-country-region": ""}, "DE"),
        ({"cf-ipcountry": "GB"}, "GB"),
        ({"cf-ipcountry": "CA", "cf-region-code": "ON"}, "CA-ON"),
        ({"x-vercel-ip-country": "US", "x-vercel-ip-country-region": "TX"}, "US-TX"),
        # placeholders for unknown places are ignored and the next trusted pair decides
        ({"cf-ipcountry": "XX", "x-vercel-ip-country": "FR"}, "FR"),
        ({"cf-ipcountry": "T1", "x-vercel-ip-country": "FR"}, "FR"),
        ({"cf-ipcountry": "ZZ", "x-vercel-ip-country": "FR"}, "FR"),
        ({"cf-ipcountry": "", "x-vercel-ip-country": "FR"}, "FR"),
        ({"cloudfront-viewer-country": "XX", "cloudfront-viewer-country-region": "CA", "cf-ipcountry": "NL"}, "NL"),
        ({"cf-ipcountry": "XX"}, None),
        ({"cf-ipcountry": "T1"}, None),
        # not a country code at all
        ({"cf-ipcountry": "USA", "x-vercel-ip-country": "FR"}, "FR"),
        ({"cf-ipcountry": "U", "x-vercel-ip-country": "FR"}, "FR"),
        ({"cf-ipcountry": "1A", "x-vercel-ip-country": "FR"}, "FR"),
        ({"cf-ipcountry": "ÉÉ", "x-vercel-ip-country": "FR"}, "FR"),  # non-ASCII letters
        ({"cf-ipcountry": "ÉÉ"}, None),
        # an invalid subdivision falls back to the country
        ({"cloudfront-viewer-country": "US", "cloudfront-viewer-country-region": "C@"}, "US"),
        ({"cloudfront-viewer-country": "US", "cloudfront-viewer-country-region": "TOOLONG"}, "US"),
        ({"cloudfront-viewer-country": "US", "cloudfront-viewer-country-region": "C A"}, "US"),
        # normalized
        ({"cloudfront-viewer-country": "us", "cloudfront-viewer-country-region": "ca"}, "US-CA"),
        ({"cloudfront-viewer-country": " de "}, "DE"),
        ({"x-vercel-ip-country": "nl", "x-vercel-ip-country-region": "nh"}, "NL-NH"),
        ({}, None),
        ({"x-forwarded-for": "1.2.3.4", "country": "US"}, None),
    ],
)
def test_region_from_headers(headers: dict[str, str], expected: str | None) -> None:
    assert region_from_headers(headers.get, PAIRS) == expected


def test_region_from_headers_without_trusted_pairs_is_none() -> None:
    headers = {"cloudfront-viewer-country": "US", "cloudfront-viewer-country-region": "CA", "cf-ipcountry": "DE"}
    assert region_from_headers(headers.get, ()) is None
    assert region_from_headers(headers.get, Settings(region_headers=()).region_header_pairs) is None


def test_region_from_headers_order_of_pairs_decides() -> None:
    headers = {
        "cloudfront-viewer-country": "US",
        "cloudfront-viewer-country-region": "CA",
        "x-vercel-ip-country": "DE",
    }
    assert region_from_headers(headers.get, (CLOUDFRONT, VERCEL)) == "US-CA"
    assert region_from_headers(headers.get, (VERCEL, CLOUDFRONT)) == "DE"
    assert region_from_headers(headers.get, (VERCEL,)) == "DE"


def test_region_from_headers_pair_without_region_header() -> None:
    headers = {"my-country": "se", "my-region": "AB"}
    assert region_from_headers(headers.get, (("my-country", None),)) == "SE"
    assert region_from_headers(headers.get, (("my-country", "my-region"),)) == "SE-AB"


_REGION = re.compile(r"[A-Z]{2}(-[A-Z0-9]{1,3})?")
ALL_HEADERS = [h for pair in REGION_HEADER_SETS.values() for h in pair if h]


HEADER_VALUE = st.text(max_size=8) | st.text(alphabet="usUSxX1\xe9\xc9\u01c6- @\t", max_size=4)


@given(st.dictionaries(st.sampled_from(ALL_HEADERS), HEADER_VALUE))
def test_region_from_headers_is_none_or_a_valid_region(headers: dict[str, str]) -> None:
    region = region_from_headers(headers.get, PAIRS)
    assert region is None or _REGION.fullmatch(region), region


# --- language --------------------------------------------------------------------------------

LANGS = frozenset({"en", "nl", "sv", "de", "fr", "es"})


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("de", "de"),
        ("de;q=0.5, fr;q=0.9", "fr"),
        ("ja, de;q=0.2, fr;q=0.1", "de"),
        ("fr;q=0.8, de;q=0.8", "fr"),  # ties: first listed wins
        ("de;q=0.8, fr;q=0.8", "de"),
        ("de, fr", "de"),
        ("de;q=0.999, fr", "fr"),  # no q means 1
        ("nl-BE", "nl"),
        ("nl-BE,nl;q=0.9,en;q=0.8", "nl"),
        ("en-US,en;q=0.9,sv;q=0.8", "en"),
        ("DE-de", "de"),
        ("  sv ; q=0.7 , es;q=0.6", "sv"),
        ("de;q=0", "en"),  # q=0: not acceptable
        ("de;q=0, fr;q=0.1", "fr"),
        ("de;q=0.000", "en"),
        ("de;q=abc, fr;q=0.5", "fr"),  # malformed q: not acceptable
        ("de;q=, fr;q=0.5", "fr"),
        ("de;q=2, fr;q=0.5", "fr"),  # out of range
        ("de;q=-1, fr;q=0.5", "fr"),
        ("de;q=nan, fr;q=0.5", "fr"),
        ("de;level=1;q=0.4, fr;q=0.3", "de"),
        ("*", "en"),  # wildcard ignored
        ("*, de;q=0.5", "de"),
        ("*;q=1, sv;q=0.1", "sv"),
        ("ja, zh-CN, pt-BR", "en"),
        ("xx-de", "en"),
        (",,,;;;", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_negotiate_language(header: str | None, expected: str) -> None:
    assert negotiate_language(header, LANGS) == expected


@pytest.mark.parametrize("header", ["", None, "ja", "*", "de;q=0"])
def test_negotiate_language_uses_the_given_default(header: str | None) -> None:
    assert negotiate_language(header, LANGS, default="nl") == "nl"


def test_negotiate_language_with_nothing_available() -> None:
    assert negotiate_language("de, fr", frozenset(), default="en") == "en"


@pytest.mark.parametrize(
    "header",
    [
        "a" * 10_240,
        ",;" * 5_120,
        "de;q=" * 2_048,
        "de;q=0." + "9" * 10_240,
        ";q=1" * 2_560,
        "-" * 10_240,
        "\x00\xff" * 5_120,
        ", ".join(["xx-YY;q=0.5"] * 1_000),
    ],
)
def test_negotiate_language_survives_hostile_headers(header: str) -> None:
    assert negotiate_language(header, LANGS) in LANGS


@given(st.text(max_size=300))
def test_negotiate_language_never_raises_and_returns_available_or_default(header: str) -> None:
    assert negotiate_language(header, LANGS, default="xx") in LANGS | {"xx"}


@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(LANGS | {"ja", "pt", "zh"})), st.integers(min_value=0, max_value=1000)),
        max_size=8,
    )
)
def test_negotiate_language_matches_oracle(entries: list[tuple[str, int]]) -> None:
    header = ", ".join(f"{lang};q={q / 1000:.3f}" for lang, q in entries)
    candidates = [(q, -i, lang) for i, (lang, q) in enumerate(entries) if q > 0 and lang in LANGS]
    expected = max(candidates)[2] if candidates else "en"
    assert negotiate_language(header, LANGS) == expected


# --- device class ----------------------------------------------------------------------------

UAS = {
    "windows_chrome": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "mac_safari": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15",
    "linux_firefox": "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
    "iphone": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    "android_phone": "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
    "ipad": "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    "android_tablet": "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "googlebot": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "googlebot_smartphone": "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "bingbot": "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "curl": "curl/8.5.0",
}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("windows_chrome", DeviceClass.PC),
        ("mac_safari", DeviceClass.PC),
        ("linux_firefox", DeviceClass.PC),
        ("iphone", DeviceClass.MOBILE),
        ("android_phone", DeviceClass.MOBILE),
        ("ipad", DeviceClass.TABLET),
        ("android_tablet", DeviceClass.TABLET),
        ("googlebot", DeviceClass.BOT),
        ("googlebot_smartphone", DeviceClass.BOT),  # a bot before a phone
        ("bingbot", DeviceClass.BOT),
        ("curl", DeviceClass.OTHER),
    ],
)
def test_device_class(name: str, expected: DeviceClass) -> None:
    assert device_class(UAS[name]) is expected


@pytest.mark.parametrize("ua", [None, ""])
def test_device_class_without_user_agent_is_other(ua: str | None) -> None:
    assert device_class(ua) is DeviceClass.OTHER


def test_device_class_huge_user_agent() -> None:
    assert device_class(UAS["iphone"] + " x" * 20_000) is DeviceClass.MOBILE


def test_device_class_is_cached_by_user_agent() -> None:
    ua = f"{UAS['windows_chrome']} test/{uuid.uuid4()}"  # never seen before
    before = _device_class.cache_info()
    first = device_class(ua)
    middle = _device_class.cache_info()
    second = device_class(ua)
    after = _device_class.cache_info()
    assert first is second is DeviceClass.PC
    assert (middle.misses, middle.hits) == (before.misses + 1, before.hits)
    assert (after.misses, after.hits) == (middle.misses, middle.hits + 1)
    assert _device_class.cache_info().maxsize is not None  # bounded


def test_huge_user_agents_do_not_grow_the_caches() -> None:
    """Issue 11, finding 2: the caches were keyed by the whole header, so 30 distinct 1 MB
    User-Agents kept 30 MB alive. Now they are keyed by a bounded prefix."""
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for _ in range(30):
            ua = f"{UAS['iphone']} {uuid.uuid4()} " + "x" * 1_000_000
            assert device_class(ua) is DeviceClass.MOBILE
            assert ua_labels(ua)[0] is DeviceClass.MOBILE
            del ua
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - before < 2_000_000, f"{after - before} bytes kept for 30 one-megabyte User-Agents"
    # Only the prefix is parsed: what follows it cannot change the answer.
    assert device_class("x" * UA_PREFIX + UAS["iphone"]) is DeviceClass.OTHER
