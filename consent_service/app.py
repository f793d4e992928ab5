"""The ASGI entry point for uvicorn workers: settings from the environment, built once per process."""

from __future__ import annotations

import os

from starlette.applications import Starlette

from consent_service.keys import resolve_keys
from consent_service.settings import settings_from_env
from consent_service.sites import load_sites
from consent_service.web import create_app


def app_from_env() -> Starlette:
    """Factory for `uvicorn --factory consent_service.app:app_from_env` (needs REDIS_URL)."""
    settings = settings_from_env(os.environ)
    return create_app(settings, load_sites(settings.config_path), resolve_keys(settings))
