from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from consent_service.config.settings import REGION_HEADER_SETS, Settings, SettingsError, settings_from_env


def test_defaults_from_an_empty_environment() -> None:
    s = settings_from_env({})
    assert s == Settings()
    assert s.redis_url is None
    assert s.data_dir == Path(".consent-data")
    assert s.config_path is None
    assert s.secret_keys == ()
    assert s.pseudonym_key is None
    assert (s.host, s.port, s.workers) == ("127.0.0.1", 8000, 1)
    assert (s.cookie_samesite, s.cookie_secure, s.cookie_domain) == ("lax", "auto", None)
    assert s.cookie_max_age_days >= 396
    assert s.retention_days >= 731
    assert s.region_headers == ("cloudfront", "cloudflare", "vercel")
    assert s.public_origin is None
    assert s.log_level == "info"
    assert (s.max_header_bytes, s.read_timeout_s) == (32 * 1024, 30.0)


def test_empty_values_mean_defaults() -> None:
    names = [
        "REDIS_URL",
        "CONSENT_DATA_DIR",
        "CONSENT_CONFIG",
        "CONSENT_SECRET_KEYS",
        "CONSENT_PSEUDONYM_KEY",
        "CONSENT_HOST",
        "CONSENT_PORT",
        "CONSENT_WORKERS",
        "CONSENT_COOKIE_SAMESITE",
        "CONSENT_COOKIE_DOMAIN",
        "CONSENT_COOKIE_SECURE",
        "CONSENT_COOKIE_MAX_AGE_DAYS",
        "CONSENT_REGION_HEADERS",
        "CONSENT_DECISION_TIMEOUT_MS",
        "CONSENT_WRITE_TIMEOUT_MS",
        "CONSENT_RECORD_TTL_DAYS",
        "CONSENT_RETENTION_DAYS",
        "CONSENT_PUBLIC_ORIGIN",
        "CONSENT_LOG_LEVEL",
        "CONSENT_MAX_HEADER_BYTES",
        "CONSENT_READ_TIMEOUT_S",
    ]
    assert settings_from_env(dict.fromkeys(names, "")) == Settings()


def test_unrelated_variables_are_ignored() -> None:
    assert settings_from_env({"PATH": "/bin", "CONSENT_UNKNOWN": "x", "HOME": "/root"}) == Settings()


@pytest.mark.parametrize(
    ("env", "field", "expected"),
    [
        ({"REDIS_URL": "redis://r:6379/0"}, "redis_url", "redis://r:6379/0"),
        ({"CONSENT_DATA_DIR": "/var/lib/consent"}, "data_dir", Path("/var/lib/consent")),
        ({"CONSENT_CONFIG": "/etc/consent/sites.toml"}, "config_path", Path("/etc/consent/sites.toml")),
        ({"CONSENT_SECRET_KEYS": "newest"}, "secret_keys", ("newest",)),
        ({"CONSENT_SECRET_KEYS": " new , old ,, older "}, "secret_keys", ("new", "old", "older")),
        ({"CONSENT_SECRET_KEYS": "b,a,c"}, "secret_keys", ("b", "a", "c")),  # order kept, newest first
        ({"CONSENT_SECRET_KEYS": " , "}, "secret_keys", ()),
        ({"CONSENT_PSEUDONYM_KEY": "p" * 40}, "pseudonym_key", "p" * 40),
        ({"CONSENT_HOST": "0.0.0.0"}, "host", "0.0.0.0"),
        ({"CONSENT_PORT": "8080"}, "port", 8080),
        ({"CONSENT_PORT": "0"}, "port", 0),
        ({"CONSENT_PORT": "65535"}, "port", 65535),
        ({"CONSENT_WORKERS": "4"}, "workers", 4),
        ({"CONSENT_WORKERS": "64"}, "workers", 64),
        ({"CONSENT_COOKIE_SAMESITE": "strict"}, "cookie_samesite", "strict"),
        ({"CONSENT_COOKIE_SAMESITE": "Strict"}, "cookie_samesite", "strict"),
        ({"CONSENT_COOKIE_SAMESITE": "NONE"}, "cookie_samesite", "none"),
        ({"CONSENT_COOKIE_SAMESITE": "Lax"}, "cookie_samesite", "lax"),
        ({"CONSENT_COOKIE_DOMAIN": "example.com"}, "cookie_domain", "example.com"),
        ({"CONSENT_COOKIE_SECURE": "Always"}, "cookie_secure", "always"),
        ({"CONSENT_COOKIE_SECURE": "never"}, "cookie_secure", "never"),
        ({"CONSENT_COOKIE_MAX_AGE_DAYS": "396"}, "cookie_max_age_days", 396),
        ({"CONSENT_COOKIE_MAX_AGE_DAYS": "3650"}, "cookie_max_age_days", 3650),
        ({"CONSENT_REGION_HEADERS": "vercel"}, "region_headers", ("vercel",)),
        ({"CONSENT_REGION_HEADERS": " vercel , cloudfront "}, "region_headers", ("vercel", "cloudfront")),
        ({"CONSENT_REGION_HEADERS": "none"}, "region_headers", ()),
        ({"CONSENT_REGION_HEADERS": " none "}, "region_headers", ()),
        ({"CONSENT_DECISION_TIMEOUT_MS": "250"}, "decision_timeout_ms", 250),
        ({"CONSENT_WRITE_TIMEOUT_MS": "5000"}, "write_timeout_ms", 5000),
        ({"CONSENT_RECORD_TTL_DAYS": "30"}, "record_ttl_days", 30),
        ({"CONSENT_RETENTION_DAYS": "731"}, "retention_days", 731),
        ({"CONSENT_PUBLIC_ORIGIN": "HTTPS://Consent.Example.com/"}, "public_origin", "https://consent.example.com"),
        ({"CONSENT_LOG_LEVEL": "DEBUG"}, "log_level", "debug"),
        ({"CONSENT_LOG_LEVEL": "warning"}, "log_level", "warning"),
        ({"CONSENT_MAX_HEADER_BYTES": "4096"}, "max_header_bytes", 4096),
        ({"CONSENT_MAX_HEADER_BYTES": "1048576"}, "max_header_bytes", 1024 * 1024),
        ({"CONSENT_READ_TIMEOUT_S": "0.1"}, "read_timeout_s", 0.1),  # for tests
        ({"CONSENT_READ_TIMEOUT_S": "600"}, "read_timeout_s", 600.0),
    ],
)
def test_each_variable(env: dict[str, str], field: str, expected: object) -> None:
    s = settings_from_env(env)
    assert getattr(s, field) == expected
    # and nothing else moved
    defaults = Settings()
    for name in (f.name for f in dataclasses.fields(Settings)):
        if name != field:
            assert getattr(s, name) == getattr(defaults, name), name


