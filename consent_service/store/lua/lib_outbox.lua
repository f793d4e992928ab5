-- Helpers of the scripts that write partner events with a change (prepended to them by
-- store/scripts.py): KEYS out, due, dst of the change's bucket (store/outbox.py); `spec` is a
-- partners.OutboxSpecs JSON decoded (nil: no partners); `touched` a set of purposes (nil: every
-- partner, for a deletion); `data` extra name/value pairs for the entry.

local function hex2bin(hex)
  return (string.gsub(hex, '..', function(pair) return string.char(tonumber(pair, 16)) end))
end
-- partners.subject_id, in Lua: HMAC-SHA1 (RFC 2104) under the partner's derived key (32 bytes).
local function partner_subject(key_hex, kind, subject)
  local key, inner, outer = hex2bin(key_hex), {}, {}
  for i = 1, 64 do
    local b = string.byte(key, i) or 0
    inner[i] = string.char(bit.bxor(b, 0x36))
    outer[i] = string.char(bit.bxor(b, 0x5c))
  end
  local digest = hex2bin(redis.sha1hex(table.concat(inner) .. kind .. ':' .. subject))
  return string.sub(redis.sha1hex(table.concat(outer) .. digest), 1, 32)
end
-- `device`: write the events about that device (its id; `nth` numbers it in the change's event ids),
-- not about the change's own subject.
local function outbox_emit(out, due, dst, spec, now, etype, touched, data, minid, retention, device, nth)
  if spec == nil then return 0 end
  local written = 0
  for _, p in ipairs(spec.p) do
    local wants, concerned = false, touched == nil
    for _, e in ipairs(p.e) do if e == etype then wants = true end end
    if touched ~= nil then
      for _, u in ipairs(p.u) do if touched[u] then concerned = true end end
    end
    if wants and concerned then
      local ev, sub, kind = spec.eid .. '.' .. etype, p.s, spec.k
      if device then
        ev, sub, kind = ev .. '.' .. nth, partner_subject(p.k, 'device', device), 'device'
      end
      local entry = {'ev', ev, 'ty', etype, 'pt', p.n, 'sub', sub, 'sk', kind, 't', now}
      for _, v in ipairs(data) do table.insert(entry, v) end
      local id = redis.call('XADD', out, 'MINID', '~', minid, '*', unpack(entry))
      redis.call('ZADD', due, now, id)
      redis.call('HSET', dst, id, cjson.encode({st = 'pending', pt = p.n, ev = ev, ty = etype, t = now, n = 0,
                                                sk = kind}))
      written = written + 1
    end
  end
  if written > 0 then
    redis.call('PEXPIRE', out, retention)
    redis.call('PEXPIRE', dst, retention)
  end
  return written
end
local function outbox_spec(json)
  if json == nil or json == '' then return nil end  -- no partners (or a caller that passes none)
  return cjson.decode(json)
end
