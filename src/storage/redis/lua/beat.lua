-- beat: refreshes a process's heartbeat, in its own keyspace (one slot), after register-process.lua
-- registered it. Opens the keyspace for writes (the process is registered now), and
-- reads the note a takeover leaves, so a process that was taken over while it was paused learns
-- it and can warn that jobs it still runs may run twice.
-- Guarantees: the heartbeat and the opening go together.
-- KEYS[1] heartbeat, KEYS[2] open marker, KEYS[3] taken-over-by note
-- ARGV[1] now ms, ARGV[2] ms until the process counts as dead
-- Returns 1 when a takeover's note was there (it is removed), else 0.
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SET', KEYS[2], '1')
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('DEL', KEYS[3])
  return 1
end
return 0
