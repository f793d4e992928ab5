-- The account-wide opt-out (accounts.Accounts.opt_out): idempotent, the first one is the one
-- recorded; the partners hear of it once, for the account and each linked device.
--
-- KEYS: 1 account, 2 audit, 3 request id marker, 4-6 the bucket's outbox (out, due, dst).
-- ARGV[1]: a JSON object (scripts.named): now_ms, retention_ms, min_id (the stream's trim point, ms),
--   site, new_ref (the audit reference of an account that has none), source, request (the
--   request's audit fields: name/value pairs).
-- ARGV[2]: the partners' spec (partners.OutboxSpecs; '' = none).
-- Returns 1 if newly opted out, else 0.
local acct, audit = KEYS[1], KEYS[2]
local a = cjson.decode(ARGV[1])
local retention = tonumber(a.retention_ms)
redis.call('PEXPIRE', acct, retention)
-- A repeated opt-out changes nothing; it is recorded only when it is a request (an agent's).
if redis.call('HEXISTS', acct, 'ao') == 1 and #a.request == 0 then return 0 end
local new = redis.call('HEXISTS', acct, 'ao') == 0
if redis.call('HEXISTS', acct, 'ar') == 0 then redis.call('HSET', acct, 'ar', a.new_ref, 'ct', a.now_ms) end
if new then redis.call('HSET', acct, 'ao', a.now_ms, 'src', a.source) end
local entry = append_all({'t', a.now_ms, 'site', a.site, 'ref', redis.call('HGET', acct, 'ar'), 'sub', 'account',
                          'a', 'opt_out', 's', a.source}, a.request)
local spec = outbox_spec(ARGV[2])
if spec then
  table.insert(entry, 'ev')
  table.insert(entry, spec.eid)
end
if first_time(KEYS[3]) then audit_append(audit, a.min_id, retention, entry) end
-- The partners hear of the account's opt-out once, when it is new (store/outbox.py).
if new and spec then
  local ss, choices = {}, {}
  for _, purpose in ipairs(spec.ss) do
    ss[purpose] = true
    table.insert(choices, purpose .. '=0')
  end
  table.sort(choices)
  local data = {'rg', '', 'rm', '', 'c', table.concat(choices, ','), 's', a.source, 'g', '0', 'ao', '1'}
  outbox_emit(KEYS[4], KEYS[5], KEYS[6], spec, a.now_ms, 'opt_out', ss, data, a.min_id, retention)
  -- The fan-out: partners know devices, so each linked device is named too, by its own id for them.
  -- At most 50 (a person's devices; past that, an account shared by many is not a person's), so this
  -- script stays a few milliseconds even with many partners.
  local nth = 0
  for _, name in ipairs(redis.call('HKEYS', acct)) do
    if string.sub(name, 1, 2) == 'd:' and nth < 50 then
      nth = nth + 1
      outbox_emit(KEYS[4], KEYS[5], KEYS[6], spec, a.now_ms, 'opt_out', ss, data, a.min_id, retention,
                  string.sub(name, 3), nth)
    end
  end
end
return new and 1 or 0
