"""tools/screenshots.py makes every image the README and docs/ show, from the running service (issue
14: screenshots that stay true). The notes' before/after pictures (docs/screenshots/issue*/) are a
record of a change, not the product's look: they are not regenerated.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

from tools import screenshots

ROOT = Path(__file__).resolve().parent.parent
IMAGE = re.compile(r"\]\(((?:docs/)?screenshots/[^)\s]+\.png)\)")


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the PNG's header (its IHDR chunk comes first)."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", path
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def shown_in_docs() -> set[str]:
    """The names of the screenshots the README and docs/*.md link to (outside the notes' folders)."""
    names = set()
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for link in IMAGE.findall(doc.read_text("utf-8")):
            path = Path(link)
            if path.parent.name == "screenshots":
                names.add(path.stem)
    return names


def test_the_docs_show_only_screenshots_the_tool_makes() -> None:
    shown = shown_in_docs()
    assert {"opt_in-banner", "dashboard"} <= shown  # the scan finds the links it is about
    assert shown <= set(screenshots.NAMES), shown - set(screenshots.NAMES)


def test_the_tool_makes_every_screenshot_the_docs_show(tmp_path: Path) -> None:
    made = screenshots.run(tmp_path)
    assert sorted(p.name for p in tmp_path.glob("*.png")) == sorted(f"{n}.png" for n in screenshots.NAMES)
    for path in made:
        width, height = png_size(path)
        phone = path.name.startswith("phone-")
        assert (width, height) == ((390, 844) if phone else (1200, 1320) if path.stem == "dashboard" else (1280, 800))
    for name in shown_in_docs():
        assert (ROOT / "docs" / "screenshots" / f"{name}.png").is_file(), name  # and committed
