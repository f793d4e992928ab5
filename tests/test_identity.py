from __future__ import annotations

import base64
import hashlib
import re
import string
import time
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st
from itsdangerous import TimestampSigner

from consent_service.core.identity import (
    BUCKETS,
    DEVICE_ID_LENGTH,
    DeviceTokens,
    PendingOptOut,
    bucket_of,
    is_device_id,
    new_device_id,
)
from consent_service.core.keyed import matching_key
from tests.conftest import flip

NEW = "n" * 40
OLD = "o" * 40
OTHER = "x" * 40
DAY = 86_400
SITE = "demo"
SALT = f"cs-device-v2:{SITE}"  # as DeviceTokens builds a site's signer
LEGACY_SALT = "cs-device-v1"  # as DeviceTokens signed before tokens were bound to a site
URLSAFE = re.compile(r"[A-Za-z0-9_-]{22}")


def signer(key: str, *, at: int | None = None, salt: str = SALT) -> TimestampSigner:
    """A signer like DeviceTokens' for SITE (salt, sha256), optionally with a frozen clock."""

    class Frozen(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) if at is None else at

    return Frozen(key, salt=salt, digest_method=hashlib.sha256)


def test_round_trip() -> None:
    tokens = DeviceTokens((NEW,), max_age_s=DAY)
    device = new_device_id()
    before = int(time.time())
    token = tokens.sign(SITE, device)
    verified = tokens.verify(token, SITE)
    assert verified is not None
    assert verified[0] == device
    assert before <= verified[1] <= int(time.time())
    assert len(token) <= 128
    assert device in token


def test_newest_key_signs() -> None:
    token = DeviceTokens((NEW, OLD), max_age_s=DAY).sign(SITE, new_device_id())
    assert DeviceTokens((NEW,), max_age_s=DAY).verify(token, SITE) is not None
    assert DeviceTokens((OLD,), max_age_s=DAY).verify(token, SITE) is None


def test_token_signed_with_an_older_key_still_verifies() -> None:
    device = new_device_id()
    old_token = DeviceTokens((OLD,), max_age_s=DAY).sign(SITE, device)
    verified = DeviceTokens((NEW, OLD), max_age_s=DAY).verify(old_token, SITE)
    assert verified is not None
    assert verified[0] == device


def test_signer_built_independently_matches() -> None:
    """The token format: itsdangerous TimestampSigner, salt cs-device-v2:<site>, sha256."""
    device = new_device_id()
    token = signer(OLD).sign(device).decode()
    verified = DeviceTokens((NEW, OLD), max_age_s=DAY).verify(token, SITE)
    assert verified is not None
    assert verified[0] == device
    assert abs(verified[1] - time.time()) <= 2


def test_token_signed_with_an_unknown_key_is_rejected() -> None:
    token = DeviceTokens((OTHER,), max_age_s=DAY).sign(SITE, new_device_id())
    assert DeviceTokens((NEW, OLD), max_age_s=DAY).verify(token, SITE) is None


def test_token_with_another_salt_is_rejected() -> None:
    token = TimestampSigner(NEW, salt="other", digest_method=hashlib.sha256).sign(new_device_id()).decode()
    assert DeviceTokens((NEW,), max_age_s=DAY).verify(token, SITE) is None


