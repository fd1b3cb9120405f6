-- fail-job: moves a job that used up its retries from the jobs a process runs to the failed list.
-- Guarantees: the job is in exactly one place at every moment. If the process no longer holds
-- the job (it was taken over), nothing is written.
-- KEYS[1] jobs hash of the process
-- KEYS[2] failed hash (id -> record, shared by all processes)
-- KEYS[3] failed-index zset (id -> failure ms)
-- KEYS[4] counts hash
-- ARGV[1] job id, ARGV[2] record with the error, ARGV[3] failure time in ms
-- Returns 1 when moved, 0 when the process no longer holds the job (move_held_job, lib/job-moves.lua).
expect_types({ 'hash', 'hash', 'zset' })
expect_score(ARGV[3])
return move_held_job(KEYS[1], ARGV[1], ARGV[2], KEYS[2], KEYS[3], ARGV[3], KEYS[4], 'failed')
