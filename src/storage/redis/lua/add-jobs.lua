-- add-jobs: persists new jobs that a process runs now.
-- Guarantees: the process holding the jobs is registered, so that if it dies they are taken
-- over. A process that another one took over (its heartbeat had lapsed) is not registered until
-- its next heartbeat; jobs it enqueues meanwhile register it with a placeholder, which its
-- heartbeat replaces, or which a takeover finds if it died.
-- KEYS[1] jobs hash of the process, KEYS[2] processes hash
-- ARGV[1] process id, ARGV[2] placeholder info JSON, then pairs: id, record
-- Returns the number of jobs written.
expect_types({ 'hash', 'hash' })
redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2])
local CHUNK = 1000
for i = 3, #ARGV, 2 * CHUNK do
  redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + 2 * CHUNK - 1, #ARGV)))
end
return (#ARGV - 2) / 2
