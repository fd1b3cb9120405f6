-- read-process-jobs: reads one batch of a claimed process's jobs for its taker to copy (see
-- claim-process.lua), and renews the claim. Reads only: the taker drops what it copied with
-- drop-process-jobs.lua once the copies are written, so a crash between the two leaves the jobs
-- in both places (they may run twice) and never in none.
-- KEYS[1] takeover-claim, KEYS[2] jobs hash, KEYS[3] delayed zset, KEYS[4] delayed-jobs hash,
-- KEYS[5] failing hash
-- ARGV[1] taker id, ARGV[2] lease ms, ARGV[3] about how many entries of each kind to read
-- Returns {0} when the taker no longer holds the claim, else {1, jobs, delayed, failing}: jobs a
-- flat list id, record, …; delayed id, due score, record, … (record false when a due time has
-- no record: the taker drops it); failing id, "<failure ms>\n<record>", ….
expect_types({ [2] = 'hash', [3] = 'zset', [4] = 'hash', [5] = 'hash' })
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return { 0 } end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local limit = tonumber(ARGV[3])
-- HSCAN from cursor 0 each time: what was dropped is gone, so the next batch starts afresh.
local jobs = redis.call('HSCAN', KEYS[2], 0, 'COUNT', limit)[2]
local delayed = {}
local due = redis.call('ZRANGE', KEYS[3], 0, limit - 1, 'WITHSCORES')
for i = 1, #due, 2 do
  delayed[#delayed + 1] = due[i]
  delayed[#delayed + 1] = due[i + 1]
  delayed[#delayed + 1] = redis.call('HGET', KEYS[4], due[i])
end
if #due == 0 then
  -- Records left without a due time (damage: the scripts write the two together) go as due now.
  local orphans = redis.call('HSCAN', KEYS[4], 0, 'COUNT', limit)[2]
  for i = 1, #orphans, 2 do
    delayed[#delayed + 1] = orphans[i]
    delayed[#delayed + 1] = '0'
    delayed[#delayed + 1] = orphans[i + 1]
  end
end
local failing = redis.call('HSCAN', KEYS[5], 0, 'COUNT', limit)[2]
return { 1, jobs, delayed, failing }
