"""The account-wide opt-out as a device's visit or write carries it (CCPA: an opt-out made while
logged in covers the account): after the answer, when a linked device opted out (or sends GPC) and
its account has not yet; a failure is made good by the drain (maintenance.py)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Awaitable, Callable
from functools import partial

from consent_service.consent.maintenance import carry_opt_out
from consent_service.core.decision import Context, account_opt_out_due, own_opt_out
from consent_service.core.identity import bucket_of
from consent_service.core.model import DeviceRecord
from consent_service.core.visitor import Visitor
from consent_service.store import Store, StoreUnavailable


class AccountCarry:
    def __init__(self, store: Store, timeout_s: float) -> None:
        self._store = store
        self._timeout_s = timeout_s

    def due(self, visitor: Visitor, record: DeviceRecord | None) -> Callable[[], Awaitable[None]] | None:
        """The account-wide opt-out to write after the answer, when this linked device opted out (or
        sends GPC) and its account has not yet; None when nothing is due."""
        ctx = Context(visitor.site, visitor.regime, record, visitor.gpc_now, visitor.now_ms, policy=visitor.policy)
        if record is None or record.account is None or not account_opt_out_due(ctx):
            return None
        assert visitor.device is not None  # a record was read, so a device was known
        return partial(self.opt_out, visitor, visitor.device[0], record.account)

    async def opt_out(self, visitor: Visitor, device_id: str, account: str) -> None:
        """Best effort here: the device's change queued the account in its bucket's carry-over set
        atomically, so a failure is made good by the service's drain (maintenance.py) and, sooner,
        by the device's next visit (account_opt_out_due)."""
        with contextlib.suppress(StoreUnavailable):
            await carry_opt_out(
                self._store,
                visitor.site.id,
                bucket_of(device_id),
                account,
                now_ms=visitor.now_ms,
                timeout_s=self._timeout_s,
            )

    async def with_account(self, visitor: Visitor, device_id: str, record: DeviceRecord) -> DeviceRecord:
        """A linked device's record after a write, with its account's opt-out state: this device's
        own opt-out is carried to the account at once; otherwise the account is read. An account that
        cannot be read counts as opted out (fail closed), as on the decision path."""
        assert record.account is not None
        ctx = Context(visitor.site, visitor.regime, record, visitor.gpc_now, visitor.now_ms, policy=visitor.policy)
        if own_opt_out(ctx):
            await self.opt_out(visitor, device_id, record.account)
            return dataclasses.replace(record, account_opted_out=True)
        try:
            opted_out = await self._store.accounts.opted_out(visitor.site.id, record.account, self._timeout_s)
        except StoreUnavailable:
            opted_out = True
        return dataclasses.replace(record, account_opted_out=opted_out)
