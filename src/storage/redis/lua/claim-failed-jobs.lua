-- claim-failed-jobs: the first step of retrying failed jobs (from toniq.retry and the admin
-- alike): claims each job for one retry. The caller then writes the fresh records into a live
-- process's delayed jobs (add-delayed-jobs.lua, in that process's slot) and removes the claimed
-- jobs from the failed list (delete-failed-jobs.lua).
-- Guarantees: when two people retry the same job at once, exactly one claims it. A claim older
-- than ARGV[2] ms (its retrier died between the steps) may be claimed again: the job is never
-- stuck, and runs twice at worst when the first retrier died after its second step.
-- KEYS[1] failed hash, KEYS[2] failed-retrying hash (id -> ms claimed)
-- ARGV[1] now ms, ARGV[2] ms after which a claim is stale, then job ids
-- Returns the ids claimed (the others are not in the failed list, or being retried).
expect_types({ 'hash', 'hash' })
local now, stale = tonumber(ARGV[1]), tonumber(ARGV[2])
local claimed = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  if redis.call('HEXISTS', KEYS[1], id) == 1 then
    local at = tonumber(redis.call('HGET', KEYS[2], id))
    if not at or now - at > stale then
      redis.call('HSET', KEYS[2], id, now)
      claimed[#claimed + 1] = id
    end
  end
end
return claimed
