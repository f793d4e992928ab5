-- The write of one change to a device's record (records.Store.apply): the change, its history, its
-- audit entry and its partners' events in one atomic step on the bucket's slot.
--
-- KEYS: 1 record, 2 history, 3 audit, 4 the bucket's carry-over set (accounts owed an opt-out),
--       5-7 the bucket's outbox (out, due, dst; store/outbox.py).
-- ARGV[1]: the change, a JSON object (scripts.named: numbers as strings; a field left out is none):
--   now_ms, day (today's day number), record_ttl_ms, retention_ms, provisional_ms (the ttl of a
--   device first seen by a GPC sighting), gpc_ttl_ms (the ttl of a record with GPC), min_id (the
--   streams' trim point, ms), new_ref (the audit reference of a record that has none), gpc (true:
--   GPC seen), policy (version), action (left out: a refresh), source, regime, region ('' = none),
--   device_class, site, deadline_ms (on Redis's clock), change_id, carry (true: carry an opt-out to
--   the linked account), settles_ms (the acknowledgement time of a carried opt-out this change
--   writes), request (the action's audit fields: name/value pairs, trail.request_fields), choices
--   ([purpose, granted] pairs).
-- ARGV[2]: the partners' spec (partners.OutboxSpecs; '' = none).
-- Returns {status, 1 if GPC was first recorded now else 0, the record as a flat HGETALL list, and
-- (when written) the purposes whose granted bit changed, each with its state before ('' = none)}.
--
-- Timestamps are ordered by the sequence of writes, not by the callers' clocks (replicas' clocks
-- differ): GPC's first-seen time is later than every earlier choice, and a choice made after GPC
-- was recorded is later than it, unless it came in the same request as the first GPC signal.
local dev, log, audit, carry = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local out, due, dst = KEYS[5], KEYS[6], KEYS[7]
local a = cjson.decode(ARGV[1])
-- A retried change that already landed is reported as done, even after its deadline.
if redis.call('HGET', dev, 'lc') == a.change_id then
  return {0, 0, redis.call('HGETALL', dev)}
end
local t = redis.call('TIME')
if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > tonumber(a.deadline_ms) then
  return {-1, 0, {}}
end
-- An opt-out carried in a token is written once: concurrent requests (the banner and the ad tags
-- call at once) or a replayed old token find it done.
local settles = tonumber(a.settles_ms)
if settles and tonumber(redis.call('HGET', dev, 'po') or '-1') >= settles then
  return {0, 0, redis.call('HGETALL', dev)}
end
local fresh = redis.call('EXISTS', dev) == 0
if fresh and not a.action and not a.gpc then
  return {-2, 0, {}}  -- a refresh of a record that expired or was deleted meanwhile: keep it gone
end
local now, day = tonumber(a.now_ms), a.day
local function ms(n) return string.format('%.0f', n) end
local ref = redis.call('HGET', dev, 'ar')
if not ref then
  ref = a.new_ref
  redis.call('HSET', dev, 'ar', ref, 'ct', ms(now))
end
redis.call('HSET', dev, 'lc', a.change_id)
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
local spec = outbox_spec(ARGV[2])
local function trail(action, source, stamp, more)
  local entry = {'t', ms(stamp), 'site', a.site, 'ref', ref, 'a', action, 's', source, 'rm', a.regime,
                 'rg', a.region, 'pv', a.policy, 'c', choices_now(), 'dc', a.device_class}
  append_all(entry, more)
  -- The change's id: its partner events are `<id>.<type>`, so the audit ties each delivery (its
  -- `partner_notified` entry) to this entry without the outbox holding the device's reference.
  if spec then
    table.insert(entry, 'ev')
    table.insert(entry, spec.eid)
  end
  audit_append(audit, a.min_id, tonumber(a.retention_ms), entry)
  redis.call('XADD', log, 'MINID', '~', a.min_id, '*', unpack(entry))
