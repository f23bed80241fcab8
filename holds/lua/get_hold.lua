-- get_hold: the live hold or booked marker with this uid, judged by the script's clock; writes nothing.
-- KEYS: 1 holds, 2 by-start, 3 by-expiry, 4 by-owner, 5 meta (see _common.lua)
-- ARGV: 1 clock ('' = Redis TIME, or a test's now_ms), 2 uid
-- returns {0, uid, record} live | {0} absent or expired (an expired record is left for pruning)
local raw = redis.call('HGET', H, ARGV[2])
if not raw or parse(raw).exp <= NOW then return {0} end
return {0, ARGV[2], raw}
