"""The ASGI app: its routes, its error mapping, and its lifespan (which builds the state every route
reads, warms the store, and runs the background upkeep). Wiring only: no business rules here.

Route order matters in two places: the admin API before the /v1 preflight (which answers OPTIONS for
every /v1 path), and the content-hashed banner URL after the plain one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.routing import Route

from consent_service.config import admin_catalogs, catalogs
from consent_service.config.keys import Keys
from consent_service.config.selection import demo_page_served
from consent_service.config.settings import Settings
from consent_service.config.tcf import cmp_warning
from consent_service.consent.maintenance import drain_carries_forever, trim_audit_forever
from consent_service.core.site import SiteConfig
from consent_service.store import Store
from consent_service.web import errors
from consent_service.web.admin import deliveries as admin_deliveries
from consent_service.web.admin import entry as admin_entry
from consent_service.web.admin import pages as admin_pages
from consent_service.web.admin import routes as admin_api
from consent_service.web.api import consent as consent_routes
from consent_service.web.api import ops as ops_routes
from consent_service.web.assets import BANNER, load_asset
from consent_service.web.pages import demo
from consent_service.web.pages import routes as page_routes
from consent_service.web.state import BASICS_KEY, STATE_KEY, AppState, Basics, build_state, lifetimes

JS_TYPE = "text/javascript; charset=utf-8"
log = logging.getLogger("consent_service.app")
WARM_UP_S = 2.0  # at startup: connect and load the write scripts (Store.warm), at most this long


def create_app(settings: Settings, sites: SiteConfig, keys: Keys, store: Store | None = None) -> Starlette:
    """The ASGI app. Without a store, the lifespan makes one from `settings.redis_url` (and closes it)."""
    basics = Basics.of(settings, sites, keys, load_asset(BANNER, JS_TYPE), demo.load_files())
    catalogs.load_all()  # the catalogs compiled now: a broken one stops the start, not a request
    if warning := cmp_warning(settings.tcf_cmp_id, [sid for sid, s in sites.sites.items() if s.tcf is not None]):
        log.warning(warning)
    admin_catalogs.load_all()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, AppState]]:
        owned = store is None
        state = build_state(basics, _own_store(settings) if store is None else store)
        app.state.consent = state  # for tests and tools; the routes read the lifespan state
        await state.store.warm(WARM_UP_S)
        if state.limits is not None:
            await state.limits.warm()
        await state.gvl.start()  # returns at once: the bundled list serves until a copy is found
        upkeep = _start_upkeep(state)
        try:
            yield {STATE_KEY: state}
        finally:
            for task in upkeep:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await state.gvl.stop()
            await state.stats.close()  # the final flush, before the store closes
            if state.limits is not None:
                await state.limits.close()
            if owned:
                await state.store.close()

    app = Starlette(routes=_routes(settings, sites), exception_handlers=errors.handlers(), lifespan=lifespan)
    setattr(app.state, BASICS_KEY, basics)  # errors read them too, even outside the lifespan
    return app


def _routes(settings: Settings, sites: SiteConfig) -> list[Route]:
    return [
        *consent_routes.routes(),
        *admin_api.routes(),
        *admin_deliveries.routes(),
        *admin_pages.routes(),
        *admin_entry.routes(),
        consent_routes.preflight_route(),
        *page_routes.routes(demo_enabled=demo_page_served(settings, sites)),
        *ops_routes.routes(),
    ]


def _own_store(settings: Settings) -> Store:
    if not settings.redis_url:
        raise RuntimeError("REDIS_URL must be resolved before the app starts (cli.main does it)")
    return Store.from_url(
        settings.redis_url,
        lifetimes(settings),
        timeout_s=settings.write_timeout_ms / 1000,
        replicas=settings.redis_wait_replicas,
    )


def _start_upkeep(state: AppState) -> list[asyncio.Task[None]]:
    """The background upkeep of consent/maintenance.py (the account carry-over drain and audit
    trimming) and the statistics flush (stats/counter.py)."""
    s, store = state.settings, state.store
    retention_ms, timeout_s, sites = lifetimes(s).retention_ms, s.write_timeout_ms / 1000, tuple(state.sites.sites)
    tasks = [
        asyncio.create_task(drain_carries_forever(store, sites, timeout_s)),
        asyncio.create_task(state.stats.run()),
    ]
    if s.audit_trim_interval_s > 0:
        tasks.append(
            asyncio.create_task(trim_audit_forever(store, sites, retention_ms, s.audit_trim_interval_s, timeout_s))
        )
    return tasks
