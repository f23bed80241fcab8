-- mark_booked: place a booked marker on [start, end) without a prior hold; it blocks every owner.
-- KEYS: 1 holds, 2 by-start, 3 by-expiry, 4 by-owner, 5 meta (see _common.lua)
-- ARGV: 1 clock ('' = Redis TIME, or a test's now_ms), 2 uid, 3 start_ms, 4 end_ms, 5 ttl_ms
-- returns {0, uid, record} | {6} the uid belongs to another live hold
local uid, start, stop, ttl = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
prune()
if load(uid) then return {6} end
local r = {state = 'b', start = start, stop = stop, exp = NOW + ttl, created = NOW, fence = 0,
           seq = redis.call('HINCRBY', M, 'seq', 1), owner = ''}
save(uid, r)
note_length(r)
touch()
return ok_hold(uid, r)