def test_region_header_pairs_follow_the_configured_order() -> None:
    s = settings_from_env({"CONSENT_REGION_HEADERS": "vercel,cloudfront"})
    assert s.region_header_pairs == (REGION_HEADER_SETS["vercel"], REGION_HEADER_SETS["cloudfront"])
    assert settings_from_env({"CONSENT_REGION_HEADERS": "none"}).region_header_pairs == ()
    assert settings_from_env({}).region_header_pairs == tuple(REGION_HEADER_SETS.values())


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CONSENT_REGION_HEADERS", "akamai"),
        ("CONSENT_REGION_HEADERS", "cloudfront,akamai"),
        ("CONSENT_REGION_HEADERS", "cloudfront,none"),
        ("CONSENT_PORT", "http"),
        ("CONSENT_PORT", "80.5"),
        ("CONSENT_PORT", "-1"),
        ("CONSENT_PORT", "65536"),
        ("CONSENT_PORT", "８０８０"),  # int() reads full-width, Arabic-Indic and other digits: not a port
        ("CONSENT_PORT", "٨٠"),
        ("CONSENT_PORT", "8_080"),
        ("CONSENT_PORT", "²"),
        ("CONSENT_WORKERS", "0"),
        ("CONSENT_WORKERS", "65"),
        ("CONSENT_WORKERS", "many"),
        ("CONSENT_COOKIE_SAMESITE", "sometimes"),
        ("CONSENT_COOKIE_SECURE", "yes"),
        ("CONSENT_COOKIE_MAX_AGE_DAYS", "395"),  # less than 13 months
        ("CONSENT_COOKIE_MAX_AGE_DAYS", "30"),
        ("CONSENT_COOKIE_MAX_AGE_DAYS", "3651"),
        ("CONSENT_COOKIE_MAX_AGE_DAYS", "400d"),
        ("CONSENT_DECISION_TIMEOUT_MS", "4"),
        ("CONSENT_DECISION_TIMEOUT_MS", "10001"),
        ("CONSENT_DECISION_TIMEOUT_MS", "0.1"),
        ("CONSENT_WRITE_TIMEOUT_MS", "9"),
        ("CONSENT_WRITE_TIMEOUT_MS", "60001"),
        ("CONSENT_RECORD_TTL_DAYS", "29"),
        ("CONSENT_RETENTION_DAYS", "730"),  # less than 24 months
        ("CONSENT_RETENTION_DAYS", "365"),
        ("CONSENT_LOG_LEVEL", "verbose"),
        ("CONSENT_MAX_HEADER_BYTES", "4095"),  # below what one ordinary browser request needs
        ("CONSENT_MAX_HEADER_BYTES", "1048577"),
        ("CONSENT_MAX_HEADER_BYTES", "32k"),
        ("CONSENT_READ_TIMEOUT_S", "0"),  # no deadline at all is not an option
        ("CONSENT_READ_TIMEOUT_S", "0.09"),
        ("CONSENT_READ_TIMEOUT_S", "601"),
        ("CONSENT_READ_TIMEOUT_S", "nan"),
        ("CONSENT_READ_TIMEOUT_S", "30s"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as info:
        settings_from_env({name: value})
    message = str(info.value)
    assert message.startswith(f"{name}:")
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("value", ["http", "80.5", "-1", "65536"])
def test_bad_port_message_quotes_the_value(value: str) -> None:
    with pytest.raises(SettingsError, match="CONSENT_PORT") as info:
        settings_from_env({"CONSENT_PORT": value})
    assert value in str(info.value)


def test_unknown_region_header_set_lists_the_known_ones() -> None:
    with pytest.raises(SettingsError) as info:
        settings_from_env({"CONSENT_REGION_HEADERS": "akamai"})
    message = str(info.value)
    assert "'akamai'" in message
    for known in [*REGION_HEADER_SETS, "none"]:
        assert known in message


def test_secret_keys_are_never_in_a_settings_error() -> None:
    with pytest.raises(SettingsError) as info:
        settings_from_env({"CONSENT_SECRET_KEYS": "s3cr3t-key-value", "CONSENT_PORT": "x"})
    assert "s3cr3t" not in str(info.value)


def test_samesite_none_without_secure_is_refused() -> None:
    with pytest.raises(SettingsError, match="CONSENT_COOKIE_SAMESITE"):
        settings_from_env({"CONSENT_COOKIE_SAMESITE": "none", "CONSENT_COOKIE_SECURE": "never"})
    assert settings_from_env({"CONSENT_COOKIE_SAMESITE": "none"}).cookie_samesite == "none"
