"""CONSENT_GVL_URL and CONSENT_GVL_TRANSLATIONS_URL (config/settings.py): unset by default (the bundled
list, no network), https or a loopback http URL, and a clear error for anything else."""

from __future__ import annotations

import pytest

from consent_service.config.settings import SettingsError, settings_from_env

IAB_LIST = "https://vendor-list.consensu.org/v3/vendor-list.json"
IAB_TEXTS = "https://vendor-list.consensu.org/v3/purposes-{lang}.json"


def test_unset_by_default() -> None:
    settings = settings_from_env({})
    assert settings.gvl_url is None and settings.gvl_translations_url is None
    assert settings_from_env({"CONSENT_GVL_URL": "  "}).gvl_url is None


@pytest.mark.parametrize(
    "url",
    [
        IAB_LIST,
        "http://127.0.0.1:8080/v3/vendor-list.json",
        "http://localhost/gvl.json",
        "http://[::1]:9/gvl.json",
        "https://mirror.internal/gvl?v=3",
    ],
)
def test_https_or_loopback_is_taken(url: str) -> None:
    assert settings_from_env({"CONSENT_GVL_URL": url}).gvl_url == url


def test_the_translations_template_names_the_language() -> None:
    settings = settings_from_env({"CONSENT_GVL_URL": IAB_LIST, "CONSENT_GVL_TRANSLATIONS_URL": IAB_TEXTS})
    assert settings.gvl_translations_url == IAB_TEXTS
    with pytest.raises(SettingsError, match=r"CONSENT_GVL_TRANSLATIONS_URL: .* must contain \{lang\}"):
        settings_from_env({"CONSENT_GVL_TRANSLATIONS_URL": "https://vendor-list.consensu.org/v3/purposes-de.json"})
    with pytest.raises(SettingsError, match=r"CONSENT_GVL_TRANSLATIONS_URL: .* must use https"):
        settings_from_env({"CONSENT_GVL_TRANSLATIONS_URL": "http://vendor-list.consensu.org/v3/purposes-{lang}.json"})


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://vendor-list.consensu.org/v3/vendor-list.json", "must use https"),
        ("http://10.0.0.5/vendor-list.json", "must use https"),
        ("ftp://vendor-list.consensu.org/v3/vendor-list.json", "must use https"),
        ("file:///etc/passwd", "is not a URL"),
        ("vendor-list.consensu.org/v3/vendor-list.json", "is not a URL"),
        ("https://user:secret@mirror.internal/gvl.json", "without user:password"),
        ("https://[::1/gvl.json", "is not a URL"),
        ("https://mirror.internal:99999/gvl.json", "is not a URL"),
    ],
)
def test_anything_else_is_refused_clearly(url: str, says: str) -> None:
    with pytest.raises(SettingsError, match=f"CONSENT_GVL_URL: .*{says}"):
        settings_from_env({"CONSENT_GVL_URL": url})
