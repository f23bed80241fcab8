-- commit_open: everything a commit records before it goes upstream, in one atomic step (one round trip):
-- the idempotency claim, our hold taken or refreshed, moved to committing with a new fence, and the ledger's
-- pending entry. Appended to holds' library (acquire_hold, begin_commit); proxy/commit_records.py runs it.
-- KEYS: 1-5 the resource's hold keys (holds/lua/_common.lua), 6 the resource's ledger hash,
--       7 the idempotency record (only when the commit has a key); all under the resource's hash tag
-- ARGV: 1 clock ('' = Redis TIME), 2 uid for a new hold, 3 owner, 4 start_ms, 5 end_ms, 6 hold ttl_ms,
--       7 max holds per owner, 8 commit budget ms, 9 commit id, 10 the pending ledger entry (JSON; its
--       hold_uid is set here, since a refreshed hold keeps its own uid), 11 the in-flight idempotency
--       record (JSON), 12 its ttl ms
-- Returns {10, record} when the idempotency key already has a record: nothing was written;
--         otherwise begin_commit's or acquire_hold's reply: {0, uid, record} committing (the record carries
--         the fence) and recorded; {1, expires, booked, now} conflict; {5} this hold is already committing;
--         {6} uid taken. Nothing is written unless the reply is {0, ...}.
if KEYS[7] then
  local stored = redis.call('GET', KEYS[7])
  if stored then return {10, stored} end
end
local held = acquire_hold({ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]})
if held[1] ~= 0 then return held end
local begun = begin_commit({ARGV[1], held[2], ARGV[3], ARGV[8]})
if begun[1] ~= 0 then return begun end
local entry = cjson.decode(ARGV[10])
entry.hold_uid = held[2]
redis.call('HSET', KEYS[6], ARGV[9], cjson.encode(entry))
if KEYS[7] then
  redis.call('SET', KEYS[7], ARGV[11], 'PX', ARGV[12])
end
return begun
