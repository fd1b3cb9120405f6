-- retry-failed-jobs: moves jobs from the failed list to the delayed jobs of a live process that
-- registers their worker, due at once, each with a fresh record (attempt 1, same id). The one
-- way a failed job runs again, from toniq.retry and from the admin (UI, API, CLI) alike; the
-- caller then wakes that process, whose delayed-jobs timer takes the jobs.
-- Guarantees: when two people retry the same job at once, exactly one retry happens; each job is
-- in exactly one place at every moment; the process is registered (with a placeholder if it was
-- not, see add-jobs.lua), so if it died meanwhile the jobs are taken over. The caller refuses a
-- record it cannot read before calling, so an unreadable record is never rewritten here.
-- KEYS[1] failed hash, KEYS[2] failed-index zset
-- KEYS[3] delayed zset of the process, KEYS[4] delayed-jobs hash of the process
-- KEYS[5] processes hash, KEYS[6] counts hash
-- ARGV[1] process id, ARGV[2] placeholder info JSON, then pairs: job id, fresh record
-- Returns the ids moved (the others were no longer in the failed list).
expect_types({ 'hash', 'zset', 'zset', 'hash', 'hash' })
local moved = {}
local counts = {}
for i = 3, #ARGV, 2 do
  local id, fresh = ARGV[i], ARGV[i + 1]
  if take_failed_job(KEYS[1], id, counts) then
    tally(counts, 'delayed', fresh, 1)
    redis.call('ZREM', KEYS[2], id)
    redis.call('HSET', KEYS[4], id, fresh)
    redis.call('ZADD', KEYS[3], 0, id)
    moved[#moved + 1] = id
  end
end
if #moved > 0 then
  redis.call('HSETNX', KEYS[5], ARGV[1], ARGV[2])
  write_counts(KEYS[6], counts)
end
return moved
