-- A device joins or leaves an account's list (accounts.Accounts.add_device, remove_device, touch).
--
-- KEYS: 1 account.
-- ARGV: 1 now_ms, 2 retention ms, 3 device id, 4 add (1), remove (0) or make sure it is listed (2),
--       5 new audit ref.
-- Returns the account as a flat list.
local acct = KEYS[1]
if ARGV[4] == '2' then
  if redis.call('EXISTS', acct) == 1 then
    redis.call('HSETNX', acct, 'd:' .. ARGV[3], ARGV[1])
    redis.call('PEXPIRE', acct, tonumber(ARGV[2]))
  end
elseif ARGV[4] == '1' then
  -- A new account, or the tombstone of a deleted one: a fresh audit reference either way.
  if redis.call('HEXISTS', acct, 'ar') == 0 then redis.call('HSET', acct, 'ar', ARGV[5], 'ct', ARGV[1]) end
  redis.call('HSET', acct, 'd:' .. ARGV[3], ARGV[1])
  redis.call('PEXPIRE', acct, tonumber(ARGV[2]))
else
  redis.call('HDEL', acct, 'd:' .. ARGV[3])
end
return redis.call('HGETALL', acct)
