-- The deletion of a device (records.Store.erase): its history and personal fields go in one atomic
-- step, only the bare fact of an opt-out stays (a tombstone); the deletion is recorded and the
-- partners hear of it.
--
-- KEYS: 1 record, 2 history, 3 audit, 4 request id marker, 5-7 the bucket's outbox (out, due, dst).
-- ARGV[1]: a JSON object (scripts.named): now_ms, retention_ms, min_id (the streams' trim point, ms),
--   site, account_opted_out (true: the linked account had opted out), source, sale_share (the
--   sale/share purpose ids), request (the request's audit fields: name/value pairs).
-- ARGV[2]: the partners' spec (partners.OutboxSpecs; '' = none).
-- Returns {1 if anything was held else 0, the tombstone as a flat list, the account it was linked to}.
local dev, log, audit = KEYS[1], KEYS[2], KEYS[3]
local a = cjson.decode(ARGV[1])
local found = redis.call('EXISTS', dev) + redis.call('EXISTS', log) > 0
local account = redis.call('HGET', dev, 'acct') or ''
local region = redis.call('HGET', dev, 'rg') or ''
-- Deleting what is already only a tombstone deletes nothing new: the partners heard of it before.
local only_tombstone = redis.call('HEXISTS', dev, 'del') == 1 and redis.call('EXISTS', log) == 0
local sale_share = {}
for _, purpose in ipairs(a.sale_share) do sale_share['c:' .. purpose] = true end
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
if a.account_opted_out and redis.call('HGET', dev, 'tao') ~= '1' then
  table.insert(kept, 'tao')
  table.insert(kept, '1')
end
redis.call('DEL', dev, log)
if #kept > 0 then
  table.insert(kept, 'del')
  table.insert(kept, a.now_ms)
  redis.call('HSET', dev, unpack(kept))
  redis.call('PEXPIRE', dev, tonumber(a.retention_ms))
elseif found then
  -- Nothing to keep, but the bare fact of the deletion and its time (no choice, no region, nothing
  -- else): the banner tells ad vendors' USP `registerDeletion` callbacks at the device's next page
  -- view of the site (DeviceRecord.deleted_ms). A random device id and a time, for as long as tombstones.
  redis.call('HSET', dev, 'del', a.now_ms)
  redis.call('PEXPIRE', dev, tonumber(a.retention_ms))
end
-- The deletion itself is recorded (once per request id), without any reference to the device.
if first_time(KEYS[4]) then
  local entry = {'t', a.now_ms, 'site', a.site, 'ref', '', 'a', 'delete', 's', a.source,
                 'tomb', #kept > 0 and '1' or '0'}
  audit_append(audit, a.min_id, tonumber(a.retention_ms), append_all(entry, a.request))
  -- The partners hear of the deletion; what they get carries no reference to the device's audit.
  if found and not only_tombstone then
    local choices = {}
    for i = 1, #kept, 2 do
      if string.sub(kept[i], 1, 2) == 'c:' then
        table.insert(choices, string.sub(kept[i], 3) .. '=' .. string.sub(kept[i + 1], 1, 1))
      end
    end
    table.sort(choices)
    local data = {'rg', region, 'rm', '', 'c', table.concat(choices, ','), 's', a.source,
                  'g', redis.call('HEXISTS', dev, 'g1') == 1 and '1' or '0',
                  'ao', redis.call('HEXISTS', dev, 'tao') == 1 and '1' or '0'}
    outbox_emit(KEYS[5], KEYS[6], KEYS[7], outbox_spec(ARGV[2]), a.now_ms, 'deletion', nil, data, a.min_id,
                tonumber(a.retention_ms))
  end
end
return {found and 1 or 0, kept, account}
