-- make-delayed-jobs-due: makes delayed jobs of one process due at once (run now, from the
-- admin), many ids in one call; the caller asks every process, as it does not know which one
-- holds a job, and then wakes the processes that had some.
-- Guarantees: only jobs the process holds as delayed are touched; nothing is added.
-- KEYS[1] delayed zset of the process
-- ARGV: job ids
-- Returns the ids the process held as delayed.
expect_types({ 'zset' })
local found = {}
for i = 1, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], 0, ARGV[i])
    found[#found + 1] = ARGV[i]
  end
end
return found
