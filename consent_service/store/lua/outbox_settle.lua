-- Record a delivery attempt and its outcome (outbox.Outbox.settle): delivered (with its audit
-- entry), retry later, or dead (given up, with its audit entry).
--
-- KEYS: 1 out, 2 due, 3 dst, 4 done, 5 dead, 6 att, 7 audit.
-- ARGV[1]: a JSON object (scripts.named): entry_id, token (the lease's), now_ms, outcome
--   (delivered|retry|dead), next_ms (the next attempt, for a retry), result, retention_ms, min_id
--   (the attempts' trim point, ms), site.
-- Returns 1 when the lease was still ours, else 0.
local out, due, dst, done, dead, att, audit = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local a = cjson.decode(ARGV[1])
local id, now, outcome = a.entry_id, a.now_ms, a.outcome
local retention = tonumber(a.retention_ms)
local raw = redis.call('HGET', dst, id)
if not raw then return 0 end  -- trimmed meanwhile
local state = cjson.decode(raw)
local ours = redis.call('HGET', dst, 'l:' .. id) == a.token
state.n = (tonumber(state.n) or 0) + 1
state.la = tonumber(now)
state.lr = a.result
redis.call('XADD', att, 'MINID', '~', a.min_id, '*', 'id', id, 'ev', state.ev, 'pt', state.pt, 'n', state.n,
           't', now, 'o', outcome, 'r', a.result)
redis.call('PEXPIRE', att, retention)
local function audit_entry(action)
  local entry = {'t', now, 'site', a.site, 'ref', '', 'a', action, 's', 'partner', 'pt', state.pt,
                 'ev', state.ev, 'et', state.ty, 'evt', tostring(state.t), 'n', tostring(state.n)}
  if state.sk == 'account' then
    table.insert(entry, 'sub')
    table.insert(entry, 'account')
  end
  -- Trims nothing ('0'): a delivery worker may run with other settings than the service, and
  -- trimming the audit is the service's (on its writes and in its hourly pass).
  audit_append(audit, '0', retention, entry)
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
  redis.call('PEXPIRE', done, retention)
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
    redis.call('ZADD', due, tonumber(a.next_ms), id)
  end
  redis.call('HDEL', dst, 'l:' .. id)
end
redis.call('HSET', dst, id, cjson.encode(state))
return ours and 1 or 0
