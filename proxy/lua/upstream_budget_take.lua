-- upstream_budget_take: take one Cal.com request from a credential's shared budget (all processes).
-- KEYS: 1 the credential's sliding-window log (zset, members "<ms>:<unique>", scored by send time in ms),
--       2 its pause marker (set after a Cal.com 429, with a TTL up to Cal.com's reset); same hash tag
-- ARGV: 1 now_ms, or '' for Redis's own clock (TIME; production), 2 window ms, 3 this priority's limit
--       (requests it may see in the window before it must wait: the whole budget for commits, a share of it
--       for lower priorities, so they leave the rest to higher ones; at least 1), 4 a unique member suffix
-- A sliding log is exact: at most `limit` requests in any window, which a token bucket cannot promise
-- against Cal.com's fixed 60 s window.
-- Returns {1, 0, 0, member} when taken (the member lets a request that was never sent give its place back); {0, ms left, 1} while paused; {0, ms until room, 2} when the share is used.
local now = tonumber(ARGV[1])
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 then
  return {0, paused, 1}
end
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  local member = now .. ':' .. ARGV[4]
  redis.call('ZADD', KEYS[1], now, member)
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, 0, 0, member}
end
-- The (count - limit + 1)-th oldest request must leave the window before this priority has room again.
local oldest = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
local wait = tonumber(oldest[2]) + window - now
if wait < 1 then
  wait = 1
end
return {0, wait, 2}
