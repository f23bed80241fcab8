-- live_holds: the live holds and booked markers overlapping [window_start, window_end); writes nothing, so
-- it runs as EVALSHA_RO (on a replica too). Expired records are left to the write scripts' pruning.
-- KEYS: 1 holds, 2 by-start, 3 by-expiry, 4 by-owner, 5 meta (see _common.lua)
-- ARGV: 1 clock ('' = Redis TIME, or a test's now_ms), 2 window_start_ms, 3 window_end_ms
-- returns {0, version, now, uid1, record1, uid2, record2, ...} in by-start order; version is the resource's
--         last announced change ('0' when it has none), now the script's clock
local lo, hi = tonumber(ARGV[2]), tonumber(ARGV[3])
local maxlen = tonumber(redis.call('HGET', M, 'maxlen') or '0')
local reply = {0, redis.call('HGET', M, 'v') or '0', fmt(NOW)}
for _, uid in ipairs(redis.call('ZRANGEBYSCORE', S, fmt(lo - maxlen), '(' .. fmt(hi))) do
  local raw = redis.call('HGET', H, uid)
  if raw then
    local r = parse(raw)
    if r.exp > NOW and r.stop > lo then
      reply[#reply + 1] = uid
      reply[#reply + 1] = raw
    end
  end
end
return reply
