"""Accounts in Redis: the account-wide opt-out and the devices linked to it.

    cs1:{<site>.<bucket>}:acct:<pseudonym>   hash   `ao` opted out at (ms), `src` its source, `ar`
                                                    random audit reference, `ct` created, `d:<device
                                                    id>` linked at (ms), `del` deleted at (ms)

The pseudonym is an HMAC of the account id (identity.Pseudonyms); the id itself is never stored.
The bucket comes from the pseudonym, so accounts spread over every shard like devices do, and an
account's audit entries go to its own bucket's stream, written in the same atomic step.

The account record is the truth for the account-wide opt-out: a linked device reads it with its
own record (records.Store.get), so nothing depends on a fan-out to every device.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from consent_service.core.digits import ascii_int
from consent_service.core.identity import bucket_of
from consent_service.core.partner import NO_PARTNERS, OutboxSpecs, SubjectKind
from consent_service.core.vocab import Source
from consent_service.store import scripts
from consent_service.store.connect import Client
from consent_service.store.errors import REDIS_ERRORS, unavailable
from consent_service.store.outbox import outbox_keys
from consent_service.store.scripts import named, pairs
from consent_service.store.trail import KEY_VERSION, audit_key


def account_key(site: str, pseudonym: str) -> str:
    return f"{KEY_VERSION}:{{{site}.{bucket_of(pseudonym):04d}}}:acct:{pseudonym}"


@dataclass(frozen=True, slots=True)
class Account:
    fields: dict[str, str]  # raw fields ({} when nothing is held)

    @property
    def opted_out_ms(self) -> int | None:
        return ascii_int(self.fields.get("ao"))

    @property
    def devices(self) -> dict[str, int]:
        """Linked device ids → when they were linked (ms)."""
        linked = {name[2:]: ascii_int(v) for name, v in self.fields.items() if name.startswith("d:")}
        return {device: at for device, at in linked.items() if at is not None}


class Accounts:
    """Every method raises StoreUnavailable and nothing else from Redis."""

    def __init__(self, client: Client, retention_ms: int) -> None:
        self._redis = client
        self._retention_ms = retention_ms
        self._member = client.register_script(scripts.ACCOUNT_MEMBER)
        self._opt_out = client.register_script(scripts.ACCOUNT_OPT_OUT)
        self._access = client.register_script(scripts.ACCOUNT_ACCESS)
        self._erase = client.register_script(scripts.ACCOUNT_ERASE)
        self._partners = NO_PARTNERS

    def tell_partners(self, specs: OutboxSpecs) -> None:
        self._partners = specs

    def _keys(self, site: str, pseudonym: str) -> list[str]:
        """The account, its bucket's audit stream, a fresh request id marker, and the bucket's
        outbox (out, due, dst): one slot."""
        bucket = bucket_of(pseudonym)
        rid = f"{KEY_VERSION}:{{{site}.{bucket:04d}}}:rid:{secrets.token_hex(8)}"
        return [account_key(site, pseudonym), audit_key(site, bucket), rid, *outbox_keys(site, bucket)]

    async def _run(self, script: object, keys: list[str], args: Sequence[bytes | str | int], timeout_s: float) -> Any:
        """The script's reply: a list (a flat hash) or an integer, as each script says."""
        try:
            async with asyncio.timeout(timeout_s):
                result = await script(keys=keys, args=args)  # type: ignore[operator]
        except REDIS_ERRORS as exc:
            raise unavailable(exc) from exc
        return result

    async def add_device(self, site: str, pseudonym: str, device_id: str, now_ms: int, timeout_s: float) -> Account:
        args: list[str | int] = [now_ms, self._retention_ms, device_id, 1, secrets.token_hex(8)]
        raw = await self._run(self._member, self._keys(site, pseudonym)[:1], args, timeout_s)
        return Account(_pairs(raw))

    async def remove_device(self, site: str, pseudonym: str, device_id: str, timeout_s: float) -> None:
        args: list[str | int] = [0, self._retention_ms, device_id, 0, ""]
        await self._run(self._member, self._keys(site, pseudonym)[:1], args, timeout_s)

    async def opt_out(
        self,
        site: str,
        pseudonym: str,
        *,
        now_ms: int,
        source: Source,
        timeout_s: float,
        extra: Mapping[str, str] | None = None,
    ) -> bool:
        """Opt the account out (idempotent; the first opt-out is the one recorded). True when it was
        not opted out before. An account never seen before is created, so an agent's or a device's
        opt-out also holds for devices linked later."""
        fields = {**self._request(site, now_ms, source, extra or {}), "new_ref": secrets.token_hex(8)}
        args: list[bytes | str] = [named(fields), self._partners(site, SubjectKind.ACCOUNT, pseudonym)]
        new = await self._run(self._opt_out, self._keys(site, pseudonym), args, timeout_s)
        return bool(new == 1)  # the script's integer reply

    async def access(
        self, site: str, pseudonym: str, *, now_ms: int, source: Source, extra: Mapping[str, str], timeout_s: float
    ) -> Account:
        """The account's record, read in the step that records the access request."""
        args = [named(self._request(site, now_ms, source, extra))]
        return Account(_pairs(await self._run(self._access, self._keys(site, pseudonym), args, timeout_s)))

    async def erase(
        self, site: str, pseudonym: str, *, now_ms: int, source: Source, extra: Mapping[str, str], timeout_s: float
    ) -> Account:
        """Delete the account's record, keeping only the bare fact of its opt-out (a tombstone), and
        record the deletion without any reference to it. Returns what was held before."""
        args: list[bytes | str] = [
            named(self._request(site, now_ms, source, extra)),
            self._partners(site, SubjectKind.ACCOUNT, pseudonym),
        ]
        return Account(_pairs(await self._run(self._erase, self._keys(site, pseudonym), args, timeout_s)))

    def _request(self, site: str, now_ms: int, source: Source, extra: Mapping[str, str]) -> dict[str, object]:
        """The named arguments every account script that records a request takes."""
        return {
            "now_ms": now_ms,
            "retention_ms": self._retention_ms,
            "min_id": now_ms - self._retention_ms,
            "site": site,
            "source": source,
            "request": pairs(extra),
        }

    async def get(self, site: str, pseudonym: str, timeout_s: float) -> Account:
        try:
            async with asyncio.timeout(timeout_s):
                raw = await self._redis.hgetall(account_key(site, pseudonym))
            return Account({str(k): str(v) for k, v in raw.items()})
        except REDIS_ERRORS as exc:
            raise unavailable(exc) from exc

    async def opted_out(self, site: str, pseudonym: str, timeout_s: float) -> bool:
        try:
            async with asyncio.timeout(timeout_s):
                return bool(await self._redis.hexists(account_key(site, pseudonym), "ao"))
        except REDIS_ERRORS as exc:
            raise unavailable(exc) from exc

    async def touch(self, site: str, pseudonym: str, device_id: str, now_ms: int, timeout_s: float) -> None:
        """While a linked device keeps visiting: slide the account's lifetime (retention is fixed, so
        setting it again never shortens it), and make sure the account lists the device (a link
        whose second step failed is completed here, so account requests reach every device)."""
        args: list[str | int] = [now_ms, self._retention_ms, device_id, 2, secrets.token_hex(8)]
        await self._run(self._member, self._keys(site, pseudonym)[:1], args, timeout_s)


def _pairs(raw: list[object]) -> dict[str, str]:
    return {str(k): str(v) for k, v in zip(raw[::2], raw[1::2], strict=True)}
