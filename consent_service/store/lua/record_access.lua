-- An access request for a device (records.Store.access): everything held for it, read in the same
-- atomic step that records the request in the audit trail (and in its own history, if it has one).
--
-- KEYS: 1 record, 2 history, 3 audit, 4 request id marker.
-- ARGV[1]: a JSON object (scripts.named): now_ms, min_id (the streams' trim point, ms), site,
--   retention_ms, source, request (the request's audit fields: name/value pairs).
-- Returns {the record as a flat list, the history (XRANGE)}.
local dev, log, audit = KEYS[1], KEYS[2], KEYS[3]
local a = cjson.decode(ARGV[1])
local record = redis.call('HGETALL', dev)
local history = redis.call('XRANGE', log, '-', '+')
local ref = redis.call('HGET', dev, 'ar')
if first_time(KEYS[4]) then
  local entry = append_all({'t', a.now_ms, 'site', a.site, 'ref', ref or '', 'a', 'access', 's', a.source}, a.request)
  audit_append(audit, a.min_id, tonumber(a.retention_ms), entry)
  if ref then  -- a live device (not a deleted one's tombstone) keeps its request in its own history
    redis.call('XADD', log, 'MINID', '~', a.min_id, '*', unpack(entry))
    if redis.call('PTTL', log) < tonumber(a.retention_ms) then redis.call('PEXPIRE', log, tonumber(a.retention_ms)) end
  end
end
return {record, history}
