"""Shared fixtures: one real redis-server per test session, flushed before each test that uses it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from starlette.testclient import TestClient

from consent_service.keys import Keys
from consent_service.redis_runner import EmbeddedRedis
from consent_service.settings import Settings
from consent_service.sites import SiteConfig, load_sites, parse_sites
from consent_service.web import create_app

TEST_KEYS = Keys(signing=("k" * 40,), pseudonym="p" * 40)
CA = {"CloudFront-Viewer-Country": "US", "CloudFront-Viewer-Country-Region": "CA"}
DE = {"CloudFront-Viewer-Country": "DE"}
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), persistent=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: EmbeddedRedis) -> str:
    """The session's Redis, empty at the start of each test (data isolated per test)."""
    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    return redis_server.url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    with redis.Redis.from_url(redis_url, decode_responses=True) as client:
        yield client


@pytest.fixture
def settings(redis_url: str, tmp_path: Path) -> Settings:
    return Settings(redis_url=redis_url, data_dir=tmp_path / "data")


AppFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(settings: Settings) -> Iterator[AppFactory]:
    """Build a TestClient (lifespan running) for given settings overrides and site config."""
    opened: list[TestClient] = []

    def factory(sites: SiteConfig | str | None = None, **overrides: object) -> TestClient:
        config = parse_sites(sites, source="<test>") if isinstance(sites, str) else sites or load_sites(None)
        app = create_app(dataclasses.replace(settings, **overrides), config, TEST_KEYS)  # type: ignore[arg-type]
        client = TestClient(app, base_url="http://consent.test", headers={"user-agent": CHROME})
        client.__enter__()
        opened.append(client)
        return client

    yield factory
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: AppFactory) -> TestClient:
    return make_client()


def snapshot(client: redis.Redis) -> dict[str, bytes | None]:
    """Every key and its serialized value: comparing two snapshots shows any write at all (an
    appended stream entry or a changed hash field too, which a key count would miss)."""
    kwargs = {**client.connection_pool.connection_kwargs, "decode_responses": False}
    raw = redis.Redis(connection_pool=redis.ConnectionPool(**kwargs))
    try:
        return {key.decode(): raw.dump(key) for key in raw.scan_iter()}
    finally:
        raw.close()
