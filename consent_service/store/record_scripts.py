"""The Lua scripts of a device's record (records.py runs them): each change, its history, its audit
entry and its partners' events in one atomic step on the bucket's slot.

Each script's KEYS and ARGV are described above it; records.py builds them. The helpers they use
(audit_append, outbox_emit, …) are prepended at registration: trail.LUA_AUDIT, outbox_scripts.LUA_OUTBOX.
"""

from __future__ import annotations

# KEYS: record, history, audit, the bucket's carry-over set (accounts owed an opt-out).
# ARGV: 1 now_ms, 2 day, 3 record ttl ms, 4 retention ms, 5 provisional ttl ms, 6 stream min id (ms),
#       7 new audit ref, 8 gpc seen (0/1), 9 policy version, 10 action ('' = none), 11 source,
#       12 regime, 13 region, 14 device class, 15 site, 16 deadline (Redis clock, ms), 17 change id,
#       18 carry an opt-out to the linked account (0/1), 19 ttl of a record with GPC (ms),
#       20 the acknowledgement time (ms) of a carried opt-out this change writes ('' = none),
#       21 number of audit fields for the action's entry, then name/value pairs (trail.flat), then
#       the number of choices, then purpose/granted pairs, then the partners' spec (partners.py, '' =
#       none). KEYS 5-7: the bucket's outbox (out, due, dst; store/outbox.py).
# Returns {status, 1 if GPC was first recorded now else 0, the record as a flat HGETALL list, and
# (when written) the purposes whose granted bit changed, each with its state before ('' = none)}.
#
# Timestamps are ordered by the sequence of writes, not by the callers' clocks (replicas' clocks
# differ): GPC's first-seen time is later than every earlier choice, and a choice made after GPC
# was recorded is later than it, unless it came in the same request as the first GPC signal.
APPLY_LUA = """
local dev, log, audit, carry = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local out, due, dst = KEYS[5], KEYS[6], KEYS[7]
-- A retried change that already landed is reported as done, even after its deadline.
if redis.call('HGET', dev, 'lc') == ARGV[17] then
  return {0, 0, redis.call('HGETALL', dev)}
end
local t = redis.call('TIME')
if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > tonumber(ARGV[16]) then
  return {-1, 0, {}}
end
-- An opt-out carried in a token is written once: concurrent requests (the banner and the ad tags
-- call at once) or a replayed old token find it done.
local settles = tonumber(ARGV[20])
if settles and tonumber(redis.call('HGET', dev, 'po') or '-1') >= settles then
  return {0, 0, redis.call('HGETALL', dev)}
end
local fresh = redis.call('EXISTS', dev) == 0
if fresh and ARGV[10] == '' and ARGV[8] ~= '1' then
  return {-2, 0, {}}  -- a refresh of a record that expired or was deleted meanwhile: keep it gone
end
local now, day = tonumber(ARGV[1]), ARGV[2]
local function ms(n) return string.format('%.0f', n) end
local ref = redis.call('HGET', dev, 'ar')
if not ref then
  ref = ARGV[7]
  redis.call('HSET', dev, 'ar', ref, 'ct', ms(now))
end
redis.call('HSET', dev, 'lc', ARGV[17])
local function fields()
  local flat = redis.call('HGETALL', dev)
  local out = {}
  for i = 1, #flat, 2 do out[flat[i]] = flat[i + 1] end
  return out
end
local function choices_now()
  local out = {}
  for name, value in pairs(fields()) do
    if string.sub(name, 1, 2) == 'c:' then
      table.insert(out, string.sub(name, 3) .. '=' .. string.sub(value, 1, 1))
    end
  end
  table.sort(out)
  return table.concat(out, ',')
end
local extra, choices_at = with_extra({}, 21)
local n = tonumber(ARGV[choices_at])
local spec = outbox_spec(ARGV[choices_at + 1 + 2 * n])
local function trail(action, source, stamp, more)
  local entry = {'t', ms(stamp), 'site', ARGV[15], 'ref', ref, 'a', action, 's', source, 'rm', ARGV[12],
                 'rg', ARGV[13], 'pv', ARGV[9], 'c', choices_now(), 'dc', ARGV[14]}
  for _, v in ipairs(more) do table.insert(entry, v) end
  -- The change's id: its partner events are `<id>.<type>`, so the audit ties each delivery (its
  -- `partner_notified` entry) to this entry without the outbox holding the device's reference.
  if spec then
    table.insert(entry, 'ev')
    table.insert(entry, spec.eid)
  end
  audit_append(audit, ARGV[6], tonumber(ARGV[4]), entry)
  redis.call('XADD', log, 'MINID', '~', ARGV[6], '*', unpack(entry))
end
-- GPC first: its first-seen time is written before any choice of the same request, and after
-- every earlier choice.
local gpc_new = 0
local g1 = tonumber(redis.call('HGET', dev, 'g1') or '')
if ARGV[8] == '1' then
  if not g1 then
    g1 = now
    for name, value in pairs(fields()) do
      if string.sub(name, 1, 2) == 'c:' then
        local at = tonumber(string.match(value, '^[01]:(%d+)') or '0')
        if at >= g1 then g1 = at + 1 end
      end
    end
    redis.call('HSET', dev, 'g1', ms(g1))
    gpc_new = 1
    trail('gpc', 'gpc', g1, {'rq', 'opt_out', 'ans', 'complied'})
  end
  redis.call('HSET', dev, 'gd', day)
end
local stamp = now
if g1 and gpc_new == 0 and stamp <= g1 then stamp = g1 + 1 end
if gpc_new == 1 then stamp = g1 end
local changed = {}
for i = 0, n - 1 do
  local purpose, granted = ARGV[choices_at + 1 + 2 * i], ARGV[choices_at + 2 + 2 * i]
  local before = redis.call('HGET', dev, 'c:' .. purpose)
  local later = settles and before and tonumber(string.match(before, '^[01]:(%d+)') or '0') > settles
  if not later then  -- a carried opt-out never overwrites a choice made after it was acknowledged
    local was = before and string.sub(before, 1, 1) or ''
    if was ~= granted then
      table.insert(changed, purpose)
      table.insert(changed, was)
    end
    redis.call('HSET', dev, 'c:' .. purpose, granted .. ':' .. ms(stamp) .. ':' .. ARGV[9])
  end
end
if settles then redis.call('HSET', dev, 'po', ARGV[20]) end
-- The partners' events (store/outbox.py), in this same step: an opt-out where refusing a sale or
-- sharing is an opt-out (not in opt_in regimes, where nothing was sold without consent), a consent
-- withdrawn, a first GPC signal.
if spec then
  -- An agent acts from nowhere: the device's own last region and regime say what its refusal is.
  local regime, region = ARGV[12], ARGV[13]
  if ARGV[11] == 'agent' and redis.call('HEXISTS', dev, 'rm') == 1 then
    regime, region = redis.call('HGET', dev, 'rm'), redis.call('HGET', dev, 'rg') or ''
  end
  -- The clock of §7026 starts at the request: an agent's receipt, or a carried opt-out's acknowledgement.
  local asked = stamp
  for i = 1, #extra, 2 do if extra[i] == 'rcv' then asked = tonumber(extra[i + 1]) or stamp end end
  if settles then asked = settles end
  local ss, opted, withdrawn, any_opt, any_withdrawn = {}, {}, {}, false, false
  for _, purpose in ipairs(spec.ss) do ss[purpose] = true end
  for i = 1, #changed, 2 do
    local purpose, was = changed[i], changed[i + 1]
    if string.sub(redis.call('HGET', dev, 'c:' .. purpose) or '', 1, 1) == '0' then
      if ss[purpose] and regime ~= 'opt_in' then
        opted[purpose], any_opt = true, true
      elseif was == '1' then
        withdrawn[purpose], any_withdrawn = true, true
      end
    end
  end
  local data = {'rg', region, 'rm', regime, 'c', choices_now(), 's', ARGV[11],
                'g', redis.call('HEXISTS', dev, 'g1') == 1 and '1' or '0',
                'ao', redis.call('HEXISTS', dev, 'tao') == 1 and '1' or '0'}
  local minid, keep = ARGV[6], tonumber(ARGV[4])
  if gpc_new == 1 then outbox_emit(out, due, dst, spec, ms(g1), 'gpc', ss, data, minid, keep) end
  if any_opt then outbox_emit(out, due, dst, spec, ms(asked), 'opt_out', opted, data, minid, keep) end
  if any_withdrawn then
    outbox_emit(out, due, dst, spec, ms(asked), 'consent_withdrawn', withdrawn, data, minid, keep)
  end
end
redis.call('HSET', dev, 'rf', day)
if ARGV[10] ~= '' then
  redis.call('HSET', dev, 'ut', ms(stamp), 'pv', ARGV[9], 'src', ARGV[11], 'rm', ARGV[12], 'rg', ARGV[13],
             'dc', ARGV[14])
  trail(ARGV[10], ARGV[11], stamp, extra)
end
-- An opt-out is kept for the retention period; a device first seen by a GPC sighting only
-- provisionally (until it comes back with its token); anything else for the record TTL.
local ttl = tonumber(ARGV[3])
if fresh and ARGV[10] == '' then ttl = tonumber(ARGV[5]) end
local flat = redis.call('HGETALL', dev)
for i = 1, #flat, 2 do
  local name, value = flat[i], flat[i + 1]
  if name == 'tao' or name == 'acct' or (string.sub(name, 1, 2) == 'c:' and string.sub(value, 1, 1) == '0') then
    ttl = tonumber(ARGV[4])
  elseif name == 'g1' and not (fresh and ARGV[10] == '') and ttl < tonumber(ARGV[19]) then
    ttl = tonumber(ARGV[19])
  end
end
-- The account-wide opt-out is owed: queued here, atomically with the change (drained by the service).
local account = redis.call('HGET', dev, 'acct')
if ARGV[18] == '1' and account then redis.call('SADD', carry, account) end
-- Slide forward, never shorten (Redis 6.2 has no EXPIRE GT). History lives as long as the audit.
for key, keep in pairs({[dev] = ttl, [log] = tonumber(ARGV[4])}) do
  local current = redis.call('PTTL', key)
  if current == -1 or (current >= 0 and current < keep) then redis.call('PEXPIRE', key, keep) end
end
return {1, gpc_new, flat, changed}
"""


