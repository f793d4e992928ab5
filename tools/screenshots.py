"""The README's and docs' screenshots, regenerated from the service itself (issue 14: screenshots that
stay true). Run it after a change to the banner, the pages or the dashboard, and commit the result:

    .venv/bin/python -m tools.screenshots                 into docs/screenshots/
    .venv/bin/python -m tools.screenshots OUT_DIR [NAME…] into OUT_DIR, only the shots named

It starts the service in this process (the bundled demo site, a private `redis-server`, an admin
key), counts two weeks of sample statistics into it (tools/sample_stats.py) and drives Debian's
Chromium (Playwright's own where that is missing) through the demo page in each regime, on a desktop
(1280×800) and a phone (390×844) screen, and through the dashboard. PNGs are palette-quantized with
`pngquant` when it is installed (a third of the size, no visible loss). tests/test_screenshots.py
runs it into a temporary directory and checks that every image the README and docs/ show is made.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

from tools import chromium
from tools.live import Live, running_service
from tools.sample_stats import count_history, send_traffic

ROOT = Path(__file__).resolve().parent.parent
DOCS_SHOTS = ROOT / "docs" / "screenshots"
ADMIN_KEY = "screenshots-admin-key-" + "k" * 32
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
GPC_SCRIPT = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true});"
READY = "() => window.consentService && window.consentService.state().regime"


def _open_preferences(page: Page) -> None:
    page.evaluate("() => window.consentService.open()")
    page.locator("#consent-service [data-cs=save]").filter(visible=True).first.wait_for()


@dataclass(frozen=True)
class Shot:
    """One picture of the demo page: its region (the demo's `?region=`), GPC, screen, and what is done
    before it is taken."""

    name: str
    region: str
    gpc: bool = False
    viewport: dict[str, int] = field(default_factory=lambda: DESKTOP)
    then: Callable[[Page], None] | None = None


BANNER_SHOTS = (
    Shot("opt_in-banner", "DE"),
    Shot("opt_out-notice", "US-CA"),
    Shot("notice", "JP"),
    Shot("gpc-preferences", "US-CA", gpc=True, then=_open_preferences),
    Shot("gpc-status", "US-CA", gpc=True),
    Shot("phone-opt_in", "DE", viewport=PHONE),
    Shot("phone-opt_out", "US-CA", viewport=PHONE),
    Shot("phone-notice", "JP", viewport=PHONE),
    Shot("phone-gpc", "US-CA", gpc=True, viewport=PHONE),
    Shot("phone-gpc-opt_in", "DE", gpc=True, viewport=PHONE),
    Shot("phone-preferences", "DE", viewport=PHONE, then=_open_preferences),
)
NAMES = (*(s.name for s in BANNER_SHOTS), "dashboard")


def shoot_banner(browser: Browser, live: Live, shot: Shot, out: Path) -> None:
    options: dict[str, object] = {"viewport": shot.viewport}
    if shot.viewport == PHONE:
        options.update(device_scale_factor=1, is_mobile=True, has_touch=True)
    if shot.gpc:
        options["extra_http_headers"] = {"Sec-GPC": "1"}
    context = browser.new_context(**options)  # type: ignore[arg-type]
    try:
        if shot.gpc:
            context.add_init_script(GPC_SCRIPT)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{live.origin}/demo?region={shot.region}")
        page.wait_for_function(READY)
        page.wait_for_load_state("networkidle")
        if shot.then is not None:
            shot.then(page)
        page.screenshot(path=str(out / f"{shot.name}.png"))
    finally:
        context.close()


def shoot_dashboard(browser: Browser, live: Live, out: Path) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 1320})
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{live.origin}/admin/sites/demo/stats")
        page.locator("#key").fill(ADMIN_KEY)
        with page.expect_navigation():
            page.locator("#sign-in").click()
        page.locator("svg.chart").first.wait_for()
        page.screenshot(path=str(out / "dashboard.png"))
    finally:
        context.close()


def quantize(paths: list[Path]) -> None:
    """Palette PNGs (pngquant), where it is installed; the originals otherwise."""
    tool = shutil.which("pngquant")
    if tool is None or not paths:
        return
    subprocess.run([tool, "--force", "--ext", ".png", "--quality", "70-95", *map(str, paths)], check=False)  # noqa: S603


def run(out: Path, names: tuple[str, ...] = NAMES) -> list[Path]:
    """Takes the shots named (all by default) into `out`; returns their paths."""
    unknown = set(names) - set(NAMES)
    if unknown:
        raise SystemExit(f"unknown shots: {', '.join(sorted(unknown))}; known: {', '.join(NAMES)}")
    out.mkdir(parents=True, exist_ok=True)
    with running_service(admin_keys=((ADMIN_KEY, frozenset({"demo"})),)) as live, sync_playwright() as p:
        if "dashboard" in names:
            count_history(live.redis_url)
            send_traffic(live.origin)
        browser = chromium.launch(p)
        try:
            for shot in BANNER_SHOTS:
                if shot.name in names:
                    shoot_banner(browser, live, shot, out)
            if "dashboard" in names:
                shoot_dashboard(browser, live, out)
        finally:
            browser.close()
    made = [out / f"{name}.png" for name in names]
    quantize(made)
    return made


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else DOCS_SHOTS
    made = run(out, tuple(argv[1:]) or NAMES)
    print(f"{len(made)} screenshots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
