"""Loading the Global Vendor List (tcf/gvl_source.py): a loopback server stands in for IAB's
(tests/gvl_server.py), real Redis from the fixtures shares the copy, a temporary directory holds the
disk copy. Time is an injected clock and fetches are counted at the server, so nothing depends on how
fast this machine is; the only real waits (a hang beyond the timeout, the app's background task) are
bounded generously."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from consent_service.config.gvl_files import bundled_list
from consent_service.store import Lifetimes, Store
from consent_service.store.gvl_cache import GvlCache
from consent_service.tcf.gvl_fetch import max_age
from consent_service.tcf.gvl_resource import FetchPolicy
from consent_service.tcf.gvl_source import GvlSource
from tests.conftest import AppFactory
from tests.gvl_server import Answer, GvlServer

LIST = "/v3/vendor-list.json"
POLICY = FetchPolicy(timeout_s=5.0, min_age_s=60, max_age_s=86_400, default_age_s=600, backoff_s=30, backoff_cap_s=120)
T0 = 1_800_000_000.0


def gvl_json(version: int, policy: int = 5) -> bytes:
    raw = json.loads(bundled_list())
    raw["vendorListVersion"], raw["tcfPolicyVersion"] = version, policy
    return json.dumps(raw).encode()


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def server() -> Iterator[GvlServer]:
    found = GvlServer()
    yield found
    found.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())  # type: ignore[arg-type]


def source(server: GvlServer, clock: Clock, directory: Path | None = None, **options: object) -> GvlSource:
    settings: dict[str, object] = {"policy": POLICY, "clock": clock, "directory": directory, **options}
    return GvlSource(server.url(LIST), **settings)  # type: ignore[arg-type]


# ---- no URL: the bundled list, no network --------------------------------------------------------


def test_without_a_url_the_bundled_list_serves_and_nothing_is_fetched(tmp_path: Path) -> None:
    async def scenario() -> None:
        gvl = GvlSource(languages=("en", "de", "fr", "nl"), directory=tmp_path / "gvl")
        await gvl.start()
        await gvl.refresh()
        assert gvl.current().vendor_list_version == 1 and gvl.status().source == "bundled"
        assert gvl.texts("de").purposes[1].name == "Informationen auf einem Gerät speichern und/oder abrufen"
        assert gvl.texts("FR").language == "fr"
        assert gvl.texts("nl") is gvl.current() and gvl.texts("en") is gvl.current()  # no demo translation
        await gvl.stop()

    run(scenario)
    assert not (tmp_path / "gvl").exists()


# ---- max-age ----------------------------------------------------------------------------------------


def test_max_age_is_honoured_counting_requests(server: GvlServer, clock: Clock, tmp_path: Path) -> None:
    server.set(LIST, Answer(gvl_json(7), max_age=3600, etag='"v7"'))

    async def scenario() -> None:
        gvl = source(server, clock, tmp_path)
        await gvl.refresh()
        assert (server.count(LIST), gvl.current().vendor_list_version, gvl.status().source) == (1, 7, "fetched")
        clock.now = T0 + 3599
        await gvl.refresh()
        assert server.count(LIST) == 1  # still fresh
        clock.now = T0 + 3601
        await gvl.refresh()  # expired: asked again, with the ETag; 304 keeps the copy another max-age
        assert server.count(LIST) == 2 and server.seen[-1].if_none_match == '"v7"'
        assert gvl.current().vendor_list_version == 7
        clock.now = T0 + 3601 + 3599
        await gvl.refresh()
        assert server.count(LIST) == 2
        server.set(LIST, Answer(gvl_json(8), max_age=3600, etag='"v8"'))
        clock.now = T0 + 3601 + 3601
        await gvl.refresh()
        assert (server.count(LIST), gvl.current().vendor_list_version) == (3, 8)
        await gvl.stop()

    run(scenario)
    assert "gzip" in (server.seen[0].accept_encoding or "")  # IAB asks for a compressed transfer


def test_a_tiny_max_age_is_floored_and_a_missing_one_defaulted(server: GvlServer, clock: Clock) -> None:
    server.set(LIST, Answer(gvl_json(7), max_age=0))

    async def scenario() -> None:
        gvl = source(server, clock)
        await gvl.refresh()
        clock.now = T0 + POLICY.min_age_s - 1
        await gvl.refresh()
        assert server.count(LIST) == 1  # max-age 0 would ask on every round: the floor holds it
        server.set(LIST, Answer(gvl_json(8), max_age=None))
        clock.now = T0 + POLICY.min_age_s + 1
        await gvl.refresh()
        assert (server.count(LIST), gvl.current().vendor_list_version) == (2, 8)
        clock.now += POLICY.default_age_s - 1
        await gvl.refresh()
        assert server.count(LIST) == 2  # no max-age: the default age
        await gvl.stop()

    run(scenario)


@pytest.mark.parametrize(
    ("lines", "age", "expected"),
    [
        (["public, max-age=600"], None, 600.0),
        (["max-age=600"], "100", 500.0),  # what a cache in front already used up (Age)
        (["max-age=600"], "900", 0.0),
        (['max-age="60"'], None, 60.0),
        (["no-cache"], None, 0.0),
        (["public", "max-age=60, no-store"], None, 0.0),
        ([], None, None),
        (["max-age=ten"], None, None),
        (["max-age=٦٠"], None, None),  # digits of another script are no number
    ],
)
def test_cache_control_is_read_like_a_browser(lines: list[str], age: str | None, expected: float | None) -> None:
    assert max_age(lines, age) == expected


# ---- failures keep the last good copy -----------------------------------------------------------------

FAILURES = {
    "server error": Answer(b"oops", status=500),
    "not found": Answer(b"gone", status=404),
    "redirect": Answer(b"", status=302),
    "not json": Answer(b"<html>maintenance</html>"),
    "json, not a list": Answer(json.dumps({"gvlSpecificationVersion": 2, "vendors": {}}).encode()),
    "not utf-8": Answer(gvl_json(9).replace(b'"Xandr, Inc."', '"Xandr, Ïnc."'.encode("latin-1"))),
    "hang": Answer(mode="hang"),
    "oversized": Answer(b" " * 300_000 + gvl_json(9)),
    "oversized, undeclared": Answer(b" " * 300_000 + gvl_json(9), mode="undeclared"),
}


@pytest.mark.parametrize("failure", list(FAILURES))
def test_a_failed_fetch_keeps_the_last_good_copy_and_backs_off(
    failure: str, server: GvlServer, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    server.set(LIST, Answer(gvl_json(7), max_age=600))

    async def scenario() -> None:
        gvl = source(server, clock, max_bytes=200_000)  # "hang" waits the timeout out, the only test that does
        await gvl.refresh()
        assert gvl.current().vendor_list_version == 7
        server.set(LIST, FAILURES[failure])
        clock.now = T0 + 601
        await gvl.refresh()
        assert (server.count(LIST), gvl.current().vendor_list_version) == (2, 7)
        assert gvl.status().source == "fetched" and gvl.status().error
        clock.now += POLICY.backoff_s - 1
        await gvl.refresh()
        assert server.count(LIST) == 2  # backing off
        server.set(LIST, Answer(gvl_json(8), max_age=600))
        clock.now += 2
        await gvl.refresh()
        assert (server.count(LIST), gvl.current().vendor_list_version, gvl.status().error) == (3, 8, None)
        await gvl.stop()

    with caplog.at_level(logging.INFO, logger="consent_service.tcf.gvl"):
        run(scenario)
    messages = [r.getMessage() for r in caplog.records]
    assert any("fetch from 127.0.0.1" in m and "failed" in m and "kept the copy" in m for m in messages)
    assert any("version 8, TCF policy 5, from fetched" in m for m in messages)


def test_failures_in_a_row_back_off_longer(server: GvlServer, clock: Clock) -> None:
    server.set(LIST, Answer(b"oops", status=503))

    async def scenario() -> None:
        gvl = source(server, clock)
        asked_at: list[float] = []
        while len(asked_at) < 5:  # one clock second at a time
            before = server.count(LIST)
            await gvl.refresh()
            if server.count(LIST) > before:
                asked_at.append(clock.now)
            clock.now += 1
        assert [b - a for a, b in itertools.pairwise(asked_at)] == [30, 60, 120, 120]  # doubled, capped
        assert gvl.current().vendor_list_version == 1 and gvl.status().source == "bundled"
        await gvl.stop()

    run(scenario)


# ---- disk and Redis -----------------------------------------------------------------------------------


def test_a_restart_finds_the_disk_copy(server: GvlServer, clock: Clock, tmp_path: Path) -> None:
    server.set(LIST, Answer(gvl_json(7), max_age=3600))

    async def scenario() -> None:
        first = source(server, clock, tmp_path / "gvl")
        await first.refresh()
        await first.stop()
        server.set(LIST, Answer(b"down", status=503))
        again = source(server, clock, tmp_path / "gvl")
        assert again.current().vendor_list_version == 1  # before its first round: the bundled list
        await again.refresh()
        assert (again.current().vendor_list_version, again.status().source, server.count(LIST)) == (7, "disk", 1)
        clock.now = T0 + 3601
        await again.refresh()  # expired on disk: asked again, failed, the disk copy stays
        assert (again.current().vendor_list_version, server.count(LIST)) == (7, 2)
        await again.stop()

    run(scenario)
    bodies = [p for p in (tmp_path / "gvl").glob("vendor-list.*.json") if not p.name.endswith(".meta.json")]
    assert [p.read_bytes() for p in bodies] == [gvl_json(7)]  # as served, for an operator to read
    assert not list((tmp_path / "gvl").glob(".*.tmp"))


def test_an_unreadable_disk_copy_is_skipped(server: GvlServer, clock: Clock, tmp_path: Path) -> None:
    server.set(LIST, Answer(gvl_json(7), max_age=3600))

    async def scenario() -> None:
        first = source(server, clock, tmp_path)
        await first.refresh()
        await first.stop()
        for path in tmp_path.glob("vendor-list.*.json"):
            path.write_bytes(b"{truncated")
        again = source(server, clock, tmp_path)
        await again.refresh()
        assert (again.current().vendor_list_version, server.count(LIST)) == (7, 2)  # fetched instead
        await again.stop()

    run(scenario)


def test_a_second_source_with_the_same_redis_takes_the_shared_copy(
    server: GvlServer, clock: Clock, tmp_path: Path, redis_url: str
) -> None:
    server.set(LIST, Answer(gvl_json(7), max_age=3600))

    async def scenario() -> None:
        store = Store.from_url(redis_url, Lifetimes(record_ttl_ms=1, retention_ms=1), timeout_s=2.0)
        try:
            await shared(GvlCache.of(store, timeout_s=2.0))
        finally:
            await store.close()

    async def shared(cache: GvlCache) -> None:
        one, two = (source(server, clock, tmp_path / name, cache=cache) for name in ("one", "two"))
        await one.refresh()
        await two.refresh()
        assert server.count(LIST) == 1  # the second took the first one's copy
        assert (two.current().vendor_list_version, two.status().source) == (7, "redis")
        server.set(LIST, Answer(gvl_json(8), max_age=3600))
        clock.now = T0 + 3601
        await asyncio.gather(one.refresh(), two.refresh())  # both expired at once: one fetches
        await asyncio.gather(one.refresh(), two.refresh())  # and the other takes its copy
        assert server.count(LIST) == 2
        assert {one.current().vendor_list_version, two.current().vendor_list_version} == {8}
        server.set(LIST, Answer(b"down", status=503))
        clock.now = T0 + 2 * 3601
        for _ in range(3):
            await asyncio.gather(one.refresh(), two.refresh())
        assert server.count(LIST) == 3  # a failure holds the others off too (one backoff for all)
        for gvl in (one, two):
            await gvl.stop()

    run(scenario)


# ---- what the list says ------------------------------------------------------------------------------


def test_a_new_policy_version_is_taken(server: GvlServer, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    server.set(LIST, Answer(gvl_json(7, policy=5), max_age=600))

    async def scenario() -> None:
        gvl = source(server, clock)
        await gvl.refresh()
        server.set(LIST, Answer(gvl_json(8, policy=6), max_age=600))
        clock.now = T0 + 601
        await gvl.refresh()
        assert (gvl.current().vendor_list_version, gvl.current().tcf_policy_version) == (8, 6)
        assert gvl.status().policy_version == 6
        await gvl.stop()

    with caplog.at_level(logging.WARNING, logger="consent_service.tcf.gvl"):
        run(scenario)
    assert any("TCF policy version 6 (was 5)" in r.getMessage() for r in caplog.records)


def test_translations_are_loaded_and_missing_ones_fall_back_to_english(server: GvlServer, clock: Clock) -> None:
    german = json.loads(Path(__file__).parent.parent.joinpath(_DEMO, "purposes-de.json").read_text("utf-8"))
    german["purposes"]["1"]["name"] = "Offizielle Übersetzung"
    server.set(LIST, Answer(gvl_json(7), max_age=600))
    server.set("/v3/purposes-de.json", Answer(json.dumps(german).encode(), max_age=600))
    server.set("/v3/purposes-es.json", Answer(b"{}", max_age=600))  # JSON, but no texts: refused

    async def scenario() -> None:
        gvl = source(
            server, clock, translations_url=server.url("/v3/purposes-{lang}.json"), languages=("en", "de", "fr", "es")
        )
        assert gvl.texts("de") is gvl.current()  # English until the official German texts arrive
        await gvl.refresh()
        assert gvl.texts("de").purposes[1].name == "Offizielle Übersetzung"
        assert gvl.texts("de").vendor_list_version == 7 and gvl.texts("de") is gvl.texts("DE")
        # French is missing (404) and Spanish unusable: English, and never the project's demo texts
        for lang in ("fr", "es", "it"):
            assert gvl.texts(lang).purposes[1].name == "Store and/or access information on a device"
        assert {s.path for s in server.seen} == {LIST, *(f"/v3/purposes-{x}.json" for x in ("de", "fr", "es"))}
        await gvl.stop()

    run(scenario)


_DEMO = "consent_service/config/gvl/demo-translations"


# ---- start-up never waits -------------------------------------------------------------------------------


def test_start_returns_at_once_when_the_server_never_answers(server: GvlServer) -> None:
    server.set(LIST, Answer(mode="hang"))

    async def scenario() -> None:
        gvl = GvlSource(server.url(LIST), policy=FetchPolicy(timeout_s=600))
        await gvl.start()  # the fetch runs in the background
        assert gvl.current().vendor_list_version == 1
        for _ in range(600):  # the request has reached the server (bounded: 60 s)
            if server.count(LIST):
                break
            await asyncio.sleep(0.1)
        assert server.count(LIST) == 1 and gvl.current().vendor_list_version == 1
        await asyncio.wait_for(gvl.stop(), timeout=30)  # stopping does not wait for the answer either

    run(scenario)


@pytest.mark.standalone_only
def test_the_app_starts_on_the_bundled_list_and_takes_the_fetched_one(
    server: GvlServer, make_client: AppFactory
) -> None:
    server.set("/hangs.json", Answer(mode="hang"))
    waiting = make_client(gvl_url=server.url("/hangs.json"))  # the lifespan ran: it did not wait for the list
    assert waiting.get("/readyz").json()["gvl"] == {"version": 1, "policy_version": 5, "source": "bundled"}
    assert waiting.app.state.consent.gvl.current().vendor_list_version == 1  # what the lead's code calls
    server.set(LIST, Answer(gvl_json(9)))
    fetched = make_client(gvl_url=server.url(LIST))
    for _ in range(300):  # its background task fetches (bounded: 30 s)
        if fetched.get("/readyz").json()["gvl"]["source"] == "fetched":
            break
        time.sleep(0.1)
    assert fetched.get("/readyz").json()["gvl"] == {"version": 9, "policy_version": 5, "source": "fetched"}
