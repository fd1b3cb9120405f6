-- beat: refreshes a process's heartbeat, in its own keyspace (one slot), after register-process.lua
-- registered it. Opens the keyspace for writes (the process is registered now), and reads the
-- note a takeover leaves, so a process that was taken over while it was paused learns it and can
-- warn that jobs it still runs may run twice. When the registration failed (the app's slot is
-- failing over on a Redis Cluster), the heartbeat is still refreshed, so the processes whose own
-- slots are fine do not look dead, but the keyspace is not opened.
-- Guarantees: the heartbeat and the opening go together.
-- KEYS[1] heartbeat, KEYS[2] open marker, KEYS[3] taken-over-by note
-- ARGV[1] now ms, ARGV[2] ms until the process counts as dead, ARGV[3] "1" when registered just now
-- Returns 1 when a takeover's note was there (it is removed), else 0.
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if ARGV[3] == '1' then redis.call('SET', KEYS[2], '1') end
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('DEL', KEYS[3])
  return 1
end
return 0
