"""Shared fixtures: real Redis, flushed before each test that uses it.

Every test that uses `redis_url` (so also `redis_client`, `settings`, `make_client`, `client`) runs
twice: against one standalone redis-server (`[standalone]`) and against a real 3-master Redis
Cluster (`[cluster]`, tests/cluster.py). Both are started once per session, the cluster only when a
test needs it. Tests that are about one server (its reader, stopping or pausing it) run on the
standalone one only: the `standalone_only` marker, the `standalone_redis_url` fixture, or the list
below for files that predate the cluster.
"""

from __future__ import annotations

import dataclasses
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.cluster import RedisCluster
from starlette.testclient import TestClient

from consent_service.cli.redis_runner import EmbeddedRedis
from consent_service.config.keys import Keys
from consent_service.config.settings import Settings
from consent_service.config.sites import load_sites, parse_sites
from consent_service.core.site import SiteConfig
from consent_service.store.stats import is_stats_key
from consent_service.web.app import create_app
from tests.cluster import LocalCluster
from tests.serving import Served

TEST_KEYS = Keys(signing=("k" * 40,), pseudonym="p" * 40)
CA = {"CloudFront-Viewer-Country": "US", "CloudFront-Viewer-Country-Region": "CA"}
DE = {"CloudFront-Viewer-Country": "DE"}
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


STANDALONE, CLUSTER = "standalone", "cluster"
# Standalone-only tests named here rather than marked in their files: the pipelined reader speaks
# to one server.
STANDALONE_ONLY = ("tests/test_reader.py::",)


def tampered(token: str) -> str:
    """The token with its signature's last character changed so that it never verifies: the new
    character differs from the old in its two highest bits, because the last base64 character's low
    bits may carry nothing (replacing "xw" with "xx" can leave a signature intact)."""
    return token[:-1] + flip(token[-1])


def flip(ch: str) -> str:
    """A base64url character that differs from `ch` in its two highest bits."""
    index = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".find(ch)
    return "A" if index >= 16 else "w"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "standalone_only: run only against the standalone Redis, not the cluster")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "redis_kind" in metafunc.fixturenames:
        node = metafunc.definition.nodeid
        alone = metafunc.definition.get_closest_marker("standalone_only") is not None or any(
            node == entry or (entry.endswith("::") and node.startswith(entry)) for entry in STANDALONE_ONLY
        )
        metafunc.parametrize("redis_kind", [STANDALONE] if alone else [STANDALONE, CLUSTER], indirect=True)


@pytest.fixture
def redis_kind(request: pytest.FixtureRequest) -> str:
    """Which Redis the test runs against (a parameter: standalone, cluster)."""
    return str(getattr(request, "param", STANDALONE))


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), persistent=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """Three cluster-enabled masters on 127.0.0.1, joined with `redis-cli --cluster create`."""
    with LocalCluster(tmp_path_factory.mktemp("cluster")) as cluster:
        yield cluster


@pytest.fixture
def standalone_redis_url(redis_server: EmbeddedRedis) -> str:
    """The session's standalone Redis, empty at the start of the test."""
    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    return redis_server.url


@pytest.fixture
def cluster_redis_url(redis_cluster: LocalCluster) -> str:
    """The session's cluster (`redis+cluster://…`, every master a startup node), every master empty."""
    redis_cluster.flush()
    return redis_cluster.url


@pytest.fixture
def redis_url(redis_kind: str, request: pytest.FixtureRequest) -> str:
    """The session's Redis, empty at the start of each test (data isolated per test): standalone
    (`redis://…`) or the cluster (`redis+cluster://…`), by the test's parameter."""
    return str(request.getfixturevalue(f"{redis_kind}_redis_url"))


@pytest.fixture
def redis_client(redis_url: str, redis_kind: str, request: pytest.FixtureRequest) -> Iterator[redis.Redis]:
    """A sync client with decoded replies: `redis.Redis`, or on the cluster redis-py's
    `RedisCluster` (SCAN over every master; DBSIZE and INFO summed over them, see tests/cluster.py)."""
    if redis_kind == CLUSTER:
        client: Any = request.getfixturevalue("redis_cluster").client()
    else:
        client = redis.Redis.from_url(redis_url, decode_responses=True)
    with client:
        yield client


@pytest.fixture
def settings(redis_url: str, tmp_path: Path) -> Settings:
    # The service's 100 ms decision budget is a latency goal; a test of what a decision says must not
    # depend on a loaded 2-core box answering a cluster read within it (seen once: `store_unavailable`
    # instead of `account_opt_out`). The tests of the budget itself (test_failure, test_observability,
    # test_legacy_outage, test_durability) make their own settings with it.
    return Settings(redis_url=redis_url, data_dir=tmp_path / "data", decision_timeout_ms=2000)


AppFactory = Callable[..., TestClient]

# Two sites with one purpose each: for keys and sessions allowed for one site and not the other.
TWO_SITES = """
[[sites]]
id = "demo"
[[sites.purposes]]
id = "necessary"
kind = "necessary"
text.en.label = "Necessary"
[[sites]]
id = "shop"
[[sites.purposes]]
id = "necessary"
kind = "necessary"
text.en.label = "Necessary"
"""


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


def snapshot(client: redis.Redis | RedisCluster) -> dict[str, bytes | None]:
    """Every key and its serialized value: comparing two snapshots shows any write at all (an
    appended stream entry or a changed hash field too, which a key count would miss). On a cluster,
    every master's keys. Statistics are left out: answering a request is counted by design, and
    the counts are flushed every few seconds (tests/test_stats.py checks them)."""
    if isinstance(client, RedisCluster):
        # DUMP's reply is never decoded (redis-py), so the decoding cluster client serves as is.
        return {str(key): client.dump(key) for key in client.scan_iter() if not is_stats_key(str(key))}
    kwargs = {**client.connection_pool.connection_kwargs, "decode_responses": False}
    raw = redis.Redis(connection_pool=redis.ConnectionPool(**kwargs))
    try:
        return {key.decode(): raw.dump(key) for key in raw.scan_iter() if not is_stats_key(key.decode())}
    finally:
        raw.close()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A Redis of the test's own (AOF, appendfsync always), for tests that stop, stall or kill it."""
    server = EmbeddedRedis(tmp_path / "r", persistent=True, appendfsync="always")
    server.start()
    yield server
    if server.pid is not None:
        os.kill(server.pid, signal.SIGCONT)  # never leave a stopped process behind
    server.stop()


@pytest.fixture
def own_redis_client(own_redis: EmbeddedRedis, tmp_path: Path) -> Iterator[TestClient]:
    """The service on `own_redis`, with a short write timeout (300 ms) so that outages show quickly."""
    settings = dataclasses.replace(Settings(), redis_url=own_redis.url, data_dir=tmp_path / "d", write_timeout_ms=300)
    app = create_app(settings, load_sites(None), TEST_KEYS)
    with TestClient(app, base_url="http://consent.test", headers={"user-agent": CHROME}) as c:
        yield c


# ---- `consent-service serve` in a subprocess (tests/serving.py) --------------------------------------


@pytest.fixture
def env() -> dict[str, str]:
    """The environment of a `serve` run: this one without any setting of ours, quiet logs."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CONSENT_") and k != "REDIS_URL"}
    return {**clean, "CONSENT_LOG_LEVEL": "warning"}


@pytest.fixture
def served() -> Iterator[list[Served]]:
    """The `serve` runs a test starts (append them), stopped at its end."""
    started: list[Served] = []
    yield started
    for server in started:
        server.stop()
