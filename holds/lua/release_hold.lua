-- release_hold: delete a held or committing hold (owner-checked).
-- KEYS: 1 holds, 2 by-start, 3 by-expiry, 4 by-owner, 5 meta (see _common.lua)
-- ARGV: 1 clock ('' = Redis TIME, or a test's now_ms), 2 uid, 3 owner
-- returns {0} released | {2} not found (absent, expired or booked) | {3} not owned
local uid, owner = ARGV[2], ARGV[3]
local r, code = owned(uid, owner, true)
if not r then return {code} end
discard(uid, r)
touch()
return {0}
