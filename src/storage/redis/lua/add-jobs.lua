-- add-jobs: persists new jobs that a process runs now, in that process's keyspace (one slot).
-- Guarantees: nothing is written into a keyspace that is not open (its process is not known to
-- be registered: a takeover or a clean stop emptied it and may have forgotten the process, or it
-- never registered): the caller registers the process and opens the keyspace first
-- (process-registry.ts, openKeyspace), so a job is never written where no takeover looks.
-- KEYS[1] jobs hash of the process, KEYS[2] open marker of the process
-- ARGV: pairs id, record
-- Returns the number of jobs written, or -1 (nothing written) when the keyspace is not open.
expect_types({ 'hash' })
if redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
local CHUNK = 1000 -- fields per command, to stay far below Lua's unpack limit
for i = 1, #ARGV, 2 * CHUNK do
  redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + 2 * CHUNK - 1, #ARGV)))
end
return #ARGV / 2
