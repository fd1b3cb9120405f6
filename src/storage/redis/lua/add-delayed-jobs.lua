-- add-delayed-jobs: persists delayed jobs of one process (its own; another's for enqueueOn, a
-- retry from the failed list, a hand-over or a takeover), in that process's keyspace (one slot).
-- Guarantees: each job's record and its due time are written together, so a reader never sees a
-- due time without its record; the process's count of delayed jobs per worker grows by the jobs
-- that were not there yet. Nothing is written into a keyspace that is not open (see add-jobs.lua), nor,
-- when asked (ARGV[1] = "1"), into that of a process whose heartbeat has lapsed.
-- KEYS[1] delayed zset (id -> due ms, "inf" for held until flushed), KEYS[2] delayed-jobs hash
-- (id -> record), KEYS[3] delayed-counts hash, KEYS[4] open marker, KEYS[5] heartbeat
-- ARGV[1] "1" to write only while the process is alive, else "0"; then triples: id, record, due ms
-- Returns the number of jobs written, -1 when the keyspace is not open, -2 when the process is
-- not alive (ARGV[1] = "1"); nothing is written in either case.
expect_types({ 'zset', 'hash' })
for i = 4, #ARGV, 3 do expect_score(ARGV[i]) end
if redis.call('EXISTS', KEYS[4]) == 0 then return -1 end
if ARGV[1] == '1' and redis.call('PTTL', KEYS[5]) <= 0 then return -2 end
local counts = {}
for i = 2, #ARGV, 3 do
  put_job(KEYS[2], KEYS[1], ARGV[i], ARGV[i + 1], ARGV[i + 2], counts, 'delayed')
end
write_counts(KEYS[3], counts)
return (#ARGV - 1) / 3
