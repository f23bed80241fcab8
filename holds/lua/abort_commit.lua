-- abort_commit: move a committing hold back to held with expiry now + ttl (owner- and fence-checked).
-- KEYS: 1 holds, 2 by-start, 3 by-expiry, 4 by-owner, 5 meta (see _common.lua)
-- ARGV: 1 clock ('' = Redis TIME, or a test's now_ms), 2 uid, 3 owner, 4 fence, 5 ttl_ms
-- returns {0, uid, record} | {2} not found | {3} not owned | {4} stale fence (also after finish_commit)
local uid, owner, fence, ttl = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local r, code = owned(uid, owner, false)
if not r then return {code} end
if r.state ~= 'c' or r.fence ~= fence then return {4} end
r.state = 'h'
r.exp = NOW + ttl
save(uid, r)
touch()
return ok_hold(uid, r)
