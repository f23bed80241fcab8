-- live_holds: the live holds and booked markers overlapping [window_start, window_end).
-- KEYS: 1 holds, 2 by-start, 3 by-expiry, 4 by-owner, 5 meta (see _common.lua)
-- ARGV: 1 clock ('' = Redis TIME, or a test's now_ms), 2 window_start_ms, 3 window_end_ms
-- returns {0, uid1, record1, uid2, record2, ...} in by-start order
prune()
local reply = {0}
for _, pair in ipairs(overlapping(tonumber(ARGV[2]), tonumber(ARGV[3]))) do
  reply[#reply + 1] = pair[1]
  reply[#reply + 1] = encode(pair[2])
end
touch()
return reply
