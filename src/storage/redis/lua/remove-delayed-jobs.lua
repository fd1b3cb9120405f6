-- remove-delayed-jobs: removes delayed jobs of a process whose write was reported as failed
-- (a timeout: the write may still have landed), so an enqueue that was refused leaves nothing.
-- Guarantees: a job's due time, record and count go together.
-- KEYS[1] delayed zset of the process, KEYS[2] delayed-jobs hash of the process, KEYS[3] its delayed-counts hash
-- ARGV: job ids
-- Returns the number of jobs removed.
expect_types({ 'zset', 'hash' })
local counts = {}
local removed = 0
for i = 1, #ARGV do
  if take_delayed_job(KEYS[1], KEYS[2], ARGV[i], counts) then
    removed = removed + 1
  end
end
write_counts(KEYS[3], counts)
return removed
