"""Misconfiguration speaks up on the server (issue 14): a page refused for its origin (403
`forbidden_origin`) or for naming a site that is not configured (404 `unknown_site`), or answered
without CORS, is logged once per origin and site with the fix, rate-limited, with bounded memory, and
without tokens or request data."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from consent_service.config.selection import sites_for
from consent_service.config.settings import Settings
from consent_service.obs.once import OncePer
from tests.conftest import CA, AppFactory
from tests.serving import BOUND_S, Served

PAGE = "http://localhost:5500"
OTHER = "http://localhost:5501"
SHOP = """
[[sites]]
id = "shop"
origins = ["https://shop.example"]
[[sites.purposes]]
id = "necessary"
kind = "necessary"
text.en.label = "Necessary"
"""


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_once_per_key_and_period() -> None:
    clock = Clock()
    once = OncePer(every_s=600, max_keys=10, per_minute=100, clock=clock)
    assert once.due("a") == 0
    assert once.due("a") is None and once.due("b") == 0
    clock.now += 599
    assert once.due("a") is None
    clock.now += 1
    assert once.due("a") == 0  # ten minutes later: said again
    assert len(once) == 1  # "b" was forgotten when its period ran out


def test_memory_is_bounded_whatever_is_sent() -> None:
    clock = Clock()
    once = OncePer(every_s=600, max_keys=10, per_minute=1_000_000, clock=clock)
    for i in range(5000):
        once.due(("origin", f"http://h{i}.example", None))
        assert len(once) <= 10
    assert once.due(("origin", "http://h4999.example", None)) is None  # the newest are remembered


def test_a_flood_is_capped_per_minute_and_the_left_out_are_counted() -> None:
    clock = Clock()
    once = OncePer(every_s=600, max_keys=100, per_minute=3, clock=clock)
    assert [once.due(i) for i in range(5)] == [0, 0, 0, None, None]
    clock.now += 60
    assert once.due(3) == 2  # said with the next warning written: two were left out
    assert once.due(4) == 0


@pytest.fixture
def warnings() -> Iterator[list[logging.LogRecord]]:
    """The misconfiguration warnings, read from their logger (the service's loggers do not propagate)."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("consent_service.misconfig")
    handler, level = Keep(logging.WARNING), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    yield records
    logger.removeHandler(handler)
    logger.setLevel(level)


def _messages(records: list[logging.LogRecord]) -> list[str]:
    return [r.getMessage() for r in records]


def test_a_foreign_origin_is_logged_once_per_origin_and_site_with_the_fix(
    make_client: AppFactory, warnings: list[logging.LogRecord], tmp_path: Path
) -> None:
    path = tmp_path / "site.toml"
    path.write_text(SHOP)
    client = make_client(sites_for(Settings(config_path=path)))
    body = {"site": "shop", "action": "accept_all"}
    for _ in range(3):
        r = client.post("/v1/consent", json=body, headers={"Origin": PAGE})
        assert r.status_code == 403 and r.json()["error"] == "forbidden_origin"
    assert _messages(warnings) == [
        f"origin {PAGE} is not in the origins of site 'shop' (403 forbidden_origin): add it to the origins of "
        f"site 'shop' in {path} and restart"
    ]
    assert warnings[0].levelname == "WARNING" and warnings[0].__dict__["site"] == "shop"
    assert warnings[0].__dict__["kind"] == "forbidden_origin"
    # Another origin is another pair; a preflight names the site from its path.
    preflight = {"Origin": OTHER, "Access-Control-Request-Method": "GET"}
    assert client.options("/v1/sites/shop/experience", headers=preflight).status_code == 403
    assert client.options("/v1/consent", headers={**preflight, "Origin": "http://third.example"}).status_code == 403
    assert _messages(warnings)[1:] == [
        f"origin {OTHER} is not in the origins of site 'shop' (403 forbidden_origin): add it to the origins of "
        f"site 'shop' in {path} and restart",
        "origin http://third.example is not in the origins of any site (403 forbidden_origin): add it to the "
        f"origins of site 'shop' in {path} and restart",
    ]


def test_a_get_answered_without_cors_is_logged_too(make_client: AppFactory, warnings: list[logging.LogRecord]) -> None:
    client = make_client(sites_for(Settings(site_id="mysite", site_origins=(PAGE,))))
    ok = client.get("/v1/sites/mysite/experience", headers={"Origin": PAGE})
    assert ok.headers["access-control-allow-origin"] == PAGE and warnings == []
    hidden = client.get("/v1/decision", params={"site": "mysite", "purpose": "advertising"}, headers={"Origin": OTHER})
    assert hidden.status_code == 200 and "access-control-allow-origin" not in hidden.headers
    assert _messages(warnings) == [
        f"origin {OTHER} is not in the origins of site 'mysite' (answered without CORS: the browser hides the "
        f"answer from the page): add --origin {OTHER} (CONSENT_ORIGINS) and restart"
    ]


def test_the_demo_site_points_to_a_site_of_ones_own(client: object, warnings: list[logging.LogRecord]) -> None:
    r = client.post("/v1/opt-out", json={"site": "demo"}, headers={"Origin": PAGE})  # type: ignore[attr-defined]
    assert r.status_code == 403
    (message,) = _messages(warnings)
    assert message.startswith(f"origin {PAGE} is not in the origins of site 'demo' (403 forbidden_origin): ")
    assert f"serve a site of your own for this page: --site ID --origin {PAGE} (or --config FILE)" in message


def test_an_unknown_site_is_logged_with_the_sites_served(
    make_client: AppFactory, warnings: list[logging.LogRecord]
) -> None:
    client = make_client()  # the bundled demo alone
    for _ in range(2):
        r = client.get("/v1/sites/mysite/experience", headers={"Origin": PAGE})
        assert r.status_code == 404 and r.json()["error"] == "unknown_site"
    assert client.get("/v1/decision", params={"site": "mysite", "purpose": "x"}).status_code == 404
    assert _messages(warnings) == [
        f"site 'mysite' is not configured (from a page of origin {PAGE}); sites here: demo: check "
        f'data-site="…" on the page, or serve that site: --site mysite --origin {PAGE}',
        "site 'mysite' is not configured; sites here: demo: check data-site=\"…\" on the page, or serve that "
        "site: --site mysite --origin ORIGIN",
    ]
    assert warnings[0].__dict__["kind"] == "unknown_site"


def test_nothing_hostile_or_personal_is_written(make_client: AppFactory, warnings: list[logging.LogRecord]) -> None:
    client = make_client()
    token = client.get(
        "/v1/decision", params={"site": "demo", "purpose": "advertising"}, headers={**CA, "Sec-GPC": "1"}
    )
    device = token.json()["device"]
    hostile = "http://x.example/\u202e<script>alert(1)</script>"
    headers = {"Origin": hostile.encode(), "X-Consent-Device": device, "X-Forwarded-For": "203.0.113.9"}
    assert client.post("/v1/opt-out", json={"site": "demo"}, headers=headers).status_code == 403
    assert client.get("/v1/sites/Bad%20Site\u202e/experience", headers=headers).status_code == 404
    logged = " ".join(_messages(warnings))
    assert len(warnings) == 2 and "malformed" in logged and "a site id that is not valid" in logged
    for secret in (device, "<script>", "\u202e", "203.0.113.9", "Bad"):
        assert secret not in logged


@pytest.fixture
def env() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CONSENT_") and k != "REDIS_URL"}
    return {**clean, "CONSENT_LOG_LEVEL": "info"}


def test_a_running_service_logs_each_refused_pair_once(tmp_path: Path, env: dict[str, str]) -> None:
    served = Served(tmp_path, env, "--site", "mysite", "--origin", PAGE, "--log-format", "json")
    try:
        with httpx.Client(base_url=served.base, timeout=BOUND_S) as c:
            device = c.post("/v1/opt-out", json={"site": "mysite"}, headers={"Origin": PAGE}).json()["device"]
            for _ in range(3):
                r = c.post(
                    "/v1/opt-out", json={"site": "mysite"}, headers={"Origin": OTHER, "X-Consent-Device": device}
                )
                assert r.status_code == 403
            assert c.get("/v1/sites/demo/experience", headers={"Origin": PAGE}).status_code == 404
    finally:
        output = served.stop()
    entries = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    warned = [e for e in entries if e["logger"] == "consent_service.misconfig"]
    assert [(e["level"], e["kind"], e.get("site")) for e in warned] == [
        ("warning", "forbidden_origin", "mysite"),
        ("warning", "unknown_site", "demo"),
    ]
    assert warned[0]["message"] == (
        f"origin {OTHER} is not in the origins of site 'mysite' (403 forbidden_origin): add --origin {OTHER} "
        "(CONSENT_ORIGINS) and restart"
    )
    assert warned[1]["message"].startswith(f"site 'demo' is not configured (from a page of origin {PAGE})")
    assert device not in output
