-- delete-failed-jobs: removes jobs from the failed list, many in one call (the admin deletes
-- thousands at once).
-- Guarantees: a job's record, its place in the index and its count go together. A record that
-- cannot be read is removed like any other (its count is kept under '(unreadable record)').
-- Also the last step of a retry (claim-failed-jobs.lua): the retry's claim goes with the job.
-- KEYS[1] failed hash, KEYS[2] failed-index zset, KEYS[3] counts hash, KEYS[4] failed-retrying hash
-- ARGV: job ids
-- Returns the ids removed (an id only in the index, without a record, counts as removed).
expect_types({ 'hash', 'zset', [4] = 'hash' })
local removed = {}
local counts = {}
for i = 1, #ARGV do
  local id = ARGV[i]
  local old = take_failed_job(KEYS[1], id, counts)
  local indexed = redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[4], id)
  if old or indexed == 1 then removed[#removed + 1] = id end
end
write_counts(KEYS[3], counts)
return removed
