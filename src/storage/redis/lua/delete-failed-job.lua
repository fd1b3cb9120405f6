-- delete-failed-job: removes a job from the failed list.
-- Guarantees: the record, its place in the index and its count go together.
-- KEYS[1] failed hash, KEYS[2] failed-index zset, KEYS[3] counts hash
-- ARGV[1] job id
-- Returns 1 when removed, 0 when the job is not in the failed list.
local old = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if not old then
  return 0
end
local counts = {}
tally(counts, 'failed', old, -1)
redis.call('HDEL', KEYS[1], ARGV[1])
write_counts(KEYS[3], counts)
return 1