def test_token_with_another_digest_is_rejected() -> None:
    token = TimestampSigner(NEW, salt=SALT, digest_method=hashlib.sha1).sign(new_device_id()).decode()
    assert DeviceTokens((NEW,), max_age_s=DAY).verify(token, SITE) is None


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda t: t[:-1] + flip(t[-1]), id="last-signature-char"),
        pytest.param(lambda t: t[:-10] + flip(t[-10]) + t[-9:], id="middle-of-signature"),
        pytest.param(lambda t: flip(t[0]) + t[1:], id="device-id"),
        pytest.param(lambda t: t.rsplit(".", 1)[0], id="signature-removed"),
        pytest.param(lambda t: t.rsplit(".", 1)[0] + ".", id="signature-empty"),
        pytest.param(lambda t: t.split(".")[0], id="id-only"),
        pytest.param(lambda t: t + "A", id="appended"),
        pytest.param(lambda t: t + ".extra", id="extra-part"),
        pytest.param(lambda t: t.replace(".", "..", 1), id="double-dot"),
    ],
)
def test_tampered_token_is_rejected(tamper: object) -> None:
    tokens = DeviceTokens((NEW,), max_age_s=DAY)
    token = tokens.sign(SITE, new_device_id())
    assert tokens.verify(token, SITE) is not None
    bad = tamper(token)  # type: ignore[operator]
    assert bad != token
    assert tokens.verify(bad, SITE) is None


def test_tampered_timestamp_is_rejected() -> None:
    tokens = DeviceTokens((NEW,), max_age_s=DAY)
    device, ts, sig = tokens.sign(SITE, new_device_id()).split(".")
    other_ts = signer(NEW, at=int(time.time()) - 100).sign(device).decode().split(".")[1]
    assert other_ts != ts
    assert tokens.verify(f"{device}.{other_ts}.{sig}", SITE) is None


def test_swapping_ids_between_valid_tokens_is_rejected() -> None:
    tokens = DeviceTokens((NEW,), max_age_s=DAY)
    a, b = new_device_id(), new_device_id()
    token_a = tokens.sign(SITE, a)
    forged = b + token_a[len(a) :]
    assert tokens.verify(forged, SITE) is None


def test_expired_token_is_rejected() -> None:
    device = new_device_id()
    tokens = DeviceTokens((NEW,), max_age_s=60)
    old = signer(NEW, at=int(time.time()) - 3_600).sign(device).decode()
    recent = signer(NEW, at=int(time.time()) - 30).sign(device).decode()
    assert tokens.verify(old, SITE) is None
    verified = tokens.verify(recent, SITE)
    assert verified is not None
    assert verified[0] == device
    assert abs(verified[1] - (int(time.time()) - 30)) <= 1


@pytest.mark.parametrize(("age", "valid"), [(0, True), (90, True), (110, False), (10 * DAY, False)])
def test_token_expires_after_max_age(age: int, valid: bool) -> None:
    device = new_device_id()
    token = signer(NEW, at=int(time.time()) - age).sign(device).decode()
    verified = DeviceTokens((NEW,), max_age_s=100).verify(token, SITE)
    assert (verified is not None) is valid
    if verified is not None:
        assert verified[0] == device


def test_token_from_a_slightly_fast_clock_verifies() -> None:
    """Replicas' clocks differ by a little: a token signed a few seconds "in the future" is valid.

    Otherwise a device that moves between replicas loses its identity (and its opt-out) for that
    request; itsdangerous rejects any negative age unless the caller allows for skew.
    """
    device = new_device_id()
    token = signer(NEW, at=int(time.time()) + 5).sign(device).decode()
    verified = DeviceTokens((NEW,), max_age_s=DAY).verify(token, SITE)
    assert verified is not None
    assert verified[0] == device


def test_token_far_in_the_future_is_rejected() -> None:
    token = signer(NEW, at=int(time.time()) + 30 * DAY).sign(new_device_id()).decode()
    assert DeviceTokens((NEW,), max_age_s=DAY).verify(token, SITE) is None


