-- begin_commit: move a hold to committing, extend it by the commit budget, issue a new fence.
-- KEYS: 1 holds, 2 by-start, 3 by-expiry, 4 by-owner, 5 meta (see _common.lua)
-- ARGV: 1 clock ('' = Redis TIME, or a test's now_ms), 2 uid, 3 owner, 4 budget_ms
-- returns {0, uid, record} (record carries the fence) | {2} not found | {3} not owned | {5} committing
-- A hold already committing is refused: two commits of one hold must never both go upstream.
local uid, owner, budget = ARGV[2], ARGV[3], tonumber(ARGV[4])
local r, code = owned(uid, owner, true)
if not r then return {code} end
if r.state == 'c' then return {5} end
-- The counter is seeded from the clock (x1000) whenever it is (re)created, so fences keep increasing
-- after an idle resource's keys expired, unless it committed over 1000 times per ms on average.
redis.call('HSETNX', M, 'fence', fmt(NOW * 1000))
r.fence = redis.call('HINCRBY', M, 'fence', 1)
r.state = 'c'
r.exp = NOW + budget
save(uid, r)
touch()
return ok_hold(uid, r)
