"""Browser-test fixtures: a real Redis, the service under uvicorn on 127.0.0.1 (`Service`, which also
starts `consent-service serve` for the tests that need it), a publisher page on `localhost` (another
origin, so CORS, cookies and the X-Consent-Device path are really used), and Debian's Chromium driven
by Playwright.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx2 as httpx
import pytest
import redis
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Route, sync_playwright

from consent_service.cli.redis_runner import EmbeddedRedis
from tools import chromium

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / "e2e" / "node_modules" / "axe-core" / "axe.min.js"
BOUND_S = 20.0  # how long a start may take at most; not a speed claim
CA = {"cloudfront-viewer-country": "US", "cloudfront-viewer-country-region": "CA"}
DE = {"cloudfront-viewer-country": "DE"}
JP = {"cloudfront-viewer-country": "JP"}
SIGNING_KEY = "e2e-signing-key-" + "x" * 32
PSEUDONYM_KEY = "e2e-pseudonym-key-" + "y" * 32
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def e2e_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("e2e-redis"), persistent=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def publisher_port() -> int:
    return free_port()


class Service:
    """The consent service as a child process on 127.0.0.1, on a free port, with the test's Redis and
    keys: by default under uvicorn (the app factory, one worker); with `command="serve"` as
    `consent-service serve` (`python -m consent_service.cli.main serve`), which also starts the partner
    delivery worker. `config` is the site configuration (the bundled demo site without it), `env`
    adds to (or overrides) the child's environment. Its output goes to `service.log` in `tmp`, whose
    end (`tail()`) a failure shows. Starting waits for /readyz and `stop()` for the exit, each for at
    most `within` seconds."""

    def __init__(
        self,
        tmp: Path,
        redis_url: str,
        *,
        command: Literal["uvicorn", "serve"] = "uvicorn",
        config: Path | None = None,
        env: Mapping[str, str] | None = None,
        within: float = BOUND_S,
    ) -> None:
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.within = within
        self.name = "`consent-service serve`" if command == "serve" else "the service under uvicorn"
        self.log = tmp / "service.log"
        child_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CONSENT_")},
            "REDIS_URL": redis_url,
            "CONSENT_SECRET_KEYS": SIGNING_KEY,
            "CONSENT_PSEUDONYM_KEY": PSEUDONYM_KEY,
            "CONSENT_LOG_LEVEL": "warning",
        }
        address = ["--host", "127.0.0.1", "--port", str(self.port)]
        if command == "serve":  # the data directory and configuration as its options
            cmd = [sys.executable, "-m", "consent_service.cli.main", "serve", *address,
                   *(["--config", str(config)] if config else []), "--data-dir", str(tmp / "data")]  # fmt: skip
        else:  # ... and as app_from_env's environment
            cmd = [sys.executable, "-m", "uvicorn", "--factory", "consent_service.web.asgi:app_from_env", *address,
                   "--no-access-log"]  # fmt: skip
            child_env["CONSENT_DATA_DIR"] = str(tmp / "data")
            if config is not None:
                child_env["CONSENT_CONFIG"] = str(config)
        child_env.update(env or {})
        with self.log.open("wb") as out:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                cmd, env=child_env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            wait_for(f"{self.name} to answer /readyz", self._ready, within=within, describe=self.tail)
        except BaseException:
            self.stop()
            raise

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            pytest.fail(f"{self.name} exited with status {self.proc.returncode} before it was ready. {self.tail()}")
        try:
            return httpx.get(f"{self.origin}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def log_lines(self) -> list[str]:
        return self.log.read_text("utf-8", "replace").splitlines()

    def tail(self) -> str:
        return f"The log of {self.name} ends:\n" + "\n".join(self.log_lines()[-40:])

    def stop(self) -> int | None:
        """SIGTERM, as Ctrl-C or an orchestrator would (SIGKILL if it has not ended `within` seconds
        later); returns its exit status."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=self.within)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def wait_for(what: str, probe: Callable[[], T | None], *, within: float, describe: Callable[[], str] = str) -> T:
    """Polls `probe` until it returns something truthy, for at most `within` seconds; fails naming `what`."""
    deadline = time.monotonic() + within
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"waited {within:g} s for {what}, in vain. {describe()}")
        time.sleep(0.1)


