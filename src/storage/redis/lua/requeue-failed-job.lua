-- requeue-failed-job: moves a job from the failed list to the delayed jobs of a process, due at
-- once, with a fresh record (attempt 1, same id): how a retry from the admin UI or the CLI
-- reaches a live process that registers the job's worker. The caller then wakes that process.
-- Guarantees: when two people retry the same job at once, exactly one retry happens; the job is
-- in exactly one place at every moment; the process is registered (with a placeholder if it was
-- not), so if it died meanwhile the job is taken over.
-- KEYS[1] failed hash, KEYS[2] failed-index zset
-- KEYS[3] delayed zset of the process, KEYS[4] delayed-jobs hash of the process
-- KEYS[5] processes hash, KEYS[6] counts hash
-- ARGV[1] job id, ARGV[2] fresh record, ARGV[3] process id, ARGV[4] placeholder info JSON
-- Returns 1 when moved, 0 when the job is not in the failed list.
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then
  return 0
end
local counts = {}
tally(counts, 'failed', old, -1)
tally(counts, 'delayed', ARGV[2], 1)
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HSETNX', KEYS[5], ARGV[3], ARGV[4])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], 0, ARGV[1])
write_counts(KEYS[6], counts)
return 1
