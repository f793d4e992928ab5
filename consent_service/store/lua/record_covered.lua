-- A device just linked to an account that had opted out (records.Store.covered_by_account): its
-- partners hear that the device is opted out now, unless its own opt-out told them already.
--
-- KEYS: 1 record, 2-4 the bucket's outbox (out, due, dst).
-- ARGV[1]: a JSON object (scripts.named): now_ms, min_id (the stream's trim point, ms), retention_ms.
-- ARGV[2]: the partners' spec (partners.OutboxSpecs; '' = none).
-- Returns how many events were written.
local dev = KEYS[1]
local a = cjson.decode(ARGV[1])
local spec = outbox_spec(ARGV[2])
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
return outbox_emit(KEYS[2], KEYS[3], KEYS[4], spec, a.now_ms, 'opt_out', ss, data, a.min_id, tonumber(a.retention_ms))
