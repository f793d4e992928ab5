"""A legacy token (signed before tokens named their site) while storage cannot say whose it is: a
write must not go ahead as a new device (that would orphan the device's record), and an opt-out is
carried under the legacy device until storage can place it (issue 11, finding 3)."""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from starlette.testclient import TestClient

from consent_service.cli.redis_runner import EmbeddedRedis
from consent_service.config.settings import Settings
from consent_service.config.sites import parse_sites
from consent_service.web.app import create_app
from tests.conftest import CA, CHROME, TEST_KEYS
from tests.test_abuse import TOKENS, decide, legacy_token, two_sites


@pytest.fixture
def alpha(own_redis: EmbeddedRedis, tmp_path: Path) -> Iterator[TestClient]:
    settings = dataclasses.replace(Settings(), redis_url=own_redis.url, data_dir=tmp_path / "d", write_timeout_ms=300)
    app = create_app(settings, parse_sites(two_sites(), source="<test>"), TEST_KEYS)
    with TestClient(app, base_url="http://consent.test", headers={"user-agent": CHROME}) as client:
        yield client


def test_a_legacy_device_is_never_replaced_while_storage_cannot_place_it(
    alpha: TestClient, own_redis: EmbeddedRedis
) -> None:
    stored = TOKENS.verify(alpha.post("/v1/opt-out", json={"site": "alpha"}, headers=CA).json()["device"], "alpha")
    assert stored is not None
    old = legacy_token(stored.device_id)
    alpha.cookies.clear()
    assert own_redis.pid is not None
    os.kill(own_redis.pid, signal.SIGSTOP)
    try:
        headers = {**CA, "X-Consent-Device": old}
        custom = {"site": "alpha", "action": "custom", "choices": {"analytics": True}}
        refused = alpha.post("/v1/consent", json=custom, headers=headers)
        assert refused.status_code == 503 and "set-cookie" not in refused.headers  # no new device
        carried = alpha.post("/v1/opt-out", json={"site": "alpha"}, headers=headers).json()
        assert carried["stored"] is False
        held = TOKENS.verify(carried["device"], "alpha")
        # Still the legacy device, still a legacy token: storage decides its adoption later.
        assert held is not None and held.legacy and held.device_id == stored.device_id and held.pending
    finally:
        os.kill(own_redis.pid, signal.SIGCONT)
    alpha.cookies.clear()
    deadline = time.monotonic() + 10  # a bound on waiting for Redis, not a speed claim
    while True:
        back = decide(alpha, "alpha", **{"X-Consent-Device": carried["device"]})
        renewed = TOKENS.verify(back.get("device"), "alpha")
        if renewed is not None and not renewed.legacy and renewed.pending is None:
            break
        assert time.monotonic() < deadline, "the carried opt-out was not settled when Redis came back"
        time.sleep(0.05)
        alpha.cookies.clear()
    assert renewed.device_id == stored.device_id  # adopted: the same device, its record reachable
    assert back["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"}
    with redis.Redis.from_url(own_redis.url, decode_responses=True) as r:
        assert len(list(r.scan_iter(match="cs1:*:dev:*"))) == 1  # no second device was made
