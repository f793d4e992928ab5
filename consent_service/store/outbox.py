"""The partner outbox (issue 7): events written with the change they report, delivered by leases.

Layout, per site and bucket (the audit's 1024 buckets, one Cluster slot each, so the change, its
audit entry and its events are one atomic script):
- `out`: a stream, one entry per (event, partner): the event id (shared by every partner of the
  event), type, partner, the partner's subject id, the event time and what the partner's GPP/USP
  strings are computed from (region, regime, choices after, GPC). Never the device's audit
  reference (a deletion must be able to cut that tie); an entry goes once it is delivered.
- `due`: a sorted set, entry id → when it may next be attempted (ms). An entry is in it until it is
  delivered or dead. A worker *claims* due entries by moving their score a lease ahead in one
  script, so two workers never hold the same entry at once; a worker that dies lets its lease run
  out and the entry comes due again (at-least-once).
- `dst`: a hash, entry id → its delivery state (JSON: status, attempts, last attempt and result,
  when delivered, when replayed) and `l:<entry id>` → the token of the lease holding it.
- `done` and `dead`: sorted sets of delivered and given-up entries (by when), for the listing.
- `att`: a stream of every attempt (entry, partner, attempt number, time, result), the proof.
A delivery also writes an audit entry (`partner_notified`, or `partner_failed` when given up) in the
bucket's audit stream, so the audit export shows when each event reached each partner. Event ids are
`<change id>.<type>`, and the change's own audit entry carries the change id (`ev`).

Every method raises StoreUnavailable and nothing else from Redis.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from consent_service.identity import BUCKETS
from consent_service.store.connect import Client
from consent_service.store.trail import KEY_VERSION, LUA_AUDIT, PIPELINE_BATCH, REDIS_ERRORS, audit_key, unavailable

Status = Literal["pending", "delivered", "dead"]
STATUSES: tuple[Status, ...] = ("pending", "delivered", "dead")
_STATUS_SET = {"pending": "due", "delivered": "done", "dead": "dead"}
REPLAY_BATCH = 500  # dead entries looked at per script

# Appended to the scripts that write changes (records.py, accounts.py): KEYS out, due, dst of the
# change's bucket; `spec` is partners.outbox_spec decoded (nil: no partners); `touched` a set of
# purposes (nil: every partner, for a deletion); `data` extra name/value pairs for the entry.
LUA_OUTBOX = """
local function hex2bin(hex)
  return (string.gsub(hex, '..', function(pair) return string.char(tonumber(pair, 16)) end))
end
-- partners.subject_id, in Lua: HMAC-SHA1 (RFC 2104) under the partner's derived key (32 bytes).
local function partner_subject(key_hex, kind, subject)
  local key, inner, outer = hex2bin(key_hex), {}, {}
  for i = 1, 64 do
    local b = string.byte(key, i) or 0
    inner[i] = string.char(bit.bxor(b, 0x36))
    outer[i] = string.char(bit.bxor(b, 0x5c))
  end
  local digest = hex2bin(redis.sha1hex(table.concat(inner) .. kind .. ':' .. subject))
  return string.sub(redis.sha1hex(table.concat(outer) .. digest), 1, 32)
