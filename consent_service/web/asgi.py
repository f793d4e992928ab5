"""The ASGI entry point for uvicorn workers: settings from the environment, built once per process."""

from __future__ import annotations

import gc
import logging
import os
from time import perf_counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consent_service.config.keys import resolve_keys
from consent_service.config.selection import sites_for
from consent_service.config.settings import settings_from_env
from consent_service.obs import metrics as obs_metrics
from consent_service.obs.logs import ACCESS_LOGGER
from consent_service.obs.metrics import CURRENT, UNMATCHED, Metrics
from consent_service.web.app import create_app

GC_GEN0_THRESHOLD = 50_000
access_log = logging.getLogger(ACCESS_LOGGER)


def app_from_env() -> Instrumented:
    """Factory for `uvicorn --factory consent_service.web.asgi:app_from_env` (needs REDIS_URL)."""
    settings = settings_from_env(os.environ)
    app = create_app(settings, sites_for(settings), resolve_keys(settings))
    metrics = Metrics(multiprocess_dir=os.environ.get(obs_metrics.MULTIPROC_ENV) or None)
    instrumented = Instrumented(app, metrics, access_log=settings.access_log)
    _tune_gc()
    return instrumented


class Instrumented:
    """The app with request metrics (and the optional access log) around it.

    A plain ASGI callable rather than a Starlette middleware, to keep it cheap on the decision path:
    two clock reads, one wrapped `send`, one update of plain counters (docs/obs_metrics.md). The route
    label is the template Starlette matched (it sets `scope["route"]`; `path_format` is its template
    without converters), read after the app ran; the duration ends with the answer's last byte, so
    work run after the answer is not counted in it.
    """

    __slots__ = ("access_log", "app", "metrics")

    def __init__(self, app: ASGIApp, metrics: Metrics, *, access_log: bool = False) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The hooks count into these metrics, also in tasks started from here (the lifespan's upkeep).
        token = CURRENT.set(self.metrics)
        if scope["type"] != "http":
            try:
                await self.app(scope, receive, send)
            finally:
                CURRENT.reset(token)
            return
        status = 0
        answered = 0.0
        started = perf_counter()

        async def timed_send(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                answered = perf_counter()
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        except Exception:
            if answered and status < 500:  # the answer went out: what failed ran after it
                obs_metrics.count_background_error()
            raise
        finally:
            CURRENT.reset(token)
            seconds = (answered or perf_counter()) - started
            route = scope.get("route")
            # The template without Starlette's converters: `/v1/admin/accounts/{account_id}`.
            template = route.path_format if route is not None else UNMATCHED
            self.metrics.observe_request(template, scope["method"], status or 500, seconds)
            if self.access_log:
                _log_access(template, scope["method"], status or 500, seconds)


def _log_access(route: str, method: str, status: int, seconds: float) -> None:
    """Route template, method, status, duration: never the path, query, client address or headers."""
    method = method if method in obs_metrics.METHODS else "OTHER"
    ms = round(seconds * 1000, 2)
    extra = {"route": route, "method": method, "status": status, "duration_ms": ms}
    access_log.info("%s %s %d %.2f ms", method, route, status, ms, extra=extra)


def _tune_gc() -> None:
    """Fewer, cheaper collections on the request path (measured: p99 halves, docs/performance.md).

    Everything allocated at start-up (modules, config, the app) lives as long as the process, so it
    is frozen out of the collector; requests make short-lived, acyclic garbage that reference
    counting frees, so young collections can be rarer.
    """
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)
