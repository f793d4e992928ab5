"""A visitor opts out from the banner while Redis is stalled: the opt-out is confirmed, applies in
the page at once, is carried in the signed device token the banner keeps, and lands in Redis with
its audit entry on the next page once Redis answers again."""

from __future__ import annotations

import os
import signal
import time

import redis
from playwright.sync_api import expect

from consent_service.cli.redis_runner import EmbeddedRedis
from e2e.conftest import CA, ContextFactory, Publisher, Service
from e2e.helpers import VIEWPORT, cs, device_token, open_page, publisher_html, wait_ready, wait_server, wait_state


def test_an_opt_out_made_during_a_redis_stall_survives(
    service: Service, publisher: Publisher, e2e_redis: EmbeddedRedis, make_context: ContextFactory
) -> None:
    context = make_context(region=CA, viewport=VIEWPORT)
    page = open_page(context, publisher.page("/article", publisher_html(service.origin)))
    wait_ready(page)
    assert e2e_redis.pid is not None
    os.kill(e2e_redis.pid, signal.SIGSTOP)
    try:
        with page.expect_response(lambda r: r.url.endswith("/v1/opt-out")) as answered:
            cs(page, "optout").click()
        answer = answered.value.json()
        assert answered.value.status == 200 and answer["stored"] is False  # acknowledged in the token only
        expect(cs(page, "status")).to_contain_text("Your opt-out has been processed")
        st = wait_state(page, "s => !s.pending")
        assert st["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"}
    finally:
        os.kill(e2e_redis.pid, signal.SIGCONT)
    time.sleep(0.3)  # what was queued while stopped ran, past its deadline: nothing written yet
    with redis.Redis.from_url(e2e_redis.url, decode_responses=True) as r:
        assert not list(r.scan_iter(match="*:dev:*"))
    token = device_token(page, context, service.origin)
    assert token == answer["device"]  # the banner keeps the token that carries the opt-out
    page.reload()  # the next page: the banner's request carries the token, and the service writes it
    wait_ready(page)
    body = wait_server(service.origin, device_token(page, context, service.origin), CA, lambda b: True)
    assert body["decisions"]["advertising"] == {"allowed": False, "reason": "opt_out"}
    with redis.Redis.from_url(e2e_redis.url, decode_responses=True) as r:
        (record,) = r.scan_iter(match="*:dev:*")
        assert r.hget(record, "c:advertising").startswith("0:")
        entries = [e for k in r.scan_iter(match="*:audit") for _, e in r.xrange(k)]
    assert [(e["a"], e["s"], e["rq"]) for e in entries] == [("opt_out", "banner", "opt_out")]
