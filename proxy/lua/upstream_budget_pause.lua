-- upstream_budget_pause: after a Cal.com 429, pause every process's requests with that credential.
-- KEYS: 1 the credential's pause marker (same hash tag as its window log)
-- ARGV: 1 pause length in ms (until Cal.com's reset)
-- Only lengthens a pause: a later 429 with a shorter reset never cuts one short.
-- Returns the pause in effect, ms.
local wanted = tonumber(ARGV[1])
local left = redis.call('PTTL', KEYS[1])
if left < wanted then
  redis.call('SET', KEYS[1], '1', 'PX', wanted)
  return wanted
end
return left