def _signed(value: str) -> str:
    return signer(NEW).sign(value).decode("ascii", "replace")


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        " ",
        ".",
        "..",
        "a.b",
        "a.b.c",
        "a.b.c.d",
        "x" * 200,
        "." * 200,
        "é" * 30,
        "dévice.id.sig",
        "\x00" * 10,
        "a" * 22 + ".!!!!.????",
        "a" * 22 + ".AAAAAA." + "=" * 43,
        "a" * 22 + ".//////." + "A" * 43,
        # validly signed, but not a device id
        _signed(""),
        _signed("short"),
        _signed("a" * 21),
        _signed("a" * 23),
        _signed("!" * 22),
        _signed("a" * 21 + "."),
        _signed("a" * 21 + "="),
        _signed("a" * 120),
    ],
)
def test_garbage_is_no_device(token: str | None) -> None:
    assert DeviceTokens((NEW,), max_age_s=DAY).verify(token, SITE) is None


def test_validly_signed_non_ascii_value_is_no_device() -> None:
    token = signer(NEW).sign("é" * 11).decode("utf-8")
    assert DeviceTokens((NEW,), max_age_s=DAY).verify(token, SITE) is None


@given(st.text(max_size=300))
def test_verify_never_raises_on_arbitrary_text(token: str) -> None:
    assert DeviceTokens((NEW,), max_age_s=DAY).verify(token, SITE) is None


@given(st.text(alphabet=string.ascii_letters + string.digits + "-_.=", max_size=130))
def test_verify_never_raises_on_token_shaped_text(token: str) -> None:
    assert DeviceTokens((NEW,), max_age_s=DAY).verify(token, SITE) is None


@given(st.binary(min_size=16, max_size=16), st.integers(min_value=0, max_value=80))
def test_any_tamper_of_a_real_token_is_rejected(raw: bytes, position: int) -> None:
    device = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    tokens = DeviceTokens((NEW,), max_age_s=DAY)
    token = tokens.sign(SITE, device)
    assert tokens.verify(token, SITE) is not None
    i = position % len(token)
    bad = token[:i] + flip(token[i]) + token[i + 1 :]
    assert tokens.verify(bad, SITE) is None


def test_new_device_id_shape_and_uniqueness() -> None:
    ids = [new_device_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    for device in ids:
        assert len(device) == DEVICE_ID_LENGTH == 22
        assert URLSAFE.fullmatch(device)
        assert is_device_id(device)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("A" * 22, True),
        ("-_" * 11, True),
        ("A" * 21, False),
        ("A" * 23, False),
        ("A" * 21 + "=", False),
        ("A" * 21 + ".", False),
        ("A" * 21 + "é", False),
        ("", False),
    ],
)
def test_is_device_id(value: str, expected: bool) -> None:
    assert is_device_id(value) is expected


def test_bucket_of_known_values() -> None:
    assert bucket_of("A" * 22) == 0
    assert bucket_of("AB" + "A" * 20) == 1
    assert bucket_of("__" + "A" * 20) == BUCKETS - 1
    assert bucket_of("BA" + "A" * 20) == 64
    assert bucket_of("Z" + "A" * 21) == (25 << 6) % BUCKETS == 576


@given(st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=22, max_size=22))
def test_bucket_of_is_in_range_and_depends_on_the_id_prefix(device: str) -> None:
    bucket = bucket_of(device)
    assert 0 <= bucket < BUCKETS == 1024
    assert bucket_of(device[:2] + "A" * 20) == bucket


def test_bucket_of_is_roughly_uniform() -> None:
    n = 50_000
    counts = Counter(bucket_of(new_device_id()) for _ in range(n))
    assert set(counts) == set(range(BUCKETS))  # every bucket used
    expected = n / BUCKETS  # ~48.8
    assert min(counts.values()) > expected / 3
    assert max(counts.values()) < expected * 3
    chi2 = sum((c - expected) ** 2 / expected for c in counts.values())
    # 1023 degrees of freedom: mean 1023, sd ~45; 1400 is > 8 sd away
    assert chi2 < 1_400


# ---- tokens are bound to the site that issued them (issue 11, finding 3) ---------------------------


