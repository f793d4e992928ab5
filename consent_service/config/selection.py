"""Which sites this service serves: the operator's (a file, or one site made from `--site` and
`--origin`), the bundled demo site when asked for beside them, or the demo alone when nothing is
configured. `serve`, its workers and `check-config` all read the sites through `sites_for`.
"""

from __future__ import annotations

import json
from dataclasses import replace
from importlib import resources

from consent_service.config.settings import Settings
from consent_service.config.sites import DEMO_SOURCE, SITE_ID_RE, load_sites, parse_sites
from consent_service.config.validator import ConfigError
from consent_service.core.site import SiteConfig

STARTER = "starter_site.toml"
FLAGS_SOURCE = "--site/--origin"  # where a site made from the command line has its origins
DEMO_ID = "demo"


def sites_for(settings: Settings) -> SiteConfig:
    """The sites to serve, validated; a ConfigError names the flag, variable, file or field."""
    if settings.config_path is not None and settings.site_id:
        raise ConfigError(
            "--config (CONSENT_CONFIG) and --site (CONSENT_SITE) are two ways to name your sites: give one "
            "(a file can hold several sites)"
        )
    if settings.site_id:
        own = starter_site(settings.site_id, settings.site_origins)
    elif settings.site_origins:
        raise ConfigError(
            '--origin (CONSENT_ORIGINS) needs --site (CONSENT_SITE): the site id your pages name in data-site="…"'
        )
    elif settings.config_path is not None:
        own = load_sites(settings.config_path)
    else:
        return load_sites(None)  # nothing configured: the demo alone (its page unless CONSENT_DEMO=off)
    return with_demo(own) if settings.demo == "on" else own


def starter_text(site_id: str, origins: tuple[str, ...]) -> str:
    """The TOML of a minimal site with this id and these origins (config/starter_site.toml)."""
    if not SITE_ID_RE.fullmatch(site_id):
        raise ConfigError(
            f"--site (CONSENT_SITE): {site_id[:64]!r} must be lowercase letters, digits, - and _ "
            "(at most 63), starting with a letter or digit"
        )
    if not origins:
        raise ConfigError(
            "--site (CONSENT_SITE) needs --origin (CONSENT_ORIGINS): the origin of the pages that show the "
            "banner, e.g. --origin http://localhost:5500"
        )
    template = resources.files("consent_service.config").joinpath(STARTER).read_text("utf-8")
    # JSON strings are TOML basic strings (the origins are checked as origins when parsed).
    return template.replace('"__SITE_ID__"', json.dumps(site_id)).replace('["__ORIGINS__"]', json.dumps(origins))


def starter_site(site_id: str, origins: tuple[str, ...]) -> SiteConfig:
    config = parse_sites(starter_text(site_id, origins), source=f"--site {site_id}")
    return replace(config, origins_from={site_id: FLAGS_SOURCE})


def with_demo(own: SiteConfig) -> SiteConfig:
    """The operator's sites and the bundled demo site beside them (CONSENT_DEMO=on). Sites that have
    a `demo` of their own (a copy of the demo's file, say) keep it, and the demo page shows it."""
    if DEMO_ID in own.sites:
        return own
    demo = load_sites(None)
    return SiteConfig(
        sites={**own.sites, **demo.sites},
        source=f"{own.source} + {DEMO_SOURCE}",
        bundled_demo=True,
        origins_from={
            **{sid: own.origins_from.get(sid, own.source) for sid in own.sites},
            DEMO_ID: DEMO_SOURCE,
        },
    )


def demo_page_served(settings: Settings, sites: SiteConfig) -> bool:
    """Whether `/demo` is served: where a `demo` site is, the bundled one or a configured copy of it
    (with partners, say), unless CONSENT_DEMO=off. Its page names `data-site="demo"`, so without
    such a site it would only show a banner falling back."""
    return settings.demo_enabled and DEMO_ID in sites.sites


def origins_source(config: SiteConfig, site_id: str) -> str:
    """Where the origins of `site_id` are set: a file's path, FLAGS_SOURCE or DEMO_SOURCE."""
    return config.origins_from.get(site_id, config.source)
