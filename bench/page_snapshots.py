"""Snapshots of every HTML page (not a test): each page × language saved as HTML with its status and
headers, and optionally a screenshot, so that a change to how pages are built (issue 13: templates)
can be compared before and after.

    .venv/bin/python -m bench.page_snapshots OUT_DIR [--shots SHOT_DIR --shot-langs en,de --suffix before]
    .venv/bin/python -m bench.page_snapshots OUT_DIR --shots SHOT_DIR --suffix before --saved BEFORE_DIR
    .venv/bin/python -m bench.page_snapshots --compare BEFORE_DIR AFTER_DIR

The service runs under uvicorn in this process (a private Redis, the bundled demo site), so the pages
go through the whole app, headers included. The dashboard is rendered twice: served (an empty range,
through a real session) and from the dashboard tests' sample report (`render_dashboard`), which a
screenshot shows served by the service's origin (so its stylesheet loads as in a browser). The 503
on the opt-out page is provoked by a patched use case. Pages reached by posting a form (the opt-out
page's 503 and forged-form answers) are shot from their saved HTML served at the service's origin;
`--saved` takes that HTML from an older snapshot folder, for "before" shots of them. Form tokens
differ on every run: they are replaced by placeholders before saving. `--compare` normalizes whitespace and the two
spellings of the same character references (`&#x27;`/`&#39;`, `&quot;`/`&#34;`) and prints what
differs, page by page: the markup (a tag a line), and the text as a reader sees it (a line per block
element, so that a space lost or gained between two inline elements shows).
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx2 as httpx
from playwright.sync_api import Route, sync_playwright

from consent_service.consent.service import ConsentService
from consent_service.core.errors import unavailable
from consent_service.web.admin.dashboard import render_dashboard
from consent_service.web.admin.words import words_for
from tests.test_dashboard import known_report
from tools import chromium
from tools.live import running_service

LANGS = ("en", "nl", "sv", "de", "fr", "es")
ADMIN_KEY = "snapshot-admin-key-" + "a" * 32
OTHER_KEY = "snapshot-other-key-" + "o" * 32  # may see a site that is not configured: 403 on demo
CA = {"CloudFront-Viewer-Country": "US", "CloudFront-Viewer-Country-Region": "CA"}
KEPT_HEADERS = ("content-type", "content-security-policy", "cache-control", "x-content-type-options",
                "referrer-policy", "retry-after")  # fmt: skip
FAIL = {"on": False}  # the 503 switch for the opt-out's write


def _patch_consent() -> None:
    original = ConsentService.consent

    async def consent(self: ConsentService, *args: Any, **kwargs: Any) -> Any:
        if FAIL["on"]:
            raise unavailable()
        return await original(self, *args, **kwargs)

    ConsentService.consent = consent  # type: ignore[method-assign]


def _csrf(text: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', text)
    assert found, text
    return found.group(1)


class Pages:
    """Fetches every page; `saved` maps a page's name to (status, kept headers, html)."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.saved: dict[str, tuple[int, dict[str, str], str]] = {}
        self.urls: dict[str, str] = {}  # a page's name → the URL a browser may load for a screenshot

    def client(self, **headers: str) -> httpx.Client:
        return httpx.Client(base_url=self.origin, headers={"origin": self.origin, **headers}, timeout=10)

    def keep(self, name: str, r: httpx.Response, url: str | None = None) -> None:
        headers = {k: r.headers[k] for k in KEPT_HEADERS if k in r.headers}
        self.saved[name] = (r.status_code, headers, r.text)
        if url is not None:
            self.urls[name] = url

    def privacy(self) -> None:
        for lang in LANGS:
            q = f"?lang={lang}"
            with self.client() as c:
                self.keep(f"optout-{lang}", c.get(f"/privacy/demo/opt-out{q}"), f"/privacy/demo/opt-out{q}")
                self.keep(f"optout-gpc-{lang}", c.get(f"/privacy/demo/opt-out{q}", headers={**CA, "Sec-GPC": "1"}))
                c.cookies.clear()  # GPC opted that device out: its page is done, with no form to post
                self.keep(f"optout-forged-{lang}", c.post("/privacy/demo/opt-out", data={"csrf": "x", "lang": lang}))
                FAIL["on"] = True
                try:
                    token = _csrf(c.get(f"/privacy/demo/opt-out{q}").text)
                    r = c.post("/privacy/demo/opt-out", data={"csrf": token, "lang": lang})
                finally:
                    FAIL["on"] = False
                self.keep(f"optout-503-{lang}", r)
                self.keep(f"data-nodevice-{lang}", c.get(f"/privacy/demo/data{q}"), f"/privacy/demo/data{q}")
                token = _csrf(c.get(f"/privacy/demo/opt-out{q}").text)
                self.keep(f"optout-done-{lang}", c.post("/privacy/demo/opt-out", data={"csrf": token, "lang": lang}))
                self.keep(f"data-device-{lang}", c.get(f"/privacy/demo/data{q}"))
                self.keep(f"data-forged-{lang}", c.post("/privacy/demo/data", data={"csrf": "x", "lang": lang}))
                token = _csrf(c.get(f"/privacy/demo/data{q}").text)
                self.keep(f"data-deleted-{lang}", c.post("/privacy/demo/data", data={"csrf": token, "lang": lang}))
                self.keep(f"notice-{lang}", c.get(f"/privacy/demo/notice{q}"), f"/privacy/demo/notice{q}")
                self.keep(f"notice-404-{lang}", c.get(f"/privacy/nope/notice{q}"), f"/privacy/nope/notice{q}")
                self.keep(f"data-404-{lang}", c.get(f"/privacy/nope/data{q}"))
                self.keep(f"optout-404-{lang}", c.get(f"/privacy/nope/opt-out{q}"), f"/privacy/nope/opt-out{q}")

    def admin(self) -> None:
        with self.client() as c:
            token = _csrf(c.get("/admin/login").text)
            self.keep("admin-login-wrong", c.post("/admin/login", data={"csrf": token, "key": "w" * 40}))
            token = _csrf(c.get("/admin/login").text)
            c.post("/admin/login", data={"csrf": token, "key": ADMIN_KEY})
            stats = "/admin/sites/demo/stats?from=2026-01-01&to=2026-01-07"
            self.keep("admin-dashboard-empty", c.get(stats))
            self.keep("admin-dashboard-badrange", c.get("/admin/sites/demo/stats?from=2026-01-09&to=2026-01-01"))
            self.keep("admin-404", c.get("/admin/sites/nope/stats"))
            self.keep("admin-download-404", c.get("/admin/sites/demo/stats.xml"))
            self.keep("admin-download-400", c.get("/admin/sites/demo/stats.csv?from=x"))
            self.keep("admin-not-signed-out", c.post("/admin/logout", data={"csrf": "x"}))
        with self.client() as c:
            token = _csrf(c.get("/admin/login").text)
            c.post("/admin/login", data={"csrf": token, "key": OTHER_KEY})
            self.keep("admin-403", c.get("/admin/sites/demo/stats"))
        for lang in LANGS:  # English unsuffixed, as before the admin pages had languages (issue 13)
            name = "" if lang == "en" else f"-{lang}"
            with self.client() as c:
                self.keep(f"admin-login{name}", c.get(f"/admin/login?lang={lang}"), f"/admin/login?lang={lang}")
            sample = render_dashboard(known_report(), logout_csrf="t", sites=["demo", "shop"], words=words_for(lang))
            self.saved[f"admin-dashboard-sample{name}"] = (200, {}, sample)
            self.urls[f"admin-dashboard-sample{name}"] = f"/snapshot/admin-dashboard-sample{name}"

    def demo(self) -> None:
        with self.client() as c:
            self.keep("demo", c.get("/demo"), "/demo")
            self.keep("demo-de", c.get("/demo?region=DE"))