# KEYS: record, out, due, dst. ARGV: 1 now_ms, 2 stream min id, 3 retention ms, 4 the partners' spec.
# Returns how many events were written.
COVERED_LUA = """
local dev = KEYS[1]
local spec = outbox_spec(ARGV[4])
if not spec then return 0 end
local ss, own = {}, true
for _, purpose in ipairs(spec.ss) do
  ss[purpose] = true
  if string.sub(redis.call('HGET', dev, 'c:' .. purpose) or '', 1, 1) ~= '0' then own = false end
end
if own then return 0 end  -- the device's own opt-out was told already
local choices = {}
for _, name in ipairs(redis.call('HKEYS', dev)) do
  if string.sub(name, 1, 2) == 'c:' and not ss[string.sub(name, 3)] then
    table.insert(choices, string.sub(name, 3) .. '=' .. string.sub(redis.call('HGET', dev, name), 1, 1))
  end
end
for purpose in pairs(ss) do table.insert(choices, purpose .. '=0') end
table.sort(choices)
local gpc = redis.call('HEXISTS', dev, 'g1') == 1 and '1' or '0'
local data = {'rg', redis.call('HGET', dev, 'rg') or '', 'rm', redis.call('HGET', dev, 'rm') or '',
              'c', table.concat(choices, ','), 's', 'account', 'g', gpc, 'ao', '1'}
return outbox_emit(KEYS[2], KEYS[3], KEYS[4], spec, ARGV[1], 'opt_out', ss, data, ARGV[2], tonumber(ARGV[3]))
"""


