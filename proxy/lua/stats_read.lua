-- stats_read: convert whatever expired, then read the window.
-- KEYS, ARGV 1-4: see stats_prelude.lua
-- Returns {closed members within the window, the open hash as a flat list}.
sweep(CAP + 1000)
return {redis.call('ZRANGEBYSCORE', DONE, NOW - WINDOW, '+inf'), redis.call('HGETALL', OPEN)}
