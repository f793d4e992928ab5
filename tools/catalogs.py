"""The gettext catalogs' upkeep (docs/translations.md); run as `./dev catalogs`.

    python tools/catalogs.py                 extract messages.pot, then merge it into every .po
    python tools/catalogs.py --pot FILE      only extract, into FILE (tests/test_catalogs.py)

Extraction reads babel.cfg: the texts' sources (core/texts.py and core/page_messages.py, where
`message(key, english)` is a msgctxt and a msgid, `plural_message(key, one, other)` a plural one) and
the templates (jinja2's `_`/`gettext`/`ngettext`, for strings marked there).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "consent_service" / "locale"
PYBABEL = str(Path(sys.executable).with_name("pybabel"))
EXTRACT = [
    "extract", "-F", "babel.cfg", "-k", "message:1c,2", "-k", "plural_message:1c,2,3", "--sort-by-file",
    "--project", "consent-service", "--copyright-holder", "the consent-service authors", "--width", "100",
]  # fmt: skip


def extract(pot: Path) -> None:
    subprocess.run([PYBABEL, "--quiet", *EXTRACT, "-o", str(pot), "."], cwd=ROOT, check=True)  # noqa: S603


def update() -> None:
    extract(LOCALE / "messages.pot")
    subprocess.run(  # noqa: S603
        [PYBABEL, "--quiet", "update", "--no-fuzzy-matching", "--width", "100", "--ignore-obsolete",
         "-i", str(LOCALE / "messages.pot"), "-d", str(LOCALE)],
        check=True,
    )  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1:2] == ["--pot"]:
        extract(Path(sys.argv[2]))
    else:
        update()
