-- Helpers of every script that writes the audit trail (prepended to it by store/scripts.py).

-- Append an entry to a bucket's audit stream (trimmed by age as it goes) and keep the stream alive
-- for the retention period after its newest entry, so a bucket that falls idle disappears once
-- everything in it is past retention.
local function audit_append(key, minid, retention, entry)
  redis.call('XADD', key, 'MINID', '~', minid, '*', unpack(entry))
  -- Slide the stream's lifetime forward, never shorten it (a process with a shorter retention
  -- setting must not cut what another keeps).
  local current = redis.call('PTTL', key)
  if current < retention then redis.call('PEXPIRE', key, retention) end
end
-- A request is recorded once per request id: a client's automatic retry after a dropped
-- connection finds its marker.
local function first_time(marker)
  return redis.call('SET', marker, '1', 'NX', 'PX', 600000)
end
-- Append a list's items to an entry (a request's optional fields, as name/value pairs).
local function append_all(entry, items)
  for _, v in ipairs(items) do table.insert(entry, v) end
  return entry
end
