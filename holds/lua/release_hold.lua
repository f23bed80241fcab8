-- release_hold: delete a held or committing hold (owner-checked).
-- KEYS: 1 holds, 2 by-start, 3 by-expiry, 4 by-owner, 5 meta (see _common.lua)
-- ARGV: 1 now_ms, 2 uid, 3 owner
-- returns {0} released | {2} not found (absent, expired or booked) | {3} not owned
local uid, owner = ARGV[2], ARGV[3]
prune()
local r = load(uid)
if not r or r.state == 'b' then
  touch()
  return {2}
end
if r.owner ~= owner then return {3} end
drop(uid, r)
touch()
return {0}
