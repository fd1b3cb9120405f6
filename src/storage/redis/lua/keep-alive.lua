-- keep-alive: registers a process and refreshes its heartbeat (every call).
-- Guarantees: registration and heartbeat are written together. A process that finds itself not
-- registered, or registered only by a placeholder (see add-jobs.lua), was taken over (its
-- heartbeat lapsed and another process moved its jobs): it is registered again and told so, so
-- it can warn that jobs it still runs may run twice.
-- KEYS[1] processes hash (process id -> info JSON)
-- KEYS[2] heartbeat key of the process
-- ARGV[1] process id, ARGV[2] info JSON, ARGV[3] ms until the process counts as dead, ARGV[4] now in ms
-- Returns 1 when the process was not registered with its own info (first call, or taken over), else 0.
expect_types({ 'hash' })
local previous = redis.call('HGET', KEYS[1], ARGV[1])
if previous ~= ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[3])
if not previous or string.find(previous, '"placeholder":true', 1, true) then
  return 1
end
return 0