def _placeholders(text: str) -> str:
    text = re.sub(r'name="csrf" value="[^"]+"', 'name="csrf" value="CSRF"', text)
    return re.sub(r"/v1/banner\.[0-9a-f]+\.js", "/v1/banner.DIGEST.js", text)


def save(out: Path, pages: Pages) -> None:
    out.mkdir(parents=True, exist_ok=True)
    index = {}
    for name, (status, headers, text) in sorted(pages.saved.items()):
        (out / f"{name}.html").write_text(_placeholders(text), "utf-8")
        index[name] = {"status": status, "headers": headers}
    (out / "index.json").write_text(json.dumps(index, indent=1, sort_keys=True), "utf-8")


# Pages a browser reaches by posting a form: shot from their saved HTML, served at the service's
# origin (so that the stylesheet loads as it would), like the dashboard's sample report.
POSTED = ("optout-503", "optout-forged")


def shoot(pages: Pages, shots: Path, langs: tuple[str, ...], suffix: str, saved: Path | None = None) -> None:
    """Screenshots (1280×800, the first screen) of every page with a URL, and of the posted ones;
    with `saved`, the posted pages' HTML comes from that snapshot folder (one made by older code)."""
    shots.mkdir(parents=True, exist_ok=True)
    urls, bodies = dict(pages.urls), {}
    for name in pages.saved:
        if name.startswith("admin-dashboard-sample"):
            bodies[name] = pages.saved[name][2]
        elif name.rsplit("-", 1)[0] in POSTED:
            bodies[name] = (saved / f"{name}.html").read_text("utf-8") if saved else pages.saved[name][2]
            urls[name] = f"/snapshot/{name}"

    def fulfill(route: Route) -> None:
        body = bodies[route.request.url.rsplit("/", 1)[-1]]
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=body)

    with sync_playwright() as p:
        browser = chromium.launch(p)
        context = browser.new_context(viewport={"width": 1280, "height": 800}, extra_http_headers=CA)
        context.route(f"{pages.origin}/snapshot/*", fulfill)
        page = context.new_page()
        for name, url in sorted(urls.items()):
            lang = name.rsplit("-", 1)[-1]
            if lang in LANGS and lang not in langs:
                continue
            page.goto(pages.origin + url)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(shots / f"{name}-{suffix}.png"))
        browser.close()


