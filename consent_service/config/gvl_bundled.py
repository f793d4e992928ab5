"""The Global Vendor List shipped with the service (config/gvl/vendor-list.json): what TC strings use
until, and whenever, no other copy is at hand. Read once, on first use."""

from __future__ import annotations

from functools import cache
from importlib import resources

from consent_service.core.gvl import Gvl, parse_gvl

BUNDLED_GVL = "vendor-list.json"


@cache
def bundled_gvl() -> Gvl:
    return parse_gvl(resources.files("consent_service.config").joinpath("gvl", BUNDLED_GVL).read_bytes())
