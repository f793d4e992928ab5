"""The ASGI entry point for uvicorn workers: settings from the environment, built once per process."""

from __future__ import annotations

import gc
import os

from starlette.applications import Starlette

from consent_service.keys import resolve_keys
from consent_service.settings import settings_from_env
from consent_service.sites import load_sites
from consent_service.web import create_app

GC_GEN0_THRESHOLD = 50_000


def app_from_env() -> Starlette:
    """Factory for `uvicorn --factory consent_service.app:app_from_env` (needs REDIS_URL)."""
    settings = settings_from_env(os.environ)
    app = create_app(settings, load_sites(settings.config_path), resolve_keys(settings))
    _tune_gc()
    return app


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
