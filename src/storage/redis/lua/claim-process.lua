-- claim-process: the first step of taking over a dead process, in the dead process's keyspace
-- (one slot). The taker then copies the jobs to itself batch by batch (read-process-jobs.lua,
-- add-jobs.lua / add-delayed-jobs.lua into its own keyspace, drop-process-jobs.lua), and ends
-- with finish-takeover.lua and forget-process.lua. docs/internals.md gives each crash point.
-- Guarantees: only a process whose heartbeat has lapsed is claimed, and by one taker at a time:
-- the claim is a lease that the taker renews with every batch; if the taker dies, the lease
-- lapses and another process claims it. A heartbeat key without a time to live (someone SET it
-- by hand) never lapses, so it counts as dead and is deleted. The dead process's next beat, if
-- it was only paused, reads the taken-over-by note and warns.
-- A keyspace that is closed and empty was taken over already (finish-takeover.lua) by a taker
-- that raced this one: nothing to claim; the caller only makes sure the process is forgotten.
-- KEYS[1] heartbeat, KEYS[2] takeover-claim, KEYS[3] taken-over-by note, KEYS[4] open marker,
-- KEYS[5] jobs hash, KEYS[6] delayed zset, KEYS[7] delayed-jobs hash, KEYS[8] failing hash
-- ARGV[1] taker id, ARGV[2] lease ms, ARGV[3] how long the note lasts, in ms
-- Returns 1 when claimed (or already claimed by this taker), 0 when the process is alive,
-- -4 when another process holds the claim, -3 when it was taken over already (closed and empty).
if redis.call('PTTL', KEYS[1]) > 0 then return 0 end
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[1] then return -4 end
if not holder and redis.call('EXISTS', KEYS[4]) == 0 and redis.call('EXISTS', KEYS[5], KEYS[6], KEYS[7], KEYS[8]) == 0 then
  return -3
end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[3])
return 1
