-- register-process: writes a process into the registry (the app's slot), where the takeover
-- check finds it. Each beat registers first and then refreshes the heartbeat in the process's
-- own slot (beat.lua); a process's keyspace is opened (for writes) only after this, so a
-- keyspace that takes writes always belongs to a registered process.
-- Guarantees: every call raises the process's registration epoch, which forget-process.lua
-- compares: a process registered (again) after a takeover or a stop read the epoch is never
-- forgotten by it.
-- KEYS[1] registry hash (process id -> info JSON), KEYS[2] registry-epochs hash
-- ARGV[1] process id, ARGV[2] info JSON, ARGV[3] "own" (the process's own info, written always)
-- or "placeholder" (jobs are written for a process not registered: written only when absent)
-- Returns 1 when "own" found the process not registered with its own info (its first beat, or
-- it was taken over and forgotten), else 0.
expect_types({ 'hash', 'hash' })
local previous = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
if ARGV[3] == 'placeholder' then
  if not previous then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
  return 0
end
if previous == ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
