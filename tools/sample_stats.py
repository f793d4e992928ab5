"""Sample consent statistics for the demo site (not shipped): today's traffic sent through the API,
and earlier days counted by the service's own StatsCounter and flushed to its Redis (traffic cannot
be sent dated in the past). Used by the dashboard's browser test (which checks the page against what
was sent) and by tools/screenshots.py (the dashboard's picture in the docs).
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import httpx2 as httpx

from consent_service.config.sites import load_sites
from consent_service.core.clock import DAY_MS
from consent_service.core.identity import Verified, new_device_id
from consent_service.core.regions import regime_for
from consent_service.core.visitor import Visitor
from consent_service.core.vocab import Action, Source
from consent_service.stats.counter import StatsCounter
from consent_service.store import Lifetimes, StatsStore, Store

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Mobile/15E148 Safari/604.1"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Mobile/15E148 Safari/604.1"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
DEVICES = (CHROME, IPHONE, IPAD, CHROME, IPHONE)  # more PCs and phones than tablets
REGIONS = ("US-CA", "DE", "US-VA", "FR", "JP", "US-CA", "GB", "BR", "US-CA", "DE")
ACTIONS = ("accept_all", "reject_all", "accept_all", "custom", "opt_out", None, "accept_all")


def region_headers(region: str) -> dict[str, str]:
    country, _, sub = region.partition("-")
    return {"cloudfront-viewer-country": country, **({"cloudfront-viewer-country-region": sub} if sub else {})}


# Each region's regime (REGIONS.md's defaults), written out here so that whether the banner asks is
# known without asking the service.
REGIMES = {"US-CA": "opt_out", "US-VA": "opt_out", "DE": "opt_in", "FR": "opt_in", "GB": "opt_in", "BR": "opt_in",
           "JP": "notice"}  # fmt: skip
COUNTED = ("visits", "gpc_visits", "banners_shown", "accept_all", "reject_all", "custom", "opt_outs", "bot_requests")


def send_traffic(api: str) -> dict[str, int]:
    """Today's visits through the API: each visitor a new device that views a page (the experience),
    then chooses (or not); every fifth sends GPC. Returns what the table must show, counted from
    what was sent: the banner asks a new visitor in opt_in regions always, elsewhere unless GPC
    already opted them out (asserted on every answer)."""
    sent = dict.fromkeys(COUNTED, 0)
    with httpx.Client(base_url=api, timeout=5) as client:
        for i in range(35):
            client.cookies.clear()
            region, gpc = REGIONS[i % len(REGIONS)], i % 5 == 0
            headers = {"user-agent": DEVICES[i % len(DEVICES)], **region_headers(region)}
            if gpc:
                headers["sec-gpc"] = "1"
            experience = client.get("/v1/sites/demo/experience", headers=headers)
            assert experience.status_code == 200, experience.text
            show = REGIMES[region] == "opt_in" or not gpc
            assert experience.json()["regime"] == REGIMES[region], (i, region)
            assert experience.json()["show"] is show, (i, region)
            sent["visits"] += 1
            sent["gpc_visits"] += gpc
            sent["banners_shown"] += show
            action = ACTIONS[i % len(ACTIONS)]
            if action == "opt_out":
                r = client.post("/v1/opt-out", json={"site": "demo"}, headers=headers)
                sent["opt_outs"] += 1
            elif action is not None:
                choices = {"analytics": True, "advertising": False} if action == "custom" else {}
                body = {"site": "demo", "action": action, **({"choices": choices} if choices else {})}
                r = client.post("/v1/consent", json=body, headers=headers)
                sent[action] += 1
            assert action is None or r.status_code == 200, r.text
        for _ in range(3):
            client.get(
                "/v1/decision", params={"site": "demo", "purpose": "advertising"}, headers={"user-agent": GOOGLEBOT}
            )
            sent["bot_requests"] += 1
    return sent


def count_history(redis_url: str, days: int = 13) -> dict[str, int]:
    """The days before today, counted by the service's own StatsCounter and flushed to Redis. Every
    visitor is a new device that views a page (the banner shown) and chooses or not. Returns the
    sum, counted here."""
    site = load_sites(None).sites["demo"]
    today = int(time.time() * 1000) // DAY_MS * DAY_MS
    actions = {"accept_all": Action.ACCEPT_ALL, "reject_all": Action.REJECT_ALL, "custom": Action.CUSTOM,
               "opt_out": Action.OPT_OUT}  # fmt: skip
    counted = dict.fromkeys(COUNTED, 0)

    async def run() -> None:
        store = Store.from_url(redis_url, Lifetimes(record_ttl_ms=DAY_MS * 400, retention_ms=DAY_MS * 750), timeout_s=5)
        counter = StatsCounter(StatsStore.of(store, 400), {"demo": site}, timeout_s=5)
        for back in range(days, 0, -1):
            for j in range(14 + (back * 7) % 13):
                region = REGIONS[(j + back) % len(REGIONS)]
                gpc = (j + back) % 4 == 0
                device, at = DEVICES[(j * 3 + back) % len(DEVICES)], today - back * DAY_MS + 3_600_000 + j
                visitor = Visitor(site, region, regime_for(region, site.regimes), gpc, None, None, device, at)
                counter.banner(visitor, True)
                counted["visits"] += 1
                counted["gpc_visits"] += gpc
                counted["banners_shown"] += 1
                action = ACTIONS[(j * 2 + back) % len(ACTIONS)]
                device_id = new_device_id()
                if action is not None:
                    counter.wrote(visitor, actions[action], Source.BANNER, device_id, changed=True)
                    counted["opt_outs" if action == "opt_out" else action] += 1
                else:  # seen, without a choice
                    visitor.device = Verified(device_id, visitor.now_ms // 1000)
                    counter.seen(visitor, None, False)
        assert await counter.flush()
        await store.close()

    # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(lambda: asyncio.run(run())).result()
    return counted
