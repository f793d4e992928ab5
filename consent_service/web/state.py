"""The application's state: every service the routes use, built once by the lifespan, complete.

Routes are plain functions `(request, state) -> response` (`Handler`), bound by `bind`: the bound
endpoint reads the state from the request's scope, where Starlette puts what the lifespan yields
(its "lifespan state"). So no route module imports the module that wires the app, no service is
optional or "not started yet", and mypy checks every handler's signature where it is bound.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from consent_service.config.keys import Keys
from consent_service.config.settings import Settings
from consent_service.consent.ratelimit import WriteLimits
from consent_service.consent.service import ConsentService
from consent_service.core.errors import ApiError
from consent_service.core.identity import DeviceTokens
from consent_service.core.keyed import FormTokens, Pseudonyms
from consent_service.core.partner import OutboxSpecs
from consent_service.core.site import Site, SiteConfig
from consent_service.core.tcf_signals import Cmp, TcfSetup
from consent_service.core.vocab import ErrorCode
from consent_service.rights.accounts import AccountService
from consent_service.rights.agents import AgentRequests
from consent_service.rights.device_data import Rights, sale_share_ids
from consent_service.stats.counter import StatsCounter
from consent_service.store import Lifetimes, StatsStore, Store
from consent_service.store.gvl_cache import GvlCache
from consent_service.store.limits import Limiter
from consent_service.tcf.gvl_source import GvlSource
from consent_service.web.admin_sessions import AdminSessions, LoginThrottle
from consent_service.web.assets import Asset
from consent_service.web.misconfig import Misconfig

STATE_KEY = "consent"  # the lifespan state's key (and `app.state.consent`, for tests and tools)
BASICS_KEY = "consent_basics"  # `app.state.consent_basics`: the Basics, from the app's creation
Endpoint = Callable[[Request], Awaitable[Response]]
Handler = Callable[[Request, "AppState"], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Basics:
    """What the app knows before it runs: configuration, keys, and what is derived from them."""

    settings: Settings
    sites: SiteConfig
    keys: Keys
    tokens: DeviceTokens
    forms: FormTokens
    pseudonyms: Pseudonyms
    banner: Asset
    demo_files: dict[str, Asset]
    partners: OutboxSpecs  # what changes tell the sites' partners (core/partner.py)
    admin_sessions: AdminSessions  # the admin pages' signed sessions (web/admin_sessions.py)
    login_throttle: LoginThrottle  # failed admin logins per client, in this process
    misconfig: Misconfig  # warnings about refused origins and unknown sites (web/misconfig.py)

    @classmethod
    def of(cls, settings: Settings, sites: SiteConfig, keys: Keys, banner: Asset, demo: dict[str, Asset]) -> Basics:
        partners = OutboxSpecs(
            {sid: (site.partners, sale_share_ids(site)) for sid, site in sites.sites.items()}, keys.pseudonym.encode()
        )
        tokens = DeviceTokens(keys.signing, max_age_s=settings.cookie_max_age_days * 86_400)
        forms, pseudonyms = FormTokens(keys.signing), Pseudonyms(keys.pseudonym)
        sessions, throttle = AdminSessions(keys.signing, keys.pseudonym), LoginThrottle()
        misconfig = Misconfig(sites)
        return cls(
            settings, sites, keys, tokens, forms, pseudonyms, banner, demo, partners, sessions, throttle, misconfig
        )


@dataclass(frozen=True, slots=True)
class AppState:
    """The basics and the running services. `limits` is None only when rate limits are off."""

    basics: Basics
    store: Store
    service: ConsentService
    rights: Rights
    accounts: AccountService
    agents: AgentRequests
    stats: StatsCounter  # consent statistics: `await state.stats.report(site, first, last)`
    limits: WriteLimits | None
    gvl: GvlSource  # the IAB Global Vendor List: `state.gvl.current()`, `state.gvl.texts(language)`
    tcf: TcfSetup  # the GVL in force and the CMP id, for TC strings and TCF policy versions

    @property
    def settings(self) -> Settings:
        return self.basics.settings

    @property
    def sites(self) -> SiteConfig:
        return self.basics.sites

    @property
    def tokens(self) -> DeviceTokens:
        return self.basics.tokens

    @property
    def forms(self) -> FormTokens:
        return self.basics.forms

    @property
    def demo_site_active(self) -> bool:
        """The ?region= override applies to the bundled demo site only, and only with the demo on."""
        return self.settings.demo_enabled and self.sites.bundled_demo

    def site(self, site_id: str) -> Site:
        site = self.sites.sites.get(site_id)
        if site is None:
            raise ApiError(ErrorCode.UNKNOWN_SITE, f"no site {site_id[:64]!r} is configured", site=site_id[:64])
        return site


def lifetimes(settings: Settings) -> Lifetimes:
    return Lifetimes(
        record_ttl_ms=settings.record_ttl_days * 86_400_000, retention_ms=settings.retention_days * 86_400_000
    )


def build_state(basics: Basics, store: Store) -> AppState:
    """Every service over one store, wired once (by the lifespan, in the loop that will run them)."""
    s = basics.settings
    write_s = s.write_timeout_ms / 1000
    gvl = GvlSource.from_settings(s, GvlCache.of(store, write_s))
    tcf = TcfSetup(gvl.current, Cmp(s.tcf_cmp_id, s.tcf_cmp_version))
    store.tell_partners(basics.partners)
    limits = None
    if s.redis_url and (s.rate_limit_device or s.rate_limit_client):
        # A rate-limit check that Redis cannot answer quickly is skipped (fail open): it must not
        # add a whole write timeout in front of the write itself.
        limits = WriteLimits(Limiter(s.redis_url, timeout_s=s.decision_timeout_ms / 1000), s, basics.pseudonyms)
    rights = Rights(store, timeout_s=write_s, limits=limits)
    stats = StatsCounter(StatsStore.of(store, s.stats_retention_days), basics.sites.sites, timeout_s=write_s)
    service = ConsentService(
        store,
        basics.tokens,
        read_timeout_s=s.decision_timeout_ms / 1000,
        write_timeout_s=write_s,
        limits=limits,
        stats=stats,
        partners=basics.partners,
        tcf=tcf,
    )
    accounts = AccountService(store, basics.tokens, basics.pseudonyms, timeout_s=write_s, stats=stats)
    agents = AgentRequests(
        store,
        basics.tokens,
        service,
        rights,
        accounts,
        retention_ms=lifetimes(s).retention_ms,
        timeout_s=write_s,
    )
    return AppState(basics, store, service, rights, accounts, agents, stats, limits, gvl, tcf)


def basics_of(request: Request) -> Basics | None:
    """The app's basics (what an error answer needs, e.g. the origins for CORS): set when the app is
    made, so they are there even for an answer made outside the lifespan."""
    found: Any = getattr(request.app.state, BASICS_KEY, None)
    return found if isinstance(found, Basics) else None


class LifespanNotRun(RuntimeError):
    """A bound route was called without the app's lifespan (uvicorn `--lifespan off`, or a test
    client not used as a context manager): the services are built there, so it cannot answer."""


def bind(handler: Handler) -> Endpoint:
    """A Starlette endpoint calling `handler` with the running app's state."""

    async def endpoint(request: Request) -> Response:
        try:
            state = request.scope["state"][STATE_KEY]
        except KeyError:
            raise LifespanNotRun("the app's lifespan did not run: its services are built there") from None
        return await handler(request, state)

    return endpoint