# ---- comparing two snapshot folders -------------------------------------------------------------------


def normalized(text: str) -> list[str]:
    """Tags on lines of their own and runs of whitespace as one space, one spelling per reference."""
    text = text.replace("&#x27;", "&#39;").replace("&quot;", "&#34;")
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s*(<[^>]+>)\s*", r"\n\1\n", text)
    return [line.strip() for line in text.split("\n") if line.strip()]


INLINE = {"a", "abbr", "b", "em", "i", "input", "label", "small", "span", "strong", "time", "button"}


class _Text(HTMLParser):
    """A page's text as a reader sees it: a line break at every block element, and inside a line the
    whitespace of the source collapsed, kept where it separates words (around inline elements too)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in INLINE:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        self.handle_starttag(tag, [])

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def lines(self) -> list[str]:
        text = "".join(self.parts)
        return [line for raw in text.split("\n") if (line := re.sub(r"\s+", " ", raw).strip())]


def text_lines(page: str) -> list[str]:
    parser = _Text()
    parser.feed(page)
    return parser.lines()


def compare(before: Path, after: Path) -> int:
    old, new = (json.loads((d / "index.json").read_text("utf-8")) for d in (before, after))
    differing = 0
    for name in sorted(set(old) | set(new)):
        if name not in old or name not in new:
            print(f"== {name}: only {'after' if name in new else 'before'}")
            differing += 1
            continue
        lines = list(
            difflib.unified_diff(
                normalized((before / f"{name}.html").read_text("utf-8")),
                normalized((after / f"{name}.html").read_text("utf-8")),
                "before",
                "after",
                n=1,
                lineterm="",
            )
        )
        if old[name] != new[name]:
            lines.insert(0, f"status/headers: {old[name]} -> {new[name]}")
        old_text, new_text = (text_lines((d / f"{name}.html").read_text("utf-8")) for d in (before, after))
        if old_text != new_text:
            lines += ["text as read:", *difflib.unified_diff(old_text, new_text, "before", "after", n=0, lineterm="")]
        if lines:
            differing += 1
            print(f"== {name}")
            print("\n".join(lines[:80]))
    print(f"{differing} of {len(set(old) | set(new))} pages differ")
    return differing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", nargs="?", type=Path)
    parser.add_argument("--shots", type=Path)
    parser.add_argument("--shot-langs", default="en,de")
    parser.add_argument("--suffix", default="now")
    parser.add_argument("--saved", type=Path, help="a snapshot folder: the posted pages' HTML for the shots")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args(argv)
    if args.compare:
        return 1 if compare(*args.compare) else 0
    if args.out is None:
        parser.error("OUT is required")
    _patch_consent()
    keys = ((ADMIN_KEY, frozenset({"*"})), (OTHER_KEY, frozenset({"elsewhere"})))
    with running_service(admin_keys=keys) as live:
        pages = Pages(live.origin)
        pages.privacy()
        pages.admin()
        pages.demo()
        save(args.out, pages)
        if args.shots:
            shoot(pages, args.shots, tuple(args.shot_langs.split(",")), args.suffix, args.saved)
    print(f"{len(pages.saved)} pages saved in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
