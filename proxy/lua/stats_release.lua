-- stats_release: the caller released the hold: its observation is censored now.
-- KEYS, ARGV 1-4: see stats_prelude.lua. ARGV: 5 observation id
-- Returns 1 when an open observation was closed, else 0.
return close(ARGV[5], 'r')
