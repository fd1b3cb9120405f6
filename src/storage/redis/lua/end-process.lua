-- end-process: a stopping process gives up its heartbeat; when it holds no jobs it also leaves
-- the registry, otherwise it stays registered so that a live process (or the next to start)
-- takes its jobs over.
-- Guarantees: a process holding jobs is never forgotten while it still holds them.
-- KEYS[1] processes hash, KEYS[2] heartbeat of the process
-- KEYS[3] jobs hash, KEYS[4] delayed zset of the process
-- ARGV[1] process id
-- Returns 1 when jobs are left for a takeover, 0 when the process left cleanly.
expect_types({ 'hash' })
redis.call('DEL', KEYS[2])
if redis.call('EXISTS', KEYS[3]) == 1 or redis.call('EXISTS', KEYS[4]) == 1 then
  return 1
end
redis.call('HDEL', KEYS[1], ARGV[1])
return 0
