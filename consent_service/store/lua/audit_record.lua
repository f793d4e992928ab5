-- A request about no device or account that could be identified, so it was denied
-- (trail.Trail.record_denial): its audit entry, once per request id.
--
-- KEYS: 1 audit stream, 2 request id marker.
-- ARGV: 1 stream min id, 2 retention ms, then the entry's name/value pairs.
-- Returns 1.
if first_time(KEYS[2]) then
  local entry = {}
  for i = 3, #ARGV do table.insert(entry, ARGV[i]) end
  audit_append(KEYS[1], ARGV[1], tonumber(ARGV[2]), entry)
end
return 1
