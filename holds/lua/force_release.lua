-- force_release: operator removal of a hold or booked marker, without an owner check.
-- KEYS: 1 holds, 2 by-start, 3 by-expiry, 4 by-owner, 5 meta (see _common.lua)
-- ARGV: 1 clock ('' = Redis TIME, or a test's now_ms), 2 uid
-- returns {0, 1} a live hold was removed | {0, 0} nothing live had that uid
prune()
local r = load(ARGV[2])
if r then discard(ARGV[2], r) end
touch()
return {0, r and 1 or 0}
