-- Forget outbox entries delivered or given up before a cutoff (outbox.Outbox.trim): their entries,
-- states and attempts. Pending entries are never trimmed.
--
-- KEYS: 1 out, 2 due, 3 dst, 4 done, 5 dead, 6 att.
-- ARGV: 1 the cutoff (ms).
-- Returns how many entries went.
local out, due, dst, done, dead, att = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local n = 0
for _, set in ipairs({done, dead}) do
  local ids = redis.call('ZRANGEBYSCORE', set, '-inf', '(' .. ARGV[1], 'LIMIT', 0, 5000)
  for _, id in ipairs(ids) do
    redis.call('HDEL', dst, id, 'l:' .. id)
    redis.call('ZREM', set, id)
    redis.call('XDEL', out, id)
    n = n + 1
  end
end
redis.call('XTRIM', att, 'MINID', ARGV[1])
return n
