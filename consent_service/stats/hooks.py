"""What the use cases tell the statistics: each visit, device, banner, decision and write, as it
happens (StatsCounter counts them; NO_STATS where nothing is counted, e.g. in tests of one use case)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from consent_service.core.model import Decision, DeviceRecord
from consent_service.core.site import Site
from consent_service.core.visitor import Visitor
from consent_service.core.vocab import Action, Source


class StatsHooks(Protocol):
    """What the service calls (StatsCounter; NO_STATS where nothing is counted)."""

    def seen(self, visitor: Visitor, record: DeviceRecord | None, unavailable: bool) -> None: ...
    def issued(self, visitor: Visitor, device_id: str, gpc: bool) -> None: ...
    def bot(self, visitor: Visitor) -> None: ...
    def banner(self, visitor: Visitor, shown: bool) -> None: ...
    def decisions(self, visitor: Visitor, decisions: Mapping[str, Decision]) -> None: ...
    def wrote(
        self,
        visitor: Visitor,
        action: Action,
        source: Source,
        device_id: str,
        *,
        changed: bool,
    ) -> None: ...
    def over_limit(self, visitor: Visitor, *, gpc: bool) -> None: ...
    def account_opt_out(self, site: Site, now_ms: int) -> None: ...


class _NoStats:
    def seen(self, visitor: Visitor, record: DeviceRecord | None, unavailable: bool) -> None:
        pass

    def issued(self, visitor: Visitor, device_id: str, gpc: bool) -> None:
        pass

    def bot(self, visitor: Visitor) -> None:
        pass

    def banner(self, visitor: Visitor, shown: bool) -> None:
        pass

    def decisions(self, visitor: Visitor, decisions: Mapping[str, Decision]) -> None:
        pass

    def wrote(
        self,
        visitor: Visitor,
        action: Action,
        source: Source,
        device_id: str,
        *,
        changed: bool,
    ) -> None:
        pass

    def over_limit(self, visitor: Visitor, *, gpc: bool) -> None:
        pass

    def account_opt_out(self, site: Site, now_ms: int) -> None:
        pass


NO_STATS: StatsHooks = _NoStats()
