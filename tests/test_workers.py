"""Several processes share nothing but Redis (and their configured keys): a choice made through one
worker or replica is seen by every other, at once."""

from __future__ import annotations

from pathlib import Path

import httpx2 as httpx
import redis

from tests.conftest import CA, CHROME
from tests.serving import Served

KEYS = {"CONSENT_SECRET_KEYS": "s" * 40, "CONSENT_PSEUDONYM_KEY": "p" * 40, "CONSENT_ADMIN_KEYS": "a" * 40 + ":*"}
ADS = {"site": "demo", "purpose": ["advertising", "analytics"]}


def test_two_replicas_see_each_others_writes(
    tmp_path: Path, env: dict[str, str], served: list[Served], redis_url: str
) -> None:
    shared = {**env, **KEYS, "REDIS_URL": redis_url}
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
    one = Served(tmp_path / "one", shared)
    two = Served(tmp_path / "two", shared)
    served += [one, two]
    headers = {**CA, "User-Agent": CHROME}
    token = httpx.post(f"{one.base}/v1/opt-out", json={"site": "demo"}, headers=headers).json()["device"]
    seen = httpx.get(f"{two.base}/v1/decision", params=ADS, headers={**headers, "X-Consent-Device": token}).json()
    assert seen["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"}
    # An account linked through one replica, a second device's decision through the other.
    laptop = httpx.post(
        f"{two.base}/v1/consent", json={"site": "demo", "action": "accept_all"}, headers=headers
    ).json()["device"]
    admin = {"Authorization": "Bearer " + "a" * 40}
    for replica, device in ((one, token), (two, laptop)):
        body = {"site": "demo", "account_id": "user-1", "device": device}
        assert httpx.post(f"{replica.base}/v1/admin/accounts/link", json=body, headers=admin).status_code == 200
    answer = httpx.get(f"{one.base}/v1/decision", params=ADS, headers={**headers, "X-Consent-Device": laptop})
    assert answer.json()["decisions"]["advertising"] == {"allowed": False, "reason": "account_opt_out"}


def test_two_workers_of_one_serve_agree(
    tmp_path: Path, env: dict[str, str], served: list[Served], standalone_redis_url: str
) -> None:
    """`serve --workers 2`: the workers share the generated keys through the data directory and
    one Redis; whichever worker answers, the device's choice is there. Each worker names its Redis
    connections with its process id, which shows that both workers really answered."""
    server = Served(tmp_path, {**env, "REDIS_URL": standalone_redis_url}, "--workers", "2")
    served.append(server)
    headers = {**CA, "User-Agent": CHROME}
    with httpx.Client(base_url=server.base, headers=headers) as http:  # one connection: one worker
        token = http.post("/v1/consent", json={"site": "demo", "action": "reject_all"}).json()["device"]
    for _ in range(30):  # a new connection each time: the kernel spreads them over both workers
        seen = httpx.post(
            f"{server.base}/v1/opt-out", json={"site": "demo"}, headers={**headers, "X-Consent-Device": token}
        )
        assert seen.json()["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"}
        answer = httpx.get(f"{server.base}/v1/decision", params=ADS, headers={**headers, "X-Consent-Device": token})
        assert answer.json()["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"}
    with redis.Redis.from_url(standalone_redis_url, decode_responses=True) as r:
        names = {c["name"] for c in r.client_list() if c["name"].startswith("consent-service-")}
    assert len(names) >= 2, names  # two worker processes wrote
