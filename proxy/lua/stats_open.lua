-- stats_open: a hold quoted or reserved for a caller opens its observation; a refresh moves the expiry only.
-- KEYS, ARGV 1-4: see stats_prelude.lua. ARGV: 5 observation id, 6 created_ms, 7 expires_ms
-- Returns 1.
redis.call('HSET', OPEN, ARGV[5], ARGV[6] .. '|' .. ARGV[7])
redis.call('ZADD', EXP, ARGV[7], ARGV[5])
sweep(SWEEP)
touch()
return 1
