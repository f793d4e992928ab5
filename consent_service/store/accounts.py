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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from consent_service.core.digits import ascii_int
from consent_service.core.identity import bucket_of
from consent_service.core.partner import NO_PARTNERS, OutboxSpecs, SubjectKind
from consent_service.core.vocab import Source
from consent_service.store.connect import Client
from consent_service.store.errors import REDIS_ERRORS, unavailable
from consent_service.store.outbox import outbox_keys
from consent_service.store.outbox_scripts import LUA_OUTBOX
from consent_service.store.trail import KEY_VERSION, LUA_AUDIT, audit_key, flat


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
        self._member = client.register_script(_MEMBER_LUA)
        self._opt_out = client.register_script(LUA_AUDIT + LUA_OUTBOX + _OPT_OUT_LUA)
        self._access = client.register_script(LUA_AUDIT + _ACCESS_LUA)
        self._erase = client.register_script(LUA_AUDIT + LUA_OUTBOX + _ERASE_LUA)
        self._partners = NO_PARTNERS

    def tell_partners(self, specs: OutboxSpecs) -> None:
        self._partners = specs

    def _keys(self, site: str, pseudonym: str) -> list[str]:
        """The account, its bucket's audit stream, a fresh request id marker, and the bucket's
        outbox (out, due, dst): one slot."""
        bucket = bucket_of(pseudonym)
        rid = f"{KEY_VERSION}:{{{site}.{bucket:04d}}}:rid:{secrets.token_hex(8)}"
        return [account_key(site, pseudonym), audit_key(site, bucket), rid, *outbox_keys(site, bucket)]

    async def _run(self, script: object, keys: list[str], args: list[str | int], timeout_s: float) -> Any:
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
        args: list[str | int] = [
            now_ms,
            self._retention_ms,
            now_ms - self._retention_ms,
            site,
            secrets.token_hex(8),
            source,
        ]
        args += [*flat(dict(extra or {})), self._partners(site, SubjectKind.ACCOUNT, pseudonym)]
        new = await self._run(self._opt_out, self._keys(site, pseudonym), args, timeout_s)
        return bool(new == 1)  # the script's integer reply

    async def access(
        self, site: str, pseudonym: str, *, now_ms: int, source: Source, extra: Mapping[str, str], timeout_s: float
    ) -> Account:
        """The account's record, read in the step that records the access request."""
        args: list[str | int] = [now_ms, self._retention_ms, now_ms - self._retention_ms, site, source]
        args += flat(dict(extra))
        return Account(_pairs(await self._run(self._access, self._keys(site, pseudonym), args, timeout_s)))

    async def erase(
        self, site: str, pseudonym: str, *, now_ms: int, source: Source, extra: Mapping[str, str], timeout_s: float
    ) -> Account:
        """Delete the account's record, keeping only the bare fact of its opt-out (a tombstone), and
        record the deletion without any reference to it. Returns what was held before."""
        args: list[str | int] = [now_ms, self._retention_ms, now_ms - self._retention_ms, site, source]
        args += [*flat(dict(extra)), self._partners(site, SubjectKind.ACCOUNT, pseudonym)]
        return Account(_pairs(await self._run(self._erase, self._keys(site, pseudonym), args, timeout_s)))

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


# KEYS: account. ARGV: 1 now_ms, 2 retention ms, 3 device id, 4 add (1), remove (0) or make sure it is
# listed (2), 5 new audit ref. Returns the account as a flat list.
_MEMBER_LUA = """
local acct = KEYS[1]
if ARGV[4] == '2' then
  if redis.call('EXISTS', acct) == 1 then
    redis.call('HSETNX', acct, 'd:' .. ARGV[3], ARGV[1])
    redis.call('PEXPIRE', acct, tonumber(ARGV[2]))
  end
elseif ARGV[4] == '1' then
  -- A new account, or the tombstone of a deleted one: a fresh audit reference either way.
  if redis.call('HEXISTS', acct, 'ar') == 0 then redis.call('HSET', acct, 'ar', ARGV[5], 'ct', ARGV[1]) end
  redis.call('HSET', acct, 'd:' .. ARGV[3], ARGV[1])
  redis.call('PEXPIRE', acct, tonumber(ARGV[2]))
else
  redis.call('HDEL', acct, 'd:' .. ARGV[3])
end
return redis.call('HGETALL', acct)
"""

