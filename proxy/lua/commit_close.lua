-- commit_close: everything a commit records once Cal.com has answered, in one atomic step (one round
-- trip): the hold's fate, the ledger's outcome (entry and booking index together) and the stored answer for
-- replays. Appended to holds' library (finish_commit, mark_booked, abort_commit, release_hold).
-- KEYS: 1-5 the resource's hold keys, 6 the resource's ledger hash, 7 its booking uid -> commit id hash,
--       8 the idempotency record (only when the commit has a key); all under the resource's hash tag
-- ARGV: 1 clock ('' = Redis TIME), 2 hold action: 'finish' (booked marker), 'abort' (back to held, the
--       caller may retry at once), 'release' (slot taken upstream) or 'keep' (outcome unknown: the hold
--       stays committing until its budget runs out), 3 hold uid, 4 owner, 5 fence, 6 ttl ms (the booked
--       marker's for 'finish', the hold's for 'abort'), 7 start_ms, 8 end_ms, 9 uid for a fresh booked
--       marker, 10 commit id, 11 the ledger entry (JSON), 12 booking uid or '', 13 idempotency: 'store',
--       'drop' or '' (leave it), 14 the record to store (JSON), 15 its ttl ms
-- A 'finish' whose hold lapsed during a slow commit (finish_commit refuses: gone, or another fence) places
-- a fresh booked marker instead: the booking is verified, so its slot must be blocked all the same; the
-- ledger entry then names that marker. Other actions ignore a hold that is already gone.
-- Returns {code of the hold action (0 ok), uid of the hold or marker now standing for the commit}.
local action, uid = ARGV[2], ARGV[3]
local code = 0
if action == 'finish' then
  code = finish_commit({ARGV[1], uid, ARGV[4], ARGV[5], ARGV[6]})[1]
  if code ~= 0 then
    local marked = mark_booked({ARGV[1], ARGV[9], ARGV[7], ARGV[8], ARGV[6]})
    if marked[1] == 0 then uid = marked[2] end
  end
elseif action == 'abort' then
  code = abort_commit({ARGV[1], uid, ARGV[4], ARGV[5], ARGV[6]})[1]
elseif action == 'release' then
  code = release_hold({ARGV[1], uid, ARGV[4]})[1]
end
local entry = ARGV[11]
if uid ~= ARGV[3] then
  local decoded = cjson.decode(entry)
  decoded.hold_uid = uid
  entry = cjson.encode(decoded)
end
redis.call('HSET', KEYS[6], ARGV[10], entry)
if ARGV[12] ~= '' then
  redis.call('HSET', KEYS[7], ARGV[12], ARGV[10])
end
if KEYS[8] then
  if ARGV[13] == 'store' then
    redis.call('SET', KEYS[8], ARGV[14], 'PX', ARGV[15])
  elseif ARGV[13] == 'drop' then
    redis.call('DEL', KEYS[8])
  end
end
return {code, uid}
