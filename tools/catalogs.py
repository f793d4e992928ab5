"""The gettext catalogs' upkeep (docs/translations.md); run as `./dev catalogs`.

    python tools/catalogs.py                 extract both templates (.pot), then merge each into its .po files
    python tools/catalogs.py --pot FILE      only extract the messages domain, into FILE (tests/test_catalogs.py)
    python tools/catalogs.py --admin-pot FILE    the same for the admin domain

Two domains, each with its extraction map:

- `messages` (babel.cfg): the banner's and the privacy pages' texts, from core/texts.py and
  core/page_messages.py, where `message(key, english)` is a msgctxt and a msgid, `plural_message(key,
  one, other)` a plural one; and the templates (jinja2's `_`/`gettext`/`ngettext`, for strings
  marked there), the admin pages' left out.
- `admin` (babel-admin.cfg): the admin pages' texts, from web/admin/ and web/templates/admin/, with
  the standard keywords (`N_`, `gettext`, `ngettext`, `pgettext`, `_`); the msgid is the English.
  Comments starting `Translators:` above a text go into the catalogs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "consent_service" / "locale"
PYBABEL = str(Path(sys.executable).with_name("pybabel"))
COMMON = ["--project", "consent-service", "--copyright-holder", "the consent-service authors", "--width", "100"]
EXTRACT = [
    "extract", "-F", "babel.cfg", "-k", "message:1c,2", "-k", "plural_message:1c,2,3", "--sort-by-file", *COMMON,
]  # fmt: skip
ADMIN_EXTRACT = ["extract", "-F", "babel-admin.cfg", "--add-comments", "Translators:", "--sort-by-file", *COMMON]


def extract(pot: Path, domain: str = "messages") -> None:
    command = ADMIN_EXTRACT if domain == "admin" else EXTRACT
    subprocess.run([PYBABEL, "--quiet", *command, "-o", str(pot), "."], cwd=ROOT, check=True)  # noqa: S603


def update() -> None:
    for domain in ("messages", "admin"):
        extract(LOCALE / f"{domain}.pot", domain)
        subprocess.run(  # noqa: S603
            [PYBABEL, "--quiet", "update", "--no-fuzzy-matching", "--width", "100", "--ignore-obsolete",
             "-D", domain, "-i", str(LOCALE / f"{domain}.pot"), "-d", str(LOCALE)],
            check=True,
        )  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1:2] == ["--pot"]:
        extract(Path(sys.argv[2]))
    elif sys.argv[1:2] == ["--admin-pot"]:
        extract(Path(sys.argv[2]), "admin")
    else:
        update()
