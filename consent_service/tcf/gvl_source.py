"""The Global Vendor List the service uses (issue 16): `current()` and `texts()` never wait and never fail.

Where the list comes from, best first: the copy fetched from CONSENT_GVL_URL (IAB's list in production),
the copy another worker or replica fetched (Redis), the copy fetched before a restart (disk), and the
project's own small list bundled with the package (config/gvl/). With CONSENT_GVL_URL unset the bundled
list is all there is and no request is ever made. A background task (`start()` returns at once) keeps
the fetched copy current by its `Cache-Control: max-age`, as IAB asks (gvl_resource.py has the rules).

Translations (CONSENT_GVL_TRANSLATIONS_URL, a template with `{lang}`: IAB's `purposes-{lang}.json`)
are fetched and cached the same way, one per language the banner speaks. Without that setting, and only
while the service runs on the bundled list, the project's own demo translations are used; otherwise the
texts stay English until the official ones arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from consent_service.config.gvl_files import bundled_list, demo_translation
from consent_service.config.settings import Settings
from consent_service.core.gvl import MAX_GVL_BYTES, Gvl, GvlError, parse_gvl, with_translation
from consent_service.core.texts import DEFAULT_LANGUAGE, LANGUAGES
from consent_service.store.gvl_cache import GvlCache
from consent_service.tcf.gvl_fetch import new_client
from consent_service.tcf.gvl_resource import FetchPolicy, Resource

log = logging.getLogger("consent_service.tcf.gvl")
MAX_TRANSLATION_BYTES: Final = 2 * 1024 * 1024  # IAB's are about 40 KB
POLL_S: Final = 30.0  # how often the task looks again; a fresh copy costs nothing to look at
SOURCES: Final = ("bundled", "disk", "redis", "fetched")  # where the list in use came from


@dataclass(frozen=True, slots=True)
class GvlStatus:
    """What /readyz shows of the list in use."""

    version: int
    policy_version: int
    source: str  # bundled, disk, redis or fetched
    error: str | None  # why the last fetch failed, until one succeeds


class GvlSource:
    def __init__(
        self,
        url: str | None = None,
        *,
        translations_url: str | None = None,
        languages: Iterable[str] = (),
        cache: GvlCache | None = None,
        directory: Path | None = None,
        policy: FetchPolicy | None = None,
        clock: Callable[[], float] = time.time,
        poll_s: float = POLL_S,
        max_bytes: int = MAX_GVL_BYTES,
    ) -> None:
        self._bundled = parse_gvl(bundled_list())  # a broken bundled list stops the start, as it should
        self._poll_s = poll_s
        self._task: asyncio.Task[None] | None = None
        self._memo: dict[str, tuple[Gvl, bytes, Gvl]] = {}
        self._client = new_client() if url or translations_url else None
        self._cache, self._directory, self._clock = cache, directory, clock
        self._policy = policy or FetchPolicy()
        wanted = sorted({lang.lower() for lang in languages} - {DEFAULT_LANGUAGE})
        # The project's own translations go with the project's own list only (config/gvl/).
        self._demo = {} if url or translations_url else {lang: demo_translation(lang) for lang in wanted}
        self._list = self._resource("vendor-list", url, parse_gvl, _describe, max_bytes) if url else None
        self._translations: dict[str, Resource[Gvl]] = {}
        if translations_url:
            for lang in wanted:
                self._translations[lang] = self._resource(
                    f"purposes-{lang}", translations_url.replace("{lang}", lang), self._translation_reader(lang),
                    lambda _texts: "texts", MAX_TRANSLATION_BYTES,
                )  # fmt: skip

    @classmethod
    def from_settings(cls, settings: Settings, cache: GvlCache | None) -> GvlSource:
        """The service's source: its URLs, the banner's languages, `<data dir>/gvl/` on disk."""
        return cls(
            settings.gvl_url,
            translations_url=settings.gvl_translations_url,
            languages=LANGUAGES,
            cache=cache,
            directory=settings.data_dir / "gvl",
        )

    def current(self) -> Gvl:
        """The list to use now: the last good copy, else the bundled one."""
        found = self._list.value if self._list is not None else None
        return found or self._bundled

    def texts(self, language: str) -> Gvl:
        """The current list with its texts in `language` when a translation is at hand, else English."""
        gvl, lang = self.current(), language.lower()
        data = self._translation(lang)
        if data is None:
            return gvl
        memo = self._memo.get(lang)
        if memo is not None and memo[0] is gvl and memo[1] is data:
            return memo[2]
        try:
            translated = with_translation(gvl, data, lang)
        except GvlError:  # read once already when it came; English rather than an error
            return gvl
        self._memo[lang] = (gvl, data, translated)
        return translated

    def status(self) -> GvlStatus:
        gvl, resource = self.current(), self._list
        source = resource.source if resource is not None and resource.value is not None else "bundled"
        error = resource.last_error if resource is not None else None
        return GvlStatus(gvl.vendor_list_version, gvl.tcf_policy_version, source, error)

    async def refresh(self) -> None:
        """One round of upkeep for the list and every translation (what the background task runs every
        POLL_S; tests call it with their own clock). Never raises."""
        before = self.current().tcf_policy_version
        resources = [r for r in (self._list, *self._translations.values()) if r is not None]
        for resource, outcome in zip(
            resources, await asyncio.gather(*(r.step() for r in resources), return_exceptions=True), strict=True
        ):
            if isinstance(outcome, Exception):  # a bug: logged, and the copy in use stays
                log.error("GVL %s: upkeep failed", resource.label, exc_info=outcome)
        after = self.current().tcf_policy_version
        if after != before:
            log.warning("GVL: TCF policy version %d (was %d): TC strings of the old one are out of date", after, before)

    async def start(self) -> None:
        """Start the background task and return at once (the bundled list serves until a copy is found)."""
        if self._task is None and (self._list is not None or self._translations):
            self._task = asyncio.create_task(self._run(), name="gvl-upkeep")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._client is not None:
            await self._client.aclose()

    async def _run(self) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(self._poll_s)

    def _translation(self, lang: str) -> bytes | None:
        resource = self._translations.get(lang)
        if resource is not None:
            return resource.copy.body if resource.copy is not None and resource.value is not None else None
        return self._demo.get(lang)

    def _resource(
        self, label: str, url: str, read: Callable[[bytes], Gvl], describe: Callable[[Gvl], str], max_bytes: int
    ) -> Resource[Gvl]:
        assert self._client is not None
        return Resource(
            label, url, read, describe, max_bytes=max_bytes, policy=self._policy, client=self._client,
            cache=self._cache, directory=self._directory, clock=self._clock,
        )  # fmt: skip

    def _translation_reader(self, lang: str) -> Callable[[bytes], Gvl]:
        return lambda data: with_translation(self._bundled, data, lang)  # GvlError for what is no translation


def _describe(gvl: Gvl) -> str:
    return f"version {gvl.vendor_list_version}, TCF policy {gvl.tcf_policy_version}"
