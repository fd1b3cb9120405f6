-- drop-process-jobs: removes from a claimed process's keyspace the jobs its taker has copied
-- (see read-process-jobs.lua), with their due times and counts.
-- Guarantees: only while the taker holds the claim; a delayed job's due time, record and count
-- go together.
-- KEYS[1] takeover-claim, KEYS[2] jobs hash, KEYS[3] delayed zset, KEYS[4] delayed-jobs hash,
-- KEYS[5] delayed-counts hash, KEYS[6] failing hash
-- ARGV[1] taker id, ARGV[2] how many job ids follow, then those; ARGV[n] how many delayed ids
-- follow, then those; then the failing ids
-- Returns 1 when dropped, 0 when the taker no longer holds the claim (nothing dropped).
expect_types({ [2] = 'hash', [3] = 'zset', [4] = 'hash', [6] = 'hash' })
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local i = 2
local jobs = tonumber(ARGV[i])
for j = i + 1, i + jobs do redis.call('HDEL', KEYS[2], ARGV[j]) end
i = i + jobs + 1
local delayed = tonumber(ARGV[i])
local counts = {}
for j = i + 1, i + delayed do take_delayed_job(KEYS[3], KEYS[4], ARGV[j], counts) end
for j = i + delayed + 1, #ARGV do redis.call('HDEL', KEYS[6], ARGV[j]) end
write_counts(KEYS[5], counts)
return 1
