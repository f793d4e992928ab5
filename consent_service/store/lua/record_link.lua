-- Link a device to an account, or unlink it from that account only (records.Store.link), recorded
-- in the audit trail and the device's history.
--
-- KEYS: 1 record, 2 history, 3 audit.
-- ARGV[1]: a JSON object (scripts.named): now_ms, record_ttl_ms, retention_ms, min_id (the streams'
--   trim point, ms), site, new_ref (the audit reference of a record that has none), account (its
--   pseudonym), op ('link' or 'unlink').
-- Returns {the account linked before ('' = none), the record as a flat list ({} = none)}.
local dev, log, audit = KEYS[1], KEYS[2], KEYS[3]
local a = cjson.decode(ARGV[1])
local before = redis.call('HGET', dev, 'acct') or ''
local unlink = a.op == 'unlink'
if (before == a.account) ~= unlink then
  return {before, redis.call('HGETALL', dev)}  -- nothing to change: nothing recorded
end
local now = a.now_ms
local fresh = redis.call('EXISTS', dev) == 0
if unlink then
  redis.call('HDEL', dev, 'acct', 'al')
else
  if fresh then redis.call('HSET', dev, 'ct', now) end
  -- A deleted device's tombstone has no audit reference any more: it gets a new one.
  redis.call('HSETNX', dev, 'ar', a.new_ref)
  redis.call('HSET', dev, 'acct', a.account, 'al', now)
end
local entry = {'t', now, 'site', a.site, 'ref', redis.call('HGET', dev, 'ar'), 'a', a.op, 's', 'account'}
audit_append(audit, a.min_id, tonumber(a.retention_ms), entry)
redis.call('XADD', log, 'MINID', '~', a.min_id, '*', unpack(entry))
-- A linked record lives as long as the audit (the account may opt out through another device).
local record_ttl = tonumber(unlink and a.record_ttl_ms or a.retention_ms)
for key, keep in pairs({[dev] = record_ttl, [log] = tonumber(a.retention_ms)}) do
  local current = redis.call('PTTL', key)
  if current == -1 or (current >= 0 and current < keep) then redis.call('PEXPIRE', key, keep) end
end
return {before, redis.call('HGETALL', dev)}