end
-- GPC first: its first-seen time is written before any choice of the same request, and after
-- every earlier choice.
local gpc_new = 0
local g1 = tonumber(redis.call('HGET', dev, 'g1') or '')
if a.gpc then
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
for _, choice in ipairs(a.choices) do
  local purpose, granted = choice[1], choice[2] and '1' or '0'
  local before = redis.call('HGET', dev, 'c:' .. purpose)
  local later = settles and before and tonumber(string.match(before, '^[01]:(%d+)') or '0') > settles
  if not later then  -- a carried opt-out never overwrites a choice made after it was acknowledged
    local was = before and string.sub(before, 1, 1) or ''
    if was ~= granted then
      table.insert(changed, purpose)
      table.insert(changed, was)
    end
    redis.call('HSET', dev, 'c:' .. purpose, granted .. ':' .. ms(stamp) .. ':' .. a.policy)
  end
end
if settles then redis.call('HSET', dev, 'po', a.settles_ms) end
-- The partners' events (store/outbox.py), in this same step: an opt-out where refusing a sale or
-- sharing is an opt-out (not in opt_in regimes, where nothing was sold without consent), a consent
-- withdrawn, a first GPC signal.
if spec then
  -- An agent acts from nowhere: the device's own last region and regime say what its refusal is.
  local regime, region = a.regime, a.region
  if a.source == 'agent' and redis.call('HEXISTS', dev, 'rm') == 1 then
    regime, region = redis.call('HGET', dev, 'rm'), redis.call('HGET', dev, 'rg') or ''
  end
  -- The clock of §7026 starts at the request: an agent's receipt, or a carried opt-out's acknowledgement.
  local asked = stamp
  for i = 1, #a.request, 2 do if a.request[i] == 'rcv' then asked = tonumber(a.request[i + 1]) or stamp end end
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
  local data = {'rg', region, 'rm', regime, 'c', choices_now(), 's', a.source,
                'g', redis.call('HEXISTS', dev, 'g1') == 1 and '1' or '0',
                'ao', redis.call('HEXISTS', dev, 'tao') == 1 and '1' or '0'}
  local minid, keep = a.min_id, tonumber(a.retention_ms)
  if gpc_new == 1 then outbox_emit(out, due, dst, spec, ms(g1), 'gpc', ss, data, minid, keep) end
  if any_opt then outbox_emit(out, due, dst, spec, ms(asked), 'opt_out', opted, data, minid, keep) end
  if any_withdrawn then
    outbox_emit(out, due, dst, spec, ms(asked), 'consent_withdrawn', withdrawn, data, minid, keep)
  end
end
redis.call('HSET', dev, 'rf', day)
if a.action then
  redis.call('HSET', dev, 'ut', ms(stamp), 'pv', a.policy, 'src', a.source, 'rm', a.regime, 'rg', a.region,
             'dc', a.device_class)
  trail(a.action, a.source, stamp, a.request)
end
-- An opt-out is kept for the retention period; a device first seen by a GPC sighting only
-- provisionally (until it comes back with its token); anything else for the record TTL.
local sighting = fresh and not a.action
local ttl = tonumber(sighting and a.provisional_ms or a.record_ttl_ms)
local flat = redis.call('HGETALL', dev)
for i = 1, #flat, 2 do
  local name, value = flat[i], flat[i + 1]
  if name == 'tao' or name == 'acct' or (string.sub(name, 1, 2) == 'c:' and string.sub(value, 1, 1) == '0') then
    ttl = tonumber(a.retention_ms)
  elseif name == 'g1' and not sighting and ttl < tonumber(a.gpc_ttl_ms) then
    ttl = tonumber(a.gpc_ttl_ms)
  end
end
-- The account-wide opt-out is owed: queued here, atomically with the change (drained by the service).
local account = redis.call('HGET', dev, 'acct')
if a.carry and account then redis.call('SADD', carry, account) end
-- Slide forward, never shorten (Redis 6.2 has no EXPIRE GT). History lives as long as the audit.
for key, keep in pairs({[dev] = ttl, [log] = tonumber(a.retention_ms)}) do
  local current = redis.call('PTTL', key)
  if current == -1 or (current >= 0 and current < keep) then redis.call('PEXPIRE', key, keep) end
end
return {1, gpc_new, flat, changed}
