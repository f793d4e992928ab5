"""Chromium for Playwright, as every browser run of this project launches it (the browser tests, the
docs' screenshots, the page snapshots): Debian's `chromium` where installed (Playwright's own download
does not work here), Playwright's browser otherwise; headless, with nothing reaching out to the network
on its own (no component updates, no sync, no background fetches)."""

from __future__ import annotations

import shutil

from playwright.sync_api import Browser, Playwright

FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=shutil.which("chromium"), args=FLAGS)
