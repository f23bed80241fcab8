-- Shared prelude: holds/scripts.py prepends this file to every operation script.
-- KEYS (every script): 1 holds hash (uid -> record), 2 by-start zset, 3 by-expiry zset,
--                      4 owner index (lex zset of owner NUL uid), 5 meta hash (maxlen, seq, fence)
-- ARGV[1] (every script) is the clock: '' (production) means Redis's own clock, read here with TIME, so
-- every process decides acquire, extend, expiry, pruning and commit budgets by one clock however far its
-- own clock is off; a decimal now_ms is a test's controlled clock (HoldStore(clock=...)) and replaces TIME.
-- TIME before writes is allowed: scripts replicate their effects (the default since Redis 5, the only
-- mode since Redis 7), not their source.
-- Reply codes: 0 ok, 1 conflict, 2 not found, 3 not owned, 4 stale fence, 5 committing, 6 uid taken.
-- Every change to a live record is published on the resource's events channel (see `announce`).
local H, S, X, O, M = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
-- The events channel is the holds key with its last letter replaced by 'e' (holds/keys.py:events_channel):
-- the same hash tag, so SPUBLISH reaches the subscribers of the resource's own shard on Redis Cluster.
local EVENTS = string.sub(H, 1, -2) .. 'e'
local NOW
if ARGV[1] == '' then
  local t = redis.call('TIME')
  NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  NOW = tonumber(ARGV[1])
end
local PRUNE_BATCH = 32

local function fmt(n)
  return string.format('%d', n)
end

-- Record: state|start|end|expires|created|fence|seq|owner (mirrors holds/records.py).
local function parse(raw)
  local st, a, b, e, c, f, q, owner = string.match(raw, '^(%a)|(%d+)|(%d+)|(%d+)|(%d+)|(%d+)|(%d+)|(.*)$')
  return {state = st, start = tonumber(a), stop = tonumber(b), exp = tonumber(e), created = tonumber(c),
          fence = tonumber(f), seq = tonumber(q), owner = owner}
end

local function encode(r)
  return table.concat({r.state, fmt(r.start), fmt(r.stop), fmt(r.exp), fmt(r.created), fmt(r.fence),
                       fmt(r.seq), r.owner}, '|')
end

-- Live views (holds/live_view.py) keep each resource's holds in memory: every change to a live record is
-- numbered by the resource's version (meta field v) and published, so a reader applies changes in order
-- and re-reads the resource when a number is missing. Expiry is never published: readers let a record go
-- at its expiry by themselves. A version starts at NOW * 1000, so one that restarts after the resource's
-- keys expired (or after Redis lost them) is never mistaken for the next of the old numbers.
-- Message: version|previous|now|s|uid|record (saved) or version|previous|now|d|uid (deleted while live);
-- previous is 0 for the first change of a fresh sequence, so a reader that read the resource empty goes on.
local function announce(kind, uid, raw)
  local v = redis.call('HINCRBY', M, 'v', 1)
  local prev = v - 1
  if v == 1 then
    v = NOW * 1000
    redis.call('HSET', M, 'v', fmt(v))
  end
  local msg = fmt(v) .. '|' .. fmt(prev) .. '|' .. fmt(NOW) .. '|' .. kind .. '|' .. uid
  if raw then msg = msg .. '|' .. raw end
  redis.call('SPUBLISH', EVENTS, msg)
end

local function drop(uid, r)
  redis.call('HDEL', H, uid)
  redis.call('ZREM', S, uid)
  redis.call('ZREM', X, uid)
  if r and r.owner ~= '' then
    redis.call('ZREM', O, r.owner .. '\0' .. uid)
  end
end

local function save(uid, r)
  local raw = encode(r)
  redis.call('HSET', H, uid, raw)
  announce('s', uid, raw)
  redis.call('ZADD', S, r.start, uid)
  redis.call('ZADD', X, r.exp, uid)
  -- Booked markers count toward nobody's cap, so they never sit in the owner index.
  if r.state == 'b' then
    if r.owner ~= '' then redis.call('ZREM', O, r.owner .. '\0' .. uid) end
  else
    redis.call('ZADD', O, 0, r.owner .. '\0' .. uid)
  end
end

-- Delete a live record on purpose (release, eviction, operator): unlike expiry, readers must be told.
local function discard(uid, r)
  drop(uid, r)
  announce('d', uid, nil)
end

-- The live record of uid, or nil. An expired record is dropped here: expiry is decided by NOW,
-- not by whether Redis has evicted the key yet.
local function load(uid)
  local raw = redis.call('HGET', H, uid)
  if not raw then
    return nil
  end
  local r = parse(raw)
  if r.exp <= NOW then
    drop(uid, r)
    return nil
  end
  return r
end

-- Drop a bounded batch of expired holds, oldest expiry first, so indexes never need a scan.
local function prune()
  local ids = redis.call('ZRANGEBYSCORE', X, '-inf', NOW, 'LIMIT', 0, PRUNE_BATCH)
  for _, uid in ipairs(ids) do
    local raw = redis.call('HGET', H, uid)
    if raw then
      drop(uid, parse(raw))
    else
      drop(uid, nil)
    end
  end
end

-- Live records overlapping [lo, hi). maxlen bounds how far before lo an overlapping hold can start,
-- so this reads a window of the by-start index instead of all of it.
local function overlapping(lo, hi)
  local maxlen = tonumber(redis.call('HGET', M, 'maxlen') or '0')
  local ids = redis.call('ZRANGEBYSCORE', S, fmt(lo - maxlen), '(' .. fmt(hi))
  local found = {}
  for _, uid in ipairs(ids) do
    local r = load(uid)
    if r and r.stop > lo then
      found[#found + 1] = {uid, r}
    end
  end
  return found
end

local function note_length(r)
  local maxlen = tonumber(redis.call('HGET', M, 'maxlen') or '0')
  if r.stop - r.start > maxlen then
    redis.call('HSET', M, 'maxlen', fmt(r.stop - r.start))
  end
end

-- Keep every key of the resource alive exactly as long as its latest expiry, so an idle resource
-- vanishes by itself and no key outlives the holds it describes.
local function touch()
  local last = redis.call('ZRANGE', X, -1, -1, 'WITHSCORES')
  if #last == 0 then
    return
  end
  local ttl = math.max(1, tonumber(last[2]) - NOW)
  for i = 1, 5 do
    redis.call('PEXPIRE', KEYS[i], fmt(ttl))
  end
end

local function ok_hold(uid, r)
  return {0, uid, encode(r)}
end

-- Prune, then load hold `uid` for `owner`. Returns the record, or nil and the reply code: 2 when it is
-- absent (a booked marker counts as absent when markers_absent), 3 when another owner's.
local function owned(uid, owner, markers_absent)
  prune()
  local r = load(uid)
  if not r or (markers_absent and r.state == 'b') then
    touch()
    return nil, 2
  end
  if r.owner ~= owner then return nil, 3 end
  return r, 0
end