def demo_for_publisher(tmp: Path, publisher_port: int) -> Path:
    """The demo site's configuration in `tmp`, its origins those of the publisher's pages."""
    config = tmp / "sites.toml"
    demo = (ROOT / "consent_service" / "config" / "demo_site.toml").read_text()
    publisher_origin = f"http://localhost:{publisher_port}"
    config.write_text(demo.replace('origins = ["http://localhost:8000"', f'origins = ["{publisher_origin}"'))
    return config


# The browser tests are about the page, not about budgets (tests/ covers those): a first GPC sighting is
# written within the decision's budget, and 100 ms is too little on a loaded CI box.
PAGE_TIMEOUTS = {"CONSENT_DECISION_TIMEOUT_MS": "1000"}


@pytest.fixture(scope="session")
def service(
    tmp_path_factory: pytest.TempPathFactory, e2e_redis: EmbeddedRedis, publisher_port: int
) -> Iterator[Service]:
    """The service the publisher's pages embed: the demo site, its origins those of the publisher."""
    tmp = tmp_path_factory.mktemp("e2e-service")
    svc = Service(tmp, e2e_redis.url, config=demo_for_publisher(tmp, publisher_port), env=PAGE_TIMEOUTS)
    yield svc
    svc.stop()


@pytest.fixture(autouse=True)
def _clean_redis(e2e_redis: EmbeddedRedis) -> None:
    with redis.Redis.from_url(e2e_redis.url) as client:
        client.flushall()


class Publisher:
    """A publisher's pages on http://localhost:<port>: the banner embedded from the service's origin."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.origin = f"http://localhost:{port}"
        self.pages: dict[str, tuple[str, dict[str, str]]] = {}
        self.requests: list[str] = []
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def page(self, path: str, html: str, headers: dict[str, str] | None = None) -> str:
        self.pages[path] = (html, headers or {})
        return f"{self.origin}{path}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        publisher = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                publisher.requests.append(self.path)
                found = publisher.pages.get(self.path.split("?")[0])
                if found is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                body, headers = found
                data = body.encode()
                self.send_response(200)
                self.send_header("content-type", _type(self.path))
                self.send_header("content-length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return

        return Handler

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _type(path: str) -> str:
    if path.endswith(".js"):
        return "text/javascript"
    if path.endswith(".css"):
        return "text/css"
    return "text/html; charset=utf-8"


@pytest.fixture(scope="session")
def publisher(publisher_port: int) -> Iterator[Publisher]:
    pub = Publisher(publisher_port)
    yield pub
    pub.stop()


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    browser = chromium.launch(playwright_instance)  # Debian's Chromium, else Playwright's
    yield browser
    browser.close()


ContextFactory = Callable[..., BrowserContext]


@pytest.fixture
def make_context(browser: Browser, request: pytest.FixtureRequest) -> Iterator[ContextFactory]:
    """A fresh browser profile; `region` headers are added to the service's requests the way a CDN would,
    and `gpc=True` makes the browser send Sec-GPC and expose navigator.globalPrivacyControl."""
    made: list[BrowserContext] = []

    def factory(*, region: dict[str, str] | None = None, gpc: bool = False, **options: Any) -> BrowserContext:
        if gpc:
            # Chromium drops `Sec-` headers that request interception adds (route.continue_), so the
            # header goes in as an extra HTTP header (on every request, as a GPC browser sends it).
            options["extra_http_headers"] = {"Sec-GPC": "1", **options.get("extra_http_headers", {})}
        context = browser.new_context(**options)
        if gpc:
            context.add_init_script(
                "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true});"
            )
        extra = region or {}
        if extra:

            def add_headers(route: Route) -> None:
                route.continue_(headers={**route.request.headers, **extra})

            context.route("http://127.0.0.1:*/**", add_headers)
        made.append(context)
        return context

    yield factory
    out = ROOT / "e2e" / "screenshots"
    for context in made:
        for index, page in enumerate(context.pages):
            if not page.is_closed():
                out.mkdir(exist_ok=True)
                page.screenshot(path=str(out / f"{request.node.name}-{index}.png"))
        context.close()


def new_page(context: BrowserContext) -> Page:
    page = context.new_page()
    page.set_default_timeout(5000)  # nothing answered in a few seconds is a failure
    return page
