-- stats_commit: a commit converted the hold: an event now, and the booked-only sample list in the same
-- round trip (a pipeline with a script would cost a SCRIPT EXISTS round trip per call).
-- KEYS 1-3: see stats_prelude.lua; 4 the booked-only sample list. ARGV 1-4: see stats_prelude.lua;
-- 5 observation id, 6 age_ms, 7 list cap
-- Returns 1 when an open observation was closed, else 0.
redis.call('LPUSH', KEYS[4], ARGV[6])
redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[7]) - 1)
return close(ARGV[5], 'b')