end
-- `device`: write the events about that device (its id; `nth` numbers it in the change's event ids),
-- not about the change's own subject.
local function outbox_emit(out, due, dst, spec, now, etype, touched, data, minid, retention, device, nth)
  if spec == nil then return 0 end
  local written = 0
  for _, p in ipairs(spec.p) do
    local wants, concerned = false, touched == nil
    for _, e in ipairs(p.e) do if e == etype then wants = true end end
    if touched ~= nil then
      for _, u in ipairs(p.u) do if touched[u] then concerned = true end end
    end
    if wants and concerned then
      local ev, sub, kind = spec.eid .. '.' .. etype, p.s, spec.k
      if device then
        ev, sub, kind = ev .. '.' .. nth, partner_subject(p.k, 'device', device), 'device'
      end
      local entry = {'ev', ev, 'ty', etype, 'pt', p.n, 'sub', sub, 'sk', kind, 't', now}
      for _, v in ipairs(data) do table.insert(entry, v) end
      local id = redis.call('XADD', out, 'MINID', '~', minid, '*', unpack(entry))
      redis.call('ZADD', due, now, id)
      redis.call('HSET', dst, id, cjson.encode({st = 'pending', pt = p.n, ev = ev, ty = etype, t = now, n = 0,
                                                sk = kind}))
      written = written + 1
    end
  end
  if written > 0 then
    redis.call('PEXPIRE', out, retention)
    redis.call('PEXPIRE', dst, retention)
  end
  return written
end
local function outbox_spec(json)
  if json == nil or json == '' then return nil end  -- no partners (or a caller that passes none)
  return cjson.decode(json)
end
"""


def outbox_keys(site: str, bucket: int) -> tuple[str, str, str]:
    """(out, due, dst) of a bucket: what a change's script needs to write events."""
    tag = f"{KEY_VERSION}:{{{site}.{bucket:04d}}}"
    return f"{tag}:out", f"{tag}:due", f"{tag}:dst"


def _bucket_keys(site: str, bucket: int) -> list[str]:
    """out, due, dst, done, dead, att and the audit stream of a bucket (one slot)."""
    tag = f"{KEY_VERSION}:{{{site}.{bucket:04d}}}"
    return [*outbox_keys(site, bucket), f"{tag}:done", f"{tag}:dead", f"{tag}:att", audit_key(site, bucket)]


@dataclass(frozen=True, slots=True)
class Claimed:
    """An outbox entry a worker holds a lease on."""

    site: str
    bucket: int
    entry_id: str  # the stream entry: one event for one partner
    fields: dict[str, str]  # ev, ty, pt, sub, sk, t, and the state fields (rg, rm, c, g, ref)
    state: dict[str, Any]  # n (attempts so far), rp (replayed at, ms), …
    token: str
    lease_until_ms: int = 0  # by the claiming worker's clock: deliver and settle before this

    @property
    def event_id(self) -> str:
        return self.fields["ev"]

    @property
    def partner(self) -> str:
        return self.fields["pt"]

    @property
    def created_ms(self) -> int:
        return int(self.fields["t"])

    @property
    def attempts(self) -> int:
        return int(self.state.get("n", 0))

    @property
    def window_start_ms(self) -> int:
        """Retries run for a while after this: the event's time, or its last replay."""
        return int(self.state.get("rp") or self.created_ms)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One (event, partner) as the listing shows it."""

    entry_id: str
    event_id: str
    type: str
    partner: str
    status: str
    created_ms: int
    attempts: int
    last_attempt_ms: int | None
    last_result: str | None
    delivered_ms: int | None


Outcome = Literal["delivered", "retry", "dead"]


class Outbox:
    def __init__(self, client: Client, retention_ms: int) -> None:
        self._redis = client
        self._retention_ms = retention_ms
        self._claim = client.register_script(_CLAIM_LUA)
        self._settle = client.register_script(LUA_AUDIT + _SETTLE_LUA)
        self._replay = client.register_script(_REPLAY_LUA)
        self._trim = client.register_script(_TRIM_LUA)

    async def due_buckets(self, site: str, now_ms: int, timeout_s: float) -> list[int]:
        """The buckets with an entry due now: one cheap ZRANGEBYSCORE per bucket, pipelined."""
        found: list[int] = []
        for first in range(0, BUCKETS, PIPELINE_BATCH):
            buckets = range(first, min(first + PIPELINE_BATCH, BUCKETS))
            results = await self._pipelined(
                timeout_s, [("zrangebyscore", outbox_keys(site, b)[1], "-inf", now_ms, 0, 1) for b in buckets]
            )
            found += [b for b, ids in zip(buckets, results, strict=True) if ids]  # ids: list[str]
        return found

    async def claim(
        self, site: str, bucket: int, *, now_ms: int, lease_ms: int, limit: int, token: str, timeout_s: float
    ) -> list[Claimed]:
        """Lease up to `limit` due entries of a bucket: no other worker gets them until the lease
        runs out or they are settled."""
        raw = await self._run(self._claim, _bucket_keys(site, bucket)[:3], [now_ms, lease_ms, limit, token], timeout_s)
        claimed = []
        for entry_id, flat, state in raw:
            fields = {str(k): str(v) for k, v in zip(flat[::2], flat[1::2], strict=True)}
            state_now = json.loads(state or "{}")
            claimed.append(Claimed(site, bucket, str(entry_id), fields, state_now, token, now_ms + lease_ms))
        return claimed

    async def settle(
        self,
        claimed: Claimed,
        *,
        outcome: Outcome,
        result: str,
        now_ms: int,
        next_ms: int = 0,
        timeout_s: float,
    ) -> bool:
        """Record an attempt and its outcome: delivered (with its audit entry), retry at `next_ms`,
        or dead. False when the lease had run out and another worker holds the entry: the attempt is
        recorded, a delivery too, but the schedule is the other worker's."""
        args: list[str | int] = [
            claimed.entry_id,
            claimed.token,
            now_ms,
            outcome,
            next_ms,
            result[:200],
            self._retention_ms,
            now_ms - self._retention_ms,
            claimed.site,
        ]
        keys = _bucket_keys(claimed.site, claimed.bucket)
        return bool(await self._run(self._settle, keys, args, timeout_s))

    async def replay(self, site: str, partner: str | None, now_ms: int, timeout_s: float) -> int:
        """Move dead entries (of one partner, or all) back to due, with a new retry window."""
        replayed = 0
        for bucket in await self.dead_buckets(site, timeout_s):
            keys = _bucket_keys(site, bucket)
            skipped = 0  # another partner's dead entries stay in front: read past them
            while True:  # in batches, so no one script holds Redis for long
                args: list[str | int] = [now_ms, partner or "", skipped, REPLAY_BATCH]
                moved, seen = await self._run(self._replay, [keys[1], keys[2], keys[4]], args, timeout_s)
                replayed += int(moved)
                skipped += int(seen) - int(moved)
                if int(seen) < REPLAY_BATCH:
                    break
        return replayed

    async def trim(self, site: str, before_ms: int, timeout_s: float) -> int:
        """Forget what was delivered or given up before `before_ms` (the retention period): their
        entries, states and attempts. Pending entries are never trimmed. Returns how many went."""
        removed = 0
        for bucket in range(BUCKETS):  # one script per bucket (an hourly pass: no need to pipeline)
            removed += int(await self._run(self._trim, _bucket_keys(site, bucket)[:6], [before_ms], timeout_s))
        return removed

    async def dead_buckets(self, site: str, timeout_s: float) -> list[int]:
        cmds = [("zcard", _bucket_keys(site, b)[4]) for b in range(BUCKETS)]
        counts = await self._batched(timeout_s, cmds)
        return [b for b, n in enumerate(counts) if n]

    async def listing(
        self, site: str, status: Status, *, partner: str | None, limit: int, timeout_s: float
    ) -> list[Delivery]:
        """The newest `limit` entries with a status (by when they were delivered or died, or for
        pending ones their next attempt), of one partner or all, merged over the buckets. With a
        partner, buckets are read page by page until `limit` of its entries are found or none is left."""
        index = {"due": 1, "done": 3, "dead": 4}[_STATUS_SET[status]]
        keys = [_bucket_keys(site, b)[index] for b in range(BUCKETS)]
        out: list[tuple[float, Delivery]] = []
        open_buckets, offset = list(range(BUCKETS)), 0
        while open_buckets:
            cmds = [("zrevrange", keys[b], offset, offset + limit - 1, "withscores") for b in open_buckets]
            pages = await self._batched(timeout_s, cmds)
            found = [
                (float(score), b, str(m)) for b, page in zip(open_buckets, pages, strict=True) for m, score in page
            ]
            states = await self._batched(timeout_s, [("hget", outbox_keys(site, b)[2], m) for _, b, m in found])
            for (score, _, entry), state in zip(found, states, strict=True):
                delivery = _delivery(entry, state)
                if delivery is not None and (partner is None or delivery.partner == partner):
                    out.append((score, delivery))
            # A bucket whose page was full may hold more; only a partner filter needs them.
            full = [b for b, page in zip(open_buckets, pages, strict=True) if len(page) == limit]
            if partner is None or len(out) >= limit:
                break
            open_buckets, offset = full, offset + limit
        out.sort(key=lambda item: item[0], reverse=True)
        return [delivery for _, delivery in out[:limit]]

    async def _batched(self, timeout_s: float, cmds: Sequence[tuple[Any, ...]]) -> list[Any]:
        results: list[Any] = []
        for first in range(0, len(cmds), PIPELINE_BATCH):
            results += await self._pipelined(timeout_s, cmds[first : first + PIPELINE_BATCH])
        return results

    async def _pipelined(self, timeout_s: float, cmds: Iterable[tuple[Any, ...]]) -> list[Any]:
        try:
            async with asyncio.timeout(timeout_s):
                pipe = self._redis.pipeline(transaction=False)
                for name, *args in cmds:
                    getattr(pipe, name)(*args)
                return list(await pipe.execute())
        except REDIS_ERRORS as exc:
            raise unavailable(exc) from exc

    async def _run(self, script: object, keys: list[str], args: list[str | int], timeout_s: float) -> Any:
        try:
            async with asyncio.timeout(timeout_s):
                return await script(keys=keys, args=args)  # type: ignore[operator]
        except REDIS_ERRORS as exc:
            raise unavailable(exc) from exc


def _delivery(entry_id: str, raw: str | None) -> Delivery | None:
    if not raw:
        return None
    state = json.loads(raw)
    return Delivery(
        entry_id=entry_id,
        event_id=str(state.get("ev", "")),
        type=str(state.get("ty", "")),
        partner=str(state.get("pt", "")),
        status=str(state.get("st", "")),
        created_ms=int(state.get("t", 0)),
        attempts=int(state.get("n", 0)),
        last_attempt_ms=_opt_int(state.get("la")),
        last_result=state.get("lr"),
        delivered_ms=_opt_int(state.get("dl")),
    )


def _opt_int(value: object) -> int | None:
    return int(value) if isinstance(value, int | float | str) and str(value).isdigit() else None


# KEYS: out, due, dst. ARGV: 1 now ms, 2 lease ms, 3 limit, 4 lease token.
# Returns {entry id, fields, state JSON} for each entry leased.
_CLAIM_LUA = """
local out, due, dst = KEYS[1], KEYS[2], KEYS[3]
local now = tonumber(ARGV[1])
local claimed = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', due, '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))) do
  local entry = redis.call('XRANGE', out, id, id)
  if #entry == 0 then
    -- Delivered meanwhile, or trimmed away (older than the retention): nothing left to send.
    redis.call('ZREM', due, id)
    local raw = redis.call('HGET', dst, id)
    if raw and cjson.decode(raw).st ~= 'delivered' then redis.call('HDEL', dst, id, 'l:' .. id) end
  else
    redis.call('ZADD', due, now + tonumber(ARGV[2]), id)
    redis.call('HSET', dst, 'l:' .. id, ARGV[4])
    table.insert(claimed, {id, entry[1][2], redis.call('HGET', dst, id) or '{}'})
  end
end
return claimed
"""

# KEYS: out, due, dst, done, dead, att, audit. ARGV: 1 entry id, 2 lease token, 3 now ms,
# 4 outcome (delivered|retry|dead), 5 next attempt ms, 6 result, 7 retention ms, 8 stream min id, 9 site.
# Returns 1 when the lease was still ours, else 0.
_SETTLE_LUA = """
local out, due, dst, done, dead, att, audit = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local id, now, outcome = ARGV[1], ARGV[3], ARGV[4]
local raw = redis.call('HGET', dst, id)
if not raw then return 0 end  -- trimmed meanwhile
local state = cjson.decode(raw)
local ours = redis.call('HGET', dst, 'l:' .. id) == ARGV[2]
state.n = (tonumber(state.n) or 0) + 1
state.la = tonumber(now)
state.lr = ARGV[6]
redis.call('XADD', att, 'MINID', '~', ARGV[8], '*', 'id', id, 'ev', state.ev, 'pt', state.pt, 'n', state.n,
           't', now, 'o', outcome, 'r', ARGV[6])
redis.call('PEXPIRE', att, tonumber(ARGV[7]))
local function audit_entry(action)
  local entry = {'t', now, 'site', ARGV[9], 'ref', '', 'a', action, 's', 'partner', 'pt', state.pt,
                 'ev', state.ev, 'et', state.ty, 'evt', tostring(state.t), 'n', tostring(state.n)}
  if state.sk == 'account' then
    table.insert(entry, 'sub')
    table.insert(entry, 'account')
  end
  -- Trims nothing ('0'): a delivery worker may run with other settings than the service, and
  -- trimming the audit is the service's (on its writes and in its hourly pass).
  audit_append(audit, '0', tonumber(ARGV[7]), entry)
end
if state.st == 'delivered' then
  -- Delivered before (a late answer to a lease that had run out, say): final, whatever this says.
  redis.call('ZREM', due, id)
  redis.call('ZREM', dead, id)
  if ours then redis.call('HDEL', dst, 'l:' .. id) end
  redis.call('HSET', dst, id, cjson.encode(state))
  return ours and 1 or 0
end
if outcome == 'delivered' then
  state.st = 'delivered'
  state.dl = tonumber(now)
  redis.call('ZREM', due, id)
  redis.call('ZREM', dead, id)
  redis.call('ZADD', done, now, id)
  redis.call('PEXPIRE', done, tonumber(ARGV[7]))
  -- What was sent is no longer needed (the attempts and the audit are the proof): the pseudonymous
  -- subject goes with it.
  redis.call('XDEL', out, id)
  redis.call('HDEL', dst, 'l:' .. id)
  audit_entry('partner_notified')
elseif ours then
  if outcome == 'dead' then
    state.st = 'dead'
    redis.call('ZREM', due, id)
    redis.call('ZADD', dead, now, id)
    audit_entry('partner_failed')
  else
    redis.call('ZADD', due, tonumber(ARGV[5]), id)
  end
  redis.call('HDEL', dst, 'l:' .. id)
end
redis.call('HSET', dst, id, cjson.encode(state))
return ours and 1 or 0
"""

# KEYS: out, due, dst, done, dead, att. ARGV: 1 the cutoff (ms). Returns how many entries went.
_TRIM_LUA = """
local out, due, dst, done, dead, att = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local n = 0
for _, set in ipairs({done, dead}) do
  local ids = redis.call('ZRANGEBYSCORE', set, '-inf', '(' .. ARGV[1], 'LIMIT', 0, 5000)
  for _, id in ipairs(ids) do
    redis.call('HDEL', dst, id, 'l:' .. id)
    redis.call('ZREM', set, id)
    redis.call('XDEL', out, id)
    n = n + 1
  end
end
redis.call('XTRIM', att, 'MINID', ARGV[1])
return n
"""

# KEYS: due, dst, dead. ARGV: 1 now ms, 2 partner ('' = every partner), 3 entries to skip, 4 batch size.
# Returns {how many dead entries were made due again, how many were looked at}.
_REPLAY_LUA = """
local due, dst, dead = KEYS[1], KEYS[2], KEYS[3]
local n = 0
local batch = redis.call('ZRANGE', dead, tonumber(ARGV[3]), tonumber(ARGV[3]) + tonumber(ARGV[4]) - 1)
for _, id in ipairs(batch) do
  local raw = redis.call('HGET', dst, id)
  local state = raw and cjson.decode(raw)
  if state and (ARGV[2] == '' or state.pt == ARGV[2]) then
    state.st = 'pending'
    state.rp = tonumber(ARGV[1])
    state.rn = tonumber(state.n) or 0  -- attempts before the replay: the backoff starts again
    redis.call('HSET', dst, id, cjson.encode(state))
    redis.call('ZREM', dead, id)
    redis.call('ZADD', due, tonumber(ARGV[1]), id)
    n = n + 1
  end
end
return {n, #batch}
"""
