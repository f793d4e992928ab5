-- An access request for an account (accounts.Accounts.access): its record, read in the step that
-- records the request.
--
-- KEYS: 1 account, 2 audit, 3 request id marker.
-- ARGV[1]: a JSON object (scripts.named): now_ms, retention_ms, min_id (the stream's trim point, ms),
--   site, source, request (the request's audit fields: name/value pairs).
-- Returns the account as a flat list.
local acct, audit = KEYS[1], KEYS[2]
local a = cjson.decode(ARGV[1])
local entry = {'t', a.now_ms, 'site', a.site, 'ref', redis.call('HGET', acct, 'ar') or '', 'sub', 'account',
               'a', 'access', 's', a.source}
if first_time(KEYS[3]) then audit_append(audit, a.min_id, tonumber(a.retention_ms), append_all(entry, a.request)) end
return redis.call('HGETALL', acct)
