-- start-failing: the first step of moving a job that used up its retries to the failed list
-- (the failed list is in the app's slot, the job in its process's): moves the job from the jobs
-- the process runs to its "failing" hash, in the process's keyspace. The caller then writes it
-- to the failed list (add-failed-jobs.lua) and removes it from "failing" (HDEL). A crash between
-- the steps leaves it in "failing", which a takeover of the process carries to the failed list.
-- Guarantees: the job is in exactly one of the process's places at every moment. If the process
-- no longer holds the job (it was taken over), nothing is written. Calling again after a failed
-- second step answers 1, so the caller can simply repeat the whole move.
-- KEYS[1] jobs hash of the process, KEYS[2] failing hash of the process
-- ARGV[1] job id, ARGV[2] record with the error, ARGV[3] failure time in ms
-- Returns 1 when the job is (now) failing, 0 when the process no longer holds it.
expect_types({ 'hash', 'hash' })
expect_score(ARGV[3])
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 1 end
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3] .. '\n' .. ARGV[2])
return 1
