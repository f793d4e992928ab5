-- Move dead outbox entries back to due, with a new retry window (outbox.Outbox.replay), one batch
-- at a time so that no one script holds Redis for long.
--
-- KEYS: 1 due, 2 dst, 3 dead.
-- ARGV: 1 now ms, 2 partner ('' = every partner), 3 entries to skip, 4 batch size.
-- Returns {how many dead entries were made due again, how many were looked at}.
local due, dst, dead = KEYS[1], KEYS[2], KEYS[3]
local n = 0
local batch = redis.call('ZRANGE', dead, tonumber(ARGV[3]), tonumber(ARGV[3]) + tonumber(ARGV[4]) - 1)
for _, id in ipairs(batch) do
  local raw = redis.call('HGET', dst, id)
  local state = raw and cjson.decode(raw)
  if state and (ARGV[2] == '' or state.pt == ARGV[2]) then
    state.st = 'pending'
    state.rp = tonumber(ARGV[1])
    state.rn = tonumber(state.n) or 0  -- attempts before the replay: the backoff starts again
    redis.call('HSET', dst, id, cjson.encode(state))
    redis.call('ZREM', dead, id)
    redis.call('ZADD', due, tonumber(ARGV[1]), id)
    n = n + 1
  end
end
return {n, #batch}
