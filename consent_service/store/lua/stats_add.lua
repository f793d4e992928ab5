-- One shard's part of a statistics batch, for every day at once (stats.StatsStore.add), applied
-- once per (writer, batch): a retry after a timeout adds only what is missing.
--
-- KEYS: 1 the writer's batch marker, then per day: counters hash, devices HLL, GPC devices HLL.
-- ARGV: 1 batch number, 2 marker TTL (s), 3 number of days, then per day: expire-at (unix s),
--       number of fields, field/increment pairs, number of devices, device ids, number of GPC
--       devices, their ids. (Positional, not JSON: a batch can name thousands of devices, and
--       PFADD takes them straight from ARGV.)
-- Returns 1 when applied, 0 when this batch (or a later one of the writer) was applied before.
local seq = tonumber(ARGV[1])
if tonumber(redis.call('GET', KEYS[1]) or '-1') >= seq then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
local i = 4
for d = 0, tonumber(ARGV[3]) - 1 do
  local hash, at = KEYS[2 + 3 * d], ARGV[i]
  local n = tonumber(ARGV[i + 1])
  i = i + 2
  for _ = 1, n do
    redis.call('HINCRBY', hash, ARGV[i], ARGV[i + 1])
    i = i + 2
  end
  if n > 0 then redis.call('EXPIREAT', hash, at) end
  for k = 3, 4 do
    n = tonumber(ARGV[i])
    i = i + 1
    for first = i, i + n - 1, 500 do  -- unpack() has a stack limit: at most 500 at a time
      redis.call('PFADD', KEYS[k + 3 * d], unpack(ARGV, first, math.min(first + 499, i + n - 1)))
    end
    if n > 0 then redis.call('EXPIREAT', KEYS[k + 3 * d], at) end
    i = i + n
  end
end
return 1
