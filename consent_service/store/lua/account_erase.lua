-- The deletion of an account (accounts.Accounts.erase): only the bare fact of its opt-out stays (a
-- tombstone); the deletion is recorded without any reference to it, and the partners hear of it.
--
-- KEYS: 1 account, 2 audit, 3 request id marker, 4-6 the bucket's outbox (out, due, dst).
-- ARGV[1]: as for account_access.lua.
-- ARGV[2]: the partners' spec (partners.OutboxSpecs; '' = none).
-- Returns the account as it was, as a flat list.
local acct, audit = KEYS[1], KEYS[2]
local a = cjson.decode(ARGV[1])
local held = redis.call('HGETALL', acct)
local opted_out = redis.call('HGET', acct, 'ao')
redis.call('DEL', acct)
if opted_out then
  redis.call('HSET', acct, 'ao', opted_out, 'del', a.now_ms)
  redis.call('PEXPIRE', acct, tonumber(a.retention_ms))
end
local entry = {'t', a.now_ms, 'site', a.site, 'ref', '', 'sub', 'account', 'a', 'delete', 's', a.source,
               'tomb', opted_out and '1' or '0'}
if first_time(KEYS[3]) then
  audit_append(audit, a.min_id, tonumber(a.retention_ms), append_all(entry, a.request))
  local spec = outbox_spec(ARGV[2])
  local tombstone_only = false
  for i = 1, #held, 2 do if held[i] == 'del' then tombstone_only = true end end
  if #held > 0 and not tombstone_only and spec then
    local choices = {}
    if opted_out then
      for _, purpose in ipairs(spec.ss) do table.insert(choices, purpose .. '=0') end
      table.sort(choices)
    end
    local data = {'rg', '', 'rm', '', 'c', table.concat(choices, ','), 's', a.source, 'g', '0',
                  'ao', opted_out and '1' or '0'}
    outbox_emit(KEYS[4], KEYS[5], KEYS[6], spec, a.now_ms, 'deletion', nil, data, a.min_id, tonumber(a.retention_ms))
  end
end
return held
