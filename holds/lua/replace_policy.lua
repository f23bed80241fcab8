-- replace_policy: store a whole TTL policy at once (a replace, not a merge), bump its version, announce it.
-- KEYS[1]  the policy hash
-- ARGV[1]  the channel to publish the new version on
-- ARGV[2]  the version the caller read ("" = any): a compare-and-set for read-modify-write callers
-- ARGV[3..] field, value pairs of the new policy
-- returns  the new version, or -1 when the stored version is not the expected one (nothing changed).
-- Deleting every field but `version` first is what makes it a replace: no override survives by accident.
-- Registered on its own (no _common.lua prelude): it touches no hold key.
local key, channel, expected = KEYS[1], ARGV[1], ARGV[2]
local current = tonumber(redis.call('HGET', key, 'version') or '0')
if expected ~= '' and tonumber(expected) ~= current then
  return -1
end
for _, field in ipairs(redis.call('HKEYS', key)) do
  if field ~= 'version' then redis.call('HDEL', key, field) end
end
for i = 3, #ARGV, 2 do
  redis.call('HSET', key, ARGV[i], ARGV[i + 1])
end
local version = redis.call('HINCRBY', key, 'version', 1)
redis.call('PUBLISH', channel, tostring(version))
return version
