-- finish_commit: turn a committing hold into a booked marker that blocks everyone for booked_ttl.
-- KEYS: 1 holds, 2 by-start, 3 by-expiry, 4 by-owner, 5 meta (see _common.lua)
-- ARGV: 1 clock ('' = Redis TIME, or a test's now_ms), 2 uid, 3 owner, 4 fence, 5 booked_ttl_ms
-- returns {0} done (also when repeated with the same fence) | {2} not found | {3} not owned | {4} stale fence
local uid, owner, fence, booked_ttl = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local r, code = owned(uid, owner, false)
if not r then return {code} end
if r.state == 'b' and r.fence == fence then return {0} end
if r.state ~= 'c' or r.fence ~= fence then return {4} end
r.state = 'b'
r.exp = NOW + booked_ttl
save(uid, r)
touch()
return {0}
