-- Lease a bucket's due outbox entries (outbox.Outbox.claim): their score moves a lease ahead, so
-- no other worker gets them until the lease runs out or they are settled.
--
-- KEYS: 1 out, 2 due, 3 dst.
-- ARGV: 1 now ms, 2 lease ms, 3 limit, 4 lease token.
-- Returns {entry id, fields, state JSON} for each entry leased.
local out, due, dst = KEYS[1], KEYS[2], KEYS[3]
local now = tonumber(ARGV[1])
local claimed = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', due, '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))) do
  local entry = redis.call('XRANGE', out, id, id)
  if #entry == 0 then
    -- Delivered meanwhile, or trimmed away (older than the retention): nothing left to send.
    redis.call('ZREM', due, id)
    local raw = redis.call('HGET', dst, id)
    if raw and cjson.decode(raw).st ~= 'delivered' then redis.call('HDEL', dst, id, 'l:' .. id) end
  else
    redis.call('ZADD', due, now + tonumber(ARGV[2]), id)
    redis.call('HSET', dst, 'l:' .. id, ARGV[4])
    table.insert(claimed, {id, entry[1][2], redis.call('HGET', dst, id) or '{}'})
  end
end
return claimed
