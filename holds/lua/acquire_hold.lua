-- acquire_hold: place (or refresh) a hold on [start, end) for owner.
-- KEYS: 1 holds, 2 by-start, 3 by-expiry, 4 by-owner, 5 meta (see _common.lua)
-- ARGV: 1 clock ('' = Redis TIME, or a test's now_ms), 2 uid for a new hold, 3 owner, 4 start_ms,
--       5 end_ms, 6 ttl_ms, 7 max_per_owner
-- returns {0, uid, record}             the new hold, or the refreshed own hold of the same interval
--         {1, latest_expires_at, booked, now} conflict with another owner's hold or a booked marker (0/1);
--                                      now is the script's clock, for "free in N s" on every process
--         {6}                          the requested uid belongs to another live hold
local uid, owner = ARGV[2], ARGV[3]
local start, stop = tonumber(ARGV[4]), tonumber(ARGV[5])
local ttl, cap = tonumber(ARGV[6]), tonumber(ARGV[7])
prune()

local blocked_until, booked, mine_uid, mine = nil, 0, nil, nil
for _, pair in ipairs(overlapping(start, stop)) do
  local id, r = pair[1], pair[2]
  if r.state == 'b' or r.owner ~= owner then
    blocked_until = math.max(blocked_until or 0, r.exp)
    if r.state == 'b' then booked = 1 end
  elseif r.start == start and r.stop == stop then
    mine_uid, mine = id, r
  end
end
if blocked_until then
  touch()
  return {1, blocked_until, booked, NOW}
end

if mine then
  -- A committing hold is left alone: refreshing would cut its commit budget short.
  if mine.state == 'h' then
    mine.exp = NOW + ttl
    save(mine_uid, mine)
    touch()
  end
  return ok_hold(mine_uid, mine)
end

if load(uid) then
  return {6}
end

-- Per-owner cap: evict this owner's oldest held holds until there is room. Committing holds count
-- toward the cap but are never evicted.
local members = redis.call('ZRANGEBYLEX', O, '[' .. owner .. '\0', '(' .. owner .. '\1')
local count, evictable = 0, {}
for _, member in ipairs(members) do
  local id = string.sub(member, #owner + 2)
  local r = load(id)
  if r then
    count = count + 1
    if r.state == 'h' then evictable[#evictable + 1] = {id, r} end
  else
    redis.call('ZREM', O, member)
  end
end
table.sort(evictable, function(a, b) return a[2].seq < b[2].seq end)
local i = 1
while count >= cap and i <= #evictable do
  discard(evictable[i][1], evictable[i][2])
  count, i = count - 1, i + 1
end

local r = {state = 'h', start = start, stop = stop, exp = NOW + ttl, created = NOW, fence = 0,
           seq = redis.call('HINCRBY', M, 'seq', 1), owner = owner}
save(uid, r)
note_length(r)
touch()
return ok_hold(uid, r)
