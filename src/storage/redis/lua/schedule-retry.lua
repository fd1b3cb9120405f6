-- schedule-retry: moves a job that failed an attempt from the jobs a process runs to its
-- delayed jobs, with the record that counts the next attempt.
-- Guarantees: the job is in exactly one place at every moment. If the process no longer holds
-- the job (another process took it over while this one was paused), nothing is written, so a
-- late retry never duplicates a job.
-- KEYS[1] jobs hash of the process
-- KEYS[2] delayed zset of the process
-- KEYS[3] delayed-jobs hash of the process
-- KEYS[4] delayed-counts hash of the process
-- ARGV[1] job id, ARGV[2] new record, ARGV[3] due ms
-- Returns 1 when moved, 0 when the process no longer holds the job (move_held_job, lib/job-moves.lua).
expect_types({ 'hash', 'zset', 'hash' })
expect_score(ARGV[3])
return move_held_job(KEYS[1], ARGV[1], ARGV[2], KEYS[3], KEYS[2], ARGV[3], KEYS[4], 'delayed')
