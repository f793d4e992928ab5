"""The Global Vendor List files that ship with the package (consent_service/config/gvl/): the project's
own small list, for offline use and the demo, and its unofficial demo translations. Their README.md
files say what they are and are not; production loads IAB's list and translations (tcf/gvl_source.py).
"""

from __future__ import annotations

from importlib import resources
from typing import Final

BUNDLED_LIST: Final = "vendor-list.json"
DEMO_LANGUAGES: Final = ("de", "fr")  # the project's own translations, in gvl/demo-translations/


def bundled_list() -> bytes:
    """The bundled vendor-list.json, as stored (core/gvl.py parses it)."""
    return resources.files("consent_service.config").joinpath("gvl", BUNDLED_LIST).read_bytes()


def demo_translation(language: str) -> bytes | None:
    """The project's unofficial demo translation file (`purposes-de.json`), or None for a language it
    has none for."""
    if language not in DEMO_LANGUAGES:
        return None
    path = resources.files("consent_service.config").joinpath("gvl", "demo-translations", f"purposes-{language}.json")
    return path.read_bytes()
