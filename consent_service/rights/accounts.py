"""Account-wide opt-out: the site's backend links a logged-in person's devices to their account.

An opt-out on any linked device, or a GPC signal from one, applies to the account and so to every
linked device (decision reason `account_opt_out`, sale/share purposes only). Accounts are known by
a keyed pseudonym of the site's account id (identity.Pseudonyms); the id is never stored. Access
and deletion of an account cover its linked devices too, since that is what a person asking for
"my data" means; deletion keeps the bare fact of an opt-out, for the account and each device.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

from consent_service.consent.devices import known_device
from consent_service.core.decision import Context, own_opt_out
from consent_service.core.errors import ApiError, unavailable
from consent_service.core.identity import DeviceTokens
from consent_service.core.keyed import Pseudonyms
from consent_service.core.regions import regime_for
from consent_service.core.site import Site
from consent_service.core.vocab import ErrorCode, RequestType, Source
from consent_service.rights.device_data import (
    Asked,
    HistoryEntry,
    RecordView,
    history_view,
    record_view,
    sale_share_ids,
    when,
)
from consent_service.stats.hooks import NO_STATS, StatsHooks
from consent_service.store import Account, Store, StoreUnavailable

ACCOUNT_NOTE = (
    "This is everything this service holds about this account and the browsers linked to it. Deleting it keeps "
    "only the fact that the account opted out of the sale or sharing of personal information, if it did: deleting "
    "that too would switch the sale back on. Earlier audit entries can no longer be tied to the account."
)
ERASURE_NOTE = (
    "The account and the browsers linked to it have been deleted. Only the fact that the account opted out of "
    "the sale or sharing of personal information is kept, if it did, and any opt-out or Global Privacy Control "
    "signal of each browser, without any other detail: deleting that too would switch the sale back on. "
    "Earlier audit entries can no longer be tied to the account or its browsers."
)


# ---- the answers (the OpenAPI document's `LinkAnswer`, `AccountOptOut`, `AccountData`, `AccountErasure`)


class LinkAnswer(TypedDict):
    """A link (`linked` True: with the account's opt-out and its number of devices) or an unlink."""

    site: str
    linked: bool
    account_opted_out: NotRequired[bool]
    devices: NotRequired[int]


class AccountOptOut(TypedDict):
    site: str
    account_opted_out: Literal[True]


class AccountView(TypedDict):
    """What is held about the account itself; times RFC 3339 (UTC), None for a damaged value."""

    created: str | None
    opted_out: bool
    linked_devices: int
    opted_out_at: NotRequired[str | None]  # these two only when it opted out
    opt_out_source: NotRequired[str | None]
    deleted: NotRequired[str | None]


class LinkedDevice(TypedDict):
    linked_at: str | None
    record: RecordView | None
    history: list[HistoryEntry]


class AccountData(TypedDict):
    site: str
    account: AccountView | None  # None when nothing is held about the account
    devices: list[LinkedDevice]  # oldest link first
    note: str


class AccountTombstone(TypedDict):
    account_opted_out: Literal[True]


class AccountErasure(TypedDict):
    site: str
    deleted: bool
    devices_deleted: int
    kept: AccountTombstone | None  # the opt-out tombstone
    note: str


class AccountService:
    def __init__(
        self,
        store: Store,
        tokens: DeviceTokens,
        pseudonyms: Pseudonyms,
        timeout_s: float,
        *,
        stats: StatsHooks = NO_STATS,  # counts an account's new opt-out (stats/hooks.py)
    ) -> None:
        self._store = store
        self._tokens = tokens
        self._pseudonyms = pseudonyms
        self._timeout_s = timeout_s
        self._stats = stats

    async def device_of(self, site: Site, token: str) -> str:
        """The device id of a token of this site (a legacy token's where the site holds its record)."""
        verified = await known_device(self._store, site.id, self._tokens.verify(token, site.id), self._timeout_s)
        if verified is None:
            raise ApiError(ErrorCode.INVALID_BODY, f"`device` is not a valid device token of site {site.id!r}")
        return verified.device_id

    async def link(self, site: Site, account_id: str, token: str, now_ms: int) -> LinkAnswer:
        device_id, account = await self.device_of(site, token), self._pseudonyms.account(site.id, account_id)
        t = self._timeout_s
        try:
            before, record = await self._store.link(site.id, device_id, account, now_ms, t)
            if before is not None and before != account:  # moved from another account
                await self._store.accounts.remove_device(site.id, before, device_id, t)
            held = await self._store.accounts.add_device(site.id, account, device_id, now_ms, t)
            opted_out = held.opted_out_ms is not None
            if opted_out and before != account:  # newly covered by the account's earlier opt-out
                await self._store.covered_by_account(site.id, device_id, now_ms, t)
            # A device that opted out before it was linked opts its account out now.
            ctx = Context(site, regime_for(site.default_region, site.regimes), record, False, now_ms)
            if not opted_out and record is not None and own_opt_out(ctx):
                await self._store.accounts.opt_out(site.id, account, now_ms=now_ms, source=Source.ACCOUNT, timeout_s=t)
                opted_out = True
        except StoreUnavailable:
            raise unavailable() from None
        return {"site": site.id, "linked": True, "account_opted_out": opted_out, "devices": len(held.devices)}

    async def unlink(self, site: Site, account_id: str, token: str, now_ms: int) -> LinkAnswer:
        device_id, account = await self.device_of(site, token), self._pseudonyms.account(site.id, account_id)
        try:
            before, _ = await self._store.link(site.id, device_id, account, now_ms, self._timeout_s, unlink=True)
            if before != account:
                raise ApiError(ErrorCode.NOT_FOUND, "this device is not linked to this account")
            await self._store.accounts.remove_device(site.id, account, device_id, self._timeout_s)
        except StoreUnavailable:
            raise unavailable() from None
        return {"site": site.id, "linked": False}

    async def opt_out(self, site: Site, account_id: str, request: Asked) -> AccountOptOut:
        """An opt-out of sale/sharing for the whole account (an agent's request, for instance)."""
        account = self._pseudonyms.account(site.id, account_id)
        try:
            new = await self._store.accounts.opt_out(
                site.id,
                account,
                now_ms=request.now_ms,
                source=request.source,
                timeout_s=self._timeout_s,
                extra=request.fields(RequestType.OPT_OUT),
            )
        except StoreUnavailable:
            raise unavailable() from None
        if new:  # a repeated opt-out is not a second one
            self._stats.account_opt_out(site, request.now_ms)
        return {"site": site.id, "account_opted_out": True}

    async def access(self, site: Site, account_id: str, request: Asked) -> AccountData:
        account = self._pseudonyms.account(site.id, account_id)
        t, now = self._timeout_s, request.now_ms
        devices: list[LinkedDevice] = []
        try:
            held = await self._store.accounts.access(
                site.id,
                account,
                now_ms=now,
                source=request.source,
                extra=request.fields(RequestType.ACCESS),
                timeout_s=t,
            )
            for device_id, linked_ms in sorted(held.devices.items(), key=lambda item: item[1]):
                data = await self._store.access(
                    site.id, device_id, now_ms=now, source=request.source, extra={}, timeout_s=t
                )
                devices.append(
                    {
                        "linked_at": when(str(linked_ms)),
                        "record": record_view(data.record) if data.record else None,
                        "history": [history_view(entry) for entry in data.history],
                    }
                )
        except StoreUnavailable:
            raise unavailable() from None
        return {"site": site.id, "account": _account_view(held), "devices": devices, "note": ACCOUNT_NOTE}

    async def erase(self, site: Site, account_id: str, request: Asked) -> AccountErasure:
        """Devices first, then the account: a request that fails half-way can simply be repeated,
        since the account still lists the devices not yet deleted."""
        account = self._pseudonyms.account(site.id, account_id)
        t, now = self._timeout_s, request.now_ms
        try:
            held = await self._store.accounts.get(site.id, account, t)
            opted_out = held.opted_out_ms is not None
            for device_id in held.devices:
                await self._store.erase(
                    site.id,
                    device_id,
                    now,
                    t,
                    account_opted_out=opted_out,
                    source=request.source,
                    extra={},
                    sale_share=sale_share_ids(site),
                )
            before = await self._store.accounts.erase(
                site.id,
                account,
                now_ms=now,
                source=request.source,
                extra=request.fields(RequestType.DELETE),
                timeout_s=t,
            )
        except StoreUnavailable:
            raise unavailable() from None
        return {
            "site": site.id,
            "deleted": bool(before.fields),
            "devices_deleted": len(held.devices),
            "kept": {"account_opted_out": True} if opted_out else None,
            "note": ERASURE_NOTE,
        }


def _account_view(account: Account) -> AccountView | None:
    fields = account.fields
    if not fields:
        return None
    view: AccountView = {
        "created": when(fields.get("ct", "")),
        "opted_out": account.opted_out_ms is not None,
        "linked_devices": len(account.devices),
    }
    if account.opted_out_ms is not None:
        view["opted_out_at"] = when(fields["ao"])
        view["opt_out_source"] = fields.get("src")
    if "del" in fields:
        view["deleted"] = when(fields["del"])
    return view