def test_a_token_of_one_site_is_no_device_on_another() -> None:
    tokens = DeviceTokens((NEW,), max_age_s=DAY)
    token = tokens.sign("beta", new_device_id())
    assert tokens.verify(token, "beta") is not None
    assert tokens.verify(token, "alpha") is None
    assert tokens.verify(token, "beta-") is None  # no prefix games: the site id is the whole salt


# Minted by the code before tokens named their site (commit 0d0315f's DeviceTokens, key NEW, its clock
# frozen at 2026-12-07T00:00:00Z): what browsers hold today.
MINTED_BEFORE = "AAAAAAAAAAAAAAAAAAAAAA.axX3AA.uMKH-dyK3R0s_MgWaPHoDhlkrpTMCbPfaT8ObL6PWc4"
MINTED_BEFORE_CARRYING = (
    "BBBBBBBBBBBBBBBBBBBBBB~1796601000000~banner.axX3AA.vRb8Q7z1ymTrZo18bHItRTDTO_vMW5U-gV96UaoFPiI"
)
MINTED_AT = 1_796_601_600


def legacy_signer(key: str, at: int | None = None) -> TimestampSigner:
    return signer(key, at=at, salt=LEGACY_SALT)


def test_the_legacy_signer_mints_what_the_code_before_minted() -> None:
    """Tests elsewhere mint legacy tokens with this signer: it must be byte for byte the old code's."""
    assert legacy_signer(NEW, MINTED_AT).sign("A" * 22).decode() == MINTED_BEFORE
    assert legacy_signer(NEW, MINTED_AT).sign("B" * 22 + "~1796601000000~banner").decode() == MINTED_BEFORE_CARRYING


@pytest.mark.parametrize("site", ["demo", "shop", "x"])
def test_a_token_minted_before_verifies_on_every_site_marked_legacy(site: str) -> None:
    tokens = DeviceTokens((NEW,), max_age_s=100 * 365 * DAY)  # the literal ages; the rule under test does not
    verified = tokens.verify(MINTED_BEFORE, site)
    assert verified is not None and verified.legacy and verified.device_id == "A" * 22
    carrying = tokens.verify(MINTED_BEFORE_CARRYING, site)
    assert carrying is not None and carrying.legacy
    assert carrying.pending == PendingOptOut(1_796_601_000_000, "banner")


def test_a_new_token_is_not_legacy_and_a_legacy_one_still_expires() -> None:
    tokens = DeviceTokens((NEW,), max_age_s=60)
    verified = tokens.verify(tokens.sign(SITE, new_device_id()), SITE)
    assert verified is not None and not verified.legacy
    assert tokens.verify(MINTED_BEFORE, SITE) is None  # signed long before 60 s ago
    assert tokens.verify(legacy_signer(OTHER).sign(new_device_id()).decode(), SITE) is None  # unknown key


@pytest.mark.parametrize("value", ["-1", "1.0", "", " 1", "1e3"])
def test_a_carried_opt_out_time_must_be_digits(value: str) -> None:
    token = signer(NEW).sign(f"{'C' * 22}~{value}~banner").decode()
    verified = DeviceTokens((NEW,), max_age_s=DAY).verify(token, SITE)
    assert verified is not None and verified.pending is None


@pytest.mark.parametrize("value", ["²", "１０", "١٢"])
def test_a_token_with_non_ascii_digits_is_no_device(value: str) -> None:
    token = signer(NEW).sign(f"{'C' * 22}~{value}~banner").decode()
    assert DeviceTokens((NEW,), max_age_s=DAY).verify(token, SITE) is None


def test_matching_key_finds_the_configured_key_and_nothing_else() -> None:
    keys = (("alpha-key", "a"), ("beta-key", "b"))
    assert matching_key("beta-key", keys) == "b"
    assert matching_key("alpha-key", keys) == "a"
    assert matching_key("alpha-ke", keys) is None  # a prefix is not the key
    assert matching_key("", (("", "empty"),)) is None  # an empty presented key never matches
    assert matching_key("gamma", ()) is None
