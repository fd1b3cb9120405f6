-- take-due-jobs: moves delayed jobs that are due to the jobs a process runs, oldest due first.
-- Guarantees: each job moves once; it is in exactly one place at every moment. The caller's
-- clock decides what is due (ARGV[1]), so tests can pass their own time.
-- KEYS[1] delayed zset of the process
-- KEYS[2] delayed-jobs hash of the process
-- KEYS[3] jobs hash of the process
-- KEYS[4] delayed-counts hash of the process
-- ARGV[1] now in ms ("+inf" takes every delayed job, even those held until flushed)
-- ARGV[2] most jobs to move
-- Returns a flat array: id, record, id, record, …
expect_types({ 'zset', 'hash', 'hash' })
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local result = {}
local counts = {}
for _, id in ipairs(ids) do
  local record = take_delayed_job(KEYS[1], KEYS[2], id, counts)
  if record then
    redis.call('HSET', KEYS[3], id, record)
    result[#result + 1] = id
    result[#result + 1] = record
  end
end
write_counts(KEYS[4], counts)
return result