# KEYS: account, audit, request id marker, the bucket's outbox (out, due, dst). ARGV: 1 now_ms,
# 2 retention ms, 3 stream min id, 4 site, 5 new audit ref, 6 source, 7 number of request fields,
# then name/value pairs, then the partners' spec. Returns 1 if newly opted out, else 0.
_OPT_OUT_LUA = """
local acct, audit = KEYS[1], KEYS[2]
redis.call('PEXPIRE', acct, tonumber(ARGV[2]))
-- A repeated opt-out changes nothing; it is recorded only when it is a request (an agent's).
if redis.call('HEXISTS', acct, 'ao') == 1 and tonumber(ARGV[7]) == 0 then return 0 end
local new = redis.call('HEXISTS', acct, 'ao') == 0
if redis.call('HEXISTS', acct, 'ar') == 0 then redis.call('HSET', acct, 'ar', ARGV[5], 'ct', ARGV[1]) end
if new then redis.call('HSET', acct, 'ao', ARGV[1], 'src', ARGV[6]) end
local entry = {'t', ARGV[1], 'site', ARGV[4], 'ref', redis.call('HGET', acct, 'ar'), 'sub', 'account',
               'a', 'opt_out', 's', ARGV[6]}
local _, spec_at = with_extra(entry, 7)
local spec = outbox_spec(ARGV[spec_at])
if spec then
  table.insert(entry, 'ev')
  table.insert(entry, spec.eid)
end
if first_time(KEYS[3]) then audit_append(audit, ARGV[3], tonumber(ARGV[2]), entry) end
-- The partners hear of the account's opt-out once, when it is new (store/outbox.py).
if new and spec then
  local ss, choices = {}, {}
  for _, purpose in ipairs(spec.ss) do
    ss[purpose] = true
    table.insert(choices, purpose .. '=0')
  end
  table.sort(choices)
  local data = {'rg', '', 'rm', '', 'c', table.concat(choices, ','), 's', ARGV[6], 'g', '0', 'ao', '1'}
  outbox_emit(KEYS[4], KEYS[5], KEYS[6], spec, ARGV[1], 'opt_out', ss, data, ARGV[3], tonumber(ARGV[2]))
  -- The fan-out: partners know devices, so each linked device is named too, by its own id for them.
  -- At most 50 (a person's devices; past that, an account shared by many is not a person's), so this
  -- script stays a few milliseconds even with many partners.
  local nth = 0
  for _, name in ipairs(redis.call('HKEYS', acct)) do
    if string.sub(name, 1, 2) == 'd:' and nth < 50 then
      nth = nth + 1
      outbox_emit(KEYS[4], KEYS[5], KEYS[6], spec, ARGV[1], 'opt_out', ss, data, ARGV[3], tonumber(ARGV[2]),
                  string.sub(name, 3), nth)
    end
  end
end
return new and 1 or 0
"""

# KEYS: account, audit. ARGV: 1 now_ms, 2 retention ms, 3 stream min id, 4 site, 5 source, 6 number of
# request fields, then name/value pairs. Returns the account as a flat list.
_ACCESS_LUA = """
local acct, audit = KEYS[1], KEYS[2]
local entry = {'t', ARGV[1], 'site', ARGV[4], 'ref', redis.call('HGET', acct, 'ar') or '', 'sub', 'account',
               'a', 'access', 's', ARGV[5]}
if first_time(KEYS[3]) then audit_append(audit, ARGV[3], tonumber(ARGV[2]), with_extra(entry, 6)) end
return redis.call('HGETALL', acct)
"""

# KEYS: account, audit. ARGV as for access. Returns the account as it was, as a flat list.
_ERASE_LUA = """
local acct, audit = KEYS[1], KEYS[2]
local held = redis.call('HGETALL', acct)
local opted_out = redis.call('HGET', acct, 'ao')
redis.call('DEL', acct)
if opted_out then
  redis.call('HSET', acct, 'ao', opted_out, 'del', ARGV[1])
  redis.call('PEXPIRE', acct, tonumber(ARGV[2]))
end
local entry = {'t', ARGV[1], 'site', ARGV[4], 'ref', '', 'sub', 'account', 'a', 'delete', 's', ARGV[5],
               'tomb', opted_out and '1' or '0'}
local _, spec_at = with_extra({}, 6)
if first_time(KEYS[3]) then
  audit_append(audit, ARGV[3], tonumber(ARGV[2]), with_extra(entry, 6))
  local spec = outbox_spec(ARGV[spec_at])
  local tombstone_only = false
  for i = 1, #held, 2 do if held[i] == 'del' then tombstone_only = true end end
  if #held > 0 and not tombstone_only and spec then
    local choices = {}
    if opted_out then
      for _, purpose in ipairs(spec.ss) do table.insert(choices, purpose .. '=0') end
      table.sort(choices)
    end
    local data = {'rg', '', 'rm', '', 'c', table.concat(choices, ','), 's', ARGV[5], 'g', '0',
                  'ao', opted_out and '1' or '0'}
    outbox_emit(KEYS[4], KEYS[5], KEYS[6], spec, ARGV[1], 'deletion', nil, data, ARGV[3], tonumber(ARGV[2]))
  end
end
return held
"""
