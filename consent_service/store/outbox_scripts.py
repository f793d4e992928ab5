"""The Lua of the partner outbox (outbox.py runs the queue's scripts; records.py and accounts.py
prepend LUA_OUTBOX to the scripts that write changes, so events are written in the same step).

Each script's KEYS and ARGV are described above it.
"""

from __future__ import annotations

# Appended to the scripts that write changes (records.py, accounts.py): KEYS out, due, dst of the
# change's bucket; `spec` is a partners.OutboxSpecs JSON decoded (nil: no partners); `touched` a set of
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


# KEYS: out, due, dst. ARGV: 1 now ms, 2 lease ms, 3 limit, 4 lease token.
# Returns {entry id, fields, state JSON} for each entry leased.
CLAIM_LUA = """
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
SETTLE_LUA = """
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
TRIM_LUA = """
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
REPLAY_LUA = """
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