# KEYS: record, history, audit, request id marker. ARGV: 1 now_ms, 2 retention ms, 3 stream min id,
# 4 site, 5 the linked account had opted out (0/1), 6 source, 7 the sale/share purpose ids (comma
# separated), 8 number of request fields for the entry, then name/value pairs, then the partners'
# spec (partners.OutboxSpecs). KEYS 5-7: the bucket's outbox (out, due, dst).
# Returns {1 if anything was held else 0, the tombstone as a flat list, the account it was linked to}.
ERASE_LUA = """
local dev, log, audit = KEYS[1], KEYS[2], KEYS[3]
local found = redis.call('EXISTS', dev) + redis.call('EXISTS', log) > 0
local account = redis.call('HGET', dev, 'acct') or ''
local region = redis.call('HGET', dev, 'rg') or ''
-- Deleting what is already only a tombstone deletes nothing new: the partners heard of it before.
local only_tombstone = redis.call('HEXISTS', dev, 'del') == 1 and redis.call('EXISTS', log) == 0
local sale_share = {}
for purpose in string.gmatch(ARGV[7], '[^,]+') do sale_share['c:' .. purpose] = true end
local kept = {}
local flat = redis.call('HGETALL', dev)
for i = 1, #flat, 2 do
  local name, value = flat[i], flat[i + 1]
  -- What must survive: a refused sale/share purpose, a GPC signal, the account's opt-out. Nothing
  -- else does (a refused analytics purpose is no opt-out of sale: deleting it is what was asked).
  if (sale_share[name] and string.sub(value, 1, 1) == '0') or name == 'g1' or name == 'tao' then
    table.insert(kept, name)
    table.insert(kept, value)
  end
end
-- The account's opt-out covered this device: its bare fact stays, without the link to the account.
if ARGV[5] == '1' and redis.call('HGET', dev, 'tao') ~= '1' then
  table.insert(kept, 'tao')
  table.insert(kept, '1')
end
redis.call('DEL', dev, log)
if #kept > 0 then
  table.insert(kept, 'del')
  table.insert(kept, ARGV[1])
  redis.call('HSET', dev, unpack(kept))
  redis.call('PEXPIRE', dev, tonumber(ARGV[2]))
end
-- The deletion itself is recorded (once per request id), without any reference to the device.
if first_time(KEYS[4]) then
  local entry = {'t', ARGV[1], 'site', ARGV[4], 'ref', '', 'a', 'delete', 's', ARGV[6],
                 'tomb', #kept > 0 and '1' or '0'}
  local _, spec_at = with_extra(entry, 8)
  audit_append(audit, ARGV[3], tonumber(ARGV[2]), entry)
  -- The partners hear of the deletion; what they get carries no reference to the device's audit.
  if found and not only_tombstone then
    local choices = {}
    for i = 1, #kept, 2 do
      if string.sub(kept[i], 1, 2) == 'c:' then
        table.insert(choices, string.sub(kept[i], 3) .. '=' .. string.sub(kept[i + 1], 1, 1))
      end
    end
    table.sort(choices)
    local data = {'rg', region, 'rm', '', 'c', table.concat(choices, ','), 's', ARGV[6],
                  'g', redis.call('HEXISTS', dev, 'g1') == 1 and '1' or '0',
                  'ao', redis.call('HEXISTS', dev, 'tao') == 1 and '1' or '0'}
    outbox_emit(KEYS[5], KEYS[6], KEYS[7], outbox_spec(ARGV[spec_at]), ARGV[1], 'deletion', nil, data, ARGV[3],
                tonumber(ARGV[2]))
  end
end
return {found and 1 or 0, kept, account}
"""


