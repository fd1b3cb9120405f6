-- delete-failed-job: removes a job from the failed list.
-- Guarantees: the record and its place in the index go together.
-- KEYS[1] failed hash, KEYS[2] failed-index zset
-- ARGV[1] job id
-- Returns 1 when removed, 0 when the job is not in the failed list.
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('HDEL', KEYS[1], ARGV[1])
