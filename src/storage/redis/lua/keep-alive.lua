-- keep-alive: registers a process (first call) and refreshes its heartbeat (every call).
-- Guarantees: registration and heartbeat are written together. A process whose registration is
-- gone was taken over (its heartbeat lapsed and another process moved its jobs): it is
-- registered again and told so, so it can warn that jobs it still runs may run twice.
-- KEYS[1] processes hash (process id -> info JSON)
-- KEYS[2] heartbeat key of the process
-- ARGV[1] process id, ARGV[2] info JSON, ARGV[3] ms until the process counts as dead, ARGV[4] now in ms
-- Returns 1 when the process was not registered (first call, or taken over), else 0.
local registered = redis.call('HEXISTS', KEYS[1], ARGV[1])
if registered == 0 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[3])
if registered == 0 then
  return 1
end
return 0
