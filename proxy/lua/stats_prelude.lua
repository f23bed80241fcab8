-- stats_prelude: shared by the stats_*.lua scripts (prepended to each, after `local SWEEP = <batch>`).
-- KEYS: 1 open observations (hash id -> "created_ms|expires_ms"), 2 open ids by expiry (zset),
--       3 closed observations (zset "kind|duration_ms|id" by closing ms; kind b booked, r released, x expired)
-- ARGV: 1 now_ms, 2 window_ms, 3 cap (observations kept), 4 grace_ms (a commit may still convert a hold
--       this long after its quoted expiry, so only then is it censored as expired)
local OPEN, EXP, DONE = KEYS[1], KEYS[2], KEYS[3]
local NOW, WINDOW, CAP, GRACE = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])

local function parse(v)
  local created, expires = string.match(v, '^(%d+)|(%d+)$')
  return tonumber(created), tonumber(expires)
end

local function finish(id, kind, closed, duration)
  redis.call('HDEL', OPEN, id)
  redis.call('ZREM', EXP, id)
  redis.call('ZADD', DONE, closed, kind .. '|' .. string.format('%d', math.max(0, duration)) .. '|' .. id)
end

-- Holds whose expiry passed unused (plus a commit's grace) are censored at their lifetime; past the cap,
-- the soonest-expiring open ones are censored now; closed ones leave after the window or past the cap.
local function sweep(limit)
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', EXP, '-inf', NOW - GRACE, 'LIMIT', 0, limit)) do
    local v = redis.call('HGET', OPEN, id)
    if v then
      local created, expires = parse(v)
      finish(id, 'x', expires, expires - created)
    else
      redis.call('ZREM', EXP, id)
    end
  end
  local extra = redis.call('HLEN', OPEN) - CAP
  if extra > 0 then
    for _, id in ipairs(redis.call('ZRANGE', EXP, 0, extra - 1)) do
      local created, expires = parse(redis.call('HGET', OPEN, id) or '0|0')
      local closed = math.min(NOW, expires)
      finish(id, 'x', closed, closed - created)
    end
  end
  redis.call('ZREMRANGEBYSCORE', DONE, '-inf', '(' .. string.format('%d', NOW - WINDOW))
  redis.call('ZREMRANGEBYRANK', DONE, 0, -(CAP + 1))
end

-- Idle keys leave with the window (an open hold never outlives the maximum TTL, far below it).
local function touch()
  for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, WINDOW) end
end

-- Close an open observation now as kind; 0 when there is none (a hold that was never quoted).
local function close(id, kind)
  sweep(SWEEP)
  touch()
  local v = redis.call('HGET', OPEN, id)
  if not v then return 0 end
  local created = parse(v)
  finish(id, kind, NOW, NOW - created)
  return 1
end
