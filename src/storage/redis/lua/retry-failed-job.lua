-- retry-failed-job: moves a job from the failed list to the jobs a process runs, with a fresh
-- record (attempt 1, same id).
-- Guarantees: when two people retry the same job at once, exactly one retry happens.
-- KEYS[1] failed hash, KEYS[2] failed-index zset, KEYS[3] jobs hash of the process
-- ARGV[1] job id, ARGV[2] fresh record
-- Returns 1 when moved, 0 when the job is not in the failed list.
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
return 1
