-- tenant_holds_record: count a hold a tenant just acquired, atomically, against its budgets.
-- KEYS: 1 the tenant's zset of live holds, 2 its zset for the hold's resource and UTC day (same hash tag);
--       members "resource|start|uid", scored by the hold's expiry (ms, Redis's clock like the holds)
-- ARGV: 1 now_ms, or '' for Redis's own clock (TIME; production), 2 member, 3 expiry ms, 4 tenant budget,
--       5 day cap
-- Prunes expired entries, adds the hold, and takes it back out when either count is now over its limit,
-- so concurrent holds of one tenant cannot overshoot, and a hold that lost its acquire never counts. A hold
-- already counted (a refresh) is always kept.
-- Returns {1, -1} when counted, else {0, earliest expiry in the zset that is full (-1 if none)}.
local now = tonumber(ARGV[1])
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local expiry = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local known = redis.call('ZSCORE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[1], expiry, ARGV[2])
redis.call('ZADD', KEYS[2], expiry, ARGV[2])
for k = 1, 2 do
  if redis.call('PTTL', KEYS[k]) < expiry - now then
    redis.call('PEXPIRE', KEYS[k], expiry - now)
  end
end
if known then return {1, -1} end
local full = nil
if redis.call('ZCARD', KEYS[1]) > tonumber(ARGV[4]) then full = KEYS[1] end
if redis.call('ZCARD', KEYS[2]) > tonumber(ARGV[5]) then full = KEYS[2] end
if not full then return {1, -1} end
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[2])
local first = redis.call('ZRANGE', full, 0, 0, 'WITHSCORES')
if #first == 0 then return {0, -1} end
return {0, tonumber(first[2])}
