"""Before/after contact sheets (not a test): one image per page, a row per language, the page before a
change on the left and after it on the right, from two folders of `bench.page_snapshots` shots.

    .venv/bin/python -m bench.contact_sheets BEFORE_SHOTS AFTER_SHOTS OUT_DIR [--scale 0.6]

A shot is `<page>[-<lang>]-<suffix>.png`; the page's rows are its languages in LANGS order. A page
with no language in its name is the English one; a page that had only that before the change (the
admin pages, English only until issue 13) is set, on every row, beside each language it has after.
The privacy pages are cropped to their column. The sheet is laid out as HTML and shot by the same
Chromium as the pages (no imaging library), then quantized with `pngquant`.
"""

from __future__ import annotations

import argparse
import html
import re
import tempfile
from collections import defaultdict
from pathlib import Path

from playwright.sync_api import sync_playwright

from bench.page_snapshots import LANGS
from tools import chromium

SHOT = re.compile(r"^(?P<page>.+?)(?:-(?P<lang>" + "|".join(LANGS) + r"))?-(?P<suffix>[a-z0-9]+)\.png$")


def shots_of(folder: Path) -> dict[str, dict[str, Path]]:
    """page → language ("" for none) → its shot."""
    found: dict[str, dict[str, Path]] = defaultdict(dict)
    for path in sorted(folder.glob("*.png")):
        if match := SHOT.match(path.name):
            found[match["page"]][match["lang"] or ""] = path
    return found


def rows_of(before: dict[str, Path], after: dict[str, Path]) -> list[tuple[str, Path | None, Path | None]]:
    """(language, before, after) per row. A shot without a language in its name is the English one;
    a page that had only that one before (English only) shows it beside every language it has after."""
    before, after = ({("en" if k == "" else k): v for k, v in d.items()} for d in (before, after))
    single = set(before) == {"en"}
    langs = [lang for lang in LANGS if lang in before or lang in after]
    return [(lang, before.get(lang, before["en"] if single else None), after.get(lang)) for lang in langs]


CROP = (240, 800)  # the privacy pages' column (x, width) in a 1280 px shot; the rest is margin
WIDE = ("admin", "demo")  # pages that use the whole width: not cropped


def sheet_html(page: str, rows: list[tuple[str, Path | None, Path | None]], scale: float) -> str:
    x, width = (0, 1280) if page.startswith(WIDE) else CROP

    def cell(shot: Path | None) -> str:
        if shot is None:
            return "<td class=none>(no page)</td>"
        shift = f"margin-left:-{x * scale:.0f}px"
        image = f'<img src="{shot.resolve().as_uri()}" width="{1280 * scale:.0f}" style="{shift}">'
        return f'<td><div style="width:{width * scale:.0f}px;overflow:hidden">{image}</div></td>'

    body = "".join(f"<tr><th>{html.escape(lang or '–')}</th>{cell(old)}{cell(new)}</tr>" for lang, old, new in rows)
    return (
        "<!doctype html><meta charset=utf-8><style>body{margin:8px;font:14px sans-serif}"
        "td,th{padding:4px;vertical-align:top}td div{border:1px solid #999}.none{color:#999}</style>"
        f"<h1>{html.escape(page)}</h1><table><tr><th></th><th>before</th><th>after</th></tr>{body}</table>"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--scale", type=float, default=0.6)
    args = parser.parse_args(argv)
    old, new = shots_of(args.before), shots_of(args.after)
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
        browser = chromium.launch(p)
        page = browser.new_page(viewport={"width": 800, "height": 600})
        for name in sorted(set(old) | set(new)):
            doc = Path(tmp) / f"{name}.html"
            doc.write_text(sheet_html(name, rows_of(old.get(name, {}), new.get(name, {})), args.scale))
            page.goto(doc.as_uri())
            page.screenshot(path=str(args.out / f"{name}.png"), full_page=True)
        browser.close()
    print(f"{len(set(old) | set(new))} sheets in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
