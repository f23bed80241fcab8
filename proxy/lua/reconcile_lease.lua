-- reconcile_lease: the fenced lease that lets one process at a time reconcile.
-- KEYS: 1 the lease ("<token>|<fence>", with a TTL), 2 the fence counter (same hash tag)
-- ARGV: 1 'acquire' | 'renew' | 'check' | 'release', 2 for acquire the holder's random token, else the lease value
--       "<token>|<fence>" that acquire returned, 3 TTL ms (acquire, renew)
-- acquire: when nobody holds the lease (or its holder died and it expired), take it with the next fence.
--   Returns {1, fence} when taken, {0, 0} when held.
-- renew: extend the TTL if the lease is still this value. Returns {1, 0} or {0, 0} (lost).
-- check: whether the lease is still this value (the fence check before acting). Returns {1, 0} or {0, 0}.
-- release: delete the lease if it is still this value. Returns {1, 0} or {0, 0}.
local op = ARGV[1]
local current = redis.call('GET', KEYS[1])
if op == 'acquire' then
  if current then
    return {0, 0}
  end
  local fence = redis.call('INCR', KEYS[2])
  redis.call('SET', KEYS[1], ARGV[2] .. '|' .. fence, 'PX', tonumber(ARGV[3]))
  return {1, fence}
end
if current ~= ARGV[2] then
  return {0, 0}
end
if op == 'renew' then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
elseif op == 'release' then
  redis.call('DEL', KEYS[1])
end
return {1, 0}
