-- add-delayed-jobs: persists delayed jobs of one process (its own, or another's for enqueueOn).
-- Guarantees: each job's record and its due time are written together, so a reader never sees a
-- due time without its record; and the process holding them is registered (with a placeholder if
-- it was not, see add-jobs.lua), so that if it is dead they are taken over. The per-worker count
-- of delayed jobs grows by the jobs that were not there yet.
-- KEYS[1] delayed zset of the process (id -> due ms, "inf" for held until flushed)
-- KEYS[2] delayed-jobs hash of the process (id -> record)
-- KEYS[3] processes hash
-- KEYS[4] counts hash
-- ARGV[1] process id, ARGV[2] placeholder info JSON, then triples: id, record, due ms
-- Returns the number of jobs written.
expect_types({ 'zset', 'hash', 'hash' })
for i = 5, #ARGV, 3 do expect_score(ARGV[i]) end
redis.call('HSETNX', KEYS[3], ARGV[1], ARGV[2])
local counts = {}
for i = 3, #ARGV, 3 do
  put_job(KEYS[2], KEYS[1], ARGV[i], ARGV[i + 1], ARGV[i + 2], counts, 'delayed')
end
write_counts(KEYS[4], counts)
return (#ARGV - 2) / 3