# KEYS: record, history, audit, request id marker. ARGV: 1 now_ms, 2 stream min id, 3 site,
# 4 retention ms, 5 source, 6 number of request fields, then name/value pairs.
# Returns {the record as a flat list, the history (XRANGE)}.
ACCESS_LUA = """
local dev, log, audit = KEYS[1], KEYS[2], KEYS[3]
local record = redis.call('HGETALL', dev)
local history = redis.call('XRANGE', log, '-', '+')
local ref = redis.call('HGET', dev, 'ar')
if first_time(KEYS[4]) then
  local entry = with_extra({'t', ARGV[1], 'site', ARGV[3], 'ref', ref or '', 'a', 'access', 's', ARGV[5]}, 6)
  audit_append(audit, ARGV[2], tonumber(ARGV[4]), entry)
  if ref then  -- a live device (not a deleted one's tombstone) keeps its request in its own history
    redis.call('XADD', log, 'MINID', '~', ARGV[2], '*', unpack(entry))
    if redis.call('PTTL', log) < tonumber(ARGV[4]) then redis.call('PEXPIRE', log, tonumber(ARGV[4])) end
  end
end
return {record, history}
"""


# KEYS: record, history, audit. ARGV: 1 now_ms, 2 record ttl ms, 3 retention ms, 4 stream min id,
# 5 site, 6 new audit reference, 7 the account's pseudonym, 8 'link' or 'unlink' (only from that account).
# Returns {the account linked before ('' = none), the record as a flat list ({} = none)}.
LINK_LUA = """
local dev, log, audit = KEYS[1], KEYS[2], KEYS[3]
local before = redis.call('HGET', dev, 'acct') or ''
local unlink = ARGV[8] == 'unlink'
if (before == ARGV[7]) ~= unlink then
  return {before, redis.call('HGETALL', dev)}  -- nothing to change: nothing recorded
end
local now = ARGV[1]
local fresh = redis.call('EXISTS', dev) == 0
if unlink then
  redis.call('HDEL', dev, 'acct', 'al')
else
  if fresh then redis.call('HSET', dev, 'ct', now) end
  -- A deleted device's tombstone has no audit reference any more: it gets a new one.
  redis.call('HSETNX', dev, 'ar', ARGV[6])
  redis.call('HSET', dev, 'acct', ARGV[7], 'al', now)
end
local entry = {'t', now, 'site', ARGV[5], 'ref', redis.call('HGET', dev, 'ar'), 'a', ARGV[8], 's', 'account'}
audit_append(audit, ARGV[4], tonumber(ARGV[3]), entry)
redis.call('XADD', log, 'MINID', '~', ARGV[4], '*', unpack(entry))
-- A linked record lives as long as the audit (the account may opt out through another device).
for key, keep in pairs({[dev] = tonumber(ARGV[unlink and 2 or 3]), [log] = tonumber(ARGV[3])}) do
  local current = redis.call('PTTL', key)
  if current == -1 or (current >= 0 and current < keep) then redis.call('PEXPIRE', key, keep) end
end
return {before, redis.call('HGETALL', dev)}
"""
