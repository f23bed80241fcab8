-- extend_hold: set a held hold's expiry to now + ttl (owner-checked).
-- KEYS: 1 holds, 2 by-start, 3 by-expiry, 4 by-owner, 5 meta (see _common.lua)
-- ARGV: 1 clock ('' = Redis TIME, or a test's now_ms), 2 uid, 3 owner, 4 ttl_ms
-- returns {0, uid, record} | {2} not found (absent, expired or booked) | {3} not owned | {5} committing
local uid, owner, ttl = ARGV[2], ARGV[3], tonumber(ARGV[4])
local r, code = owned(uid, owner, true)
if not r then return {code} end
if r.state == 'c' then return {5} end
r.exp = NOW + ttl
save(uid, r)
touch()
return ok_hold(uid, r)
