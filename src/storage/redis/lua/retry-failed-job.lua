-- retry-failed-job: moves a job from the failed list to the jobs a process runs, with a fresh
-- record (attempt 1, same id).
-- Guarantees: when two people retry the same job at once, exactly one retry happens.
-- KEYS[1] failed hash, KEYS[2] failed-index zset, KEYS[3] jobs hash of the process
-- KEYS[4] counts hash
-- ARGV[1] job id, ARGV[2] fresh record
-- Returns 1 when moved, 0 when the job is not in the failed list.
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then
  return 0
end
local counts = {}
tally(counts, 'failed', old, -1)
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
write_counts(KEYS[4], counts)
return 1
