-- end-process: a stopping process gives up its heartbeat, in its own keyspace. When it holds no
-- jobs its keyspace is closed (no writes until registered again) and the caller then
-- forgets it in the registry (forget-process.lua); otherwise it stays registered so that a live
-- process (or the next to start) takes its jobs over.
-- Guarantees: a process holding jobs is never forgotten while it still holds them: a write that
-- comes after this script finds the keyspace closed and registers the process again first.
-- KEYS[1] heartbeat, KEYS[2] jobs hash, KEYS[3] delayed zset, KEYS[4] delayed-jobs hash,
-- KEYS[5] failing hash, KEYS[6] open marker
-- Returns 1 when jobs are left for a takeover, 0 when the keyspace is empty and closed.
redis.call('DEL', KEYS[1])
if redis.call('EXISTS', KEYS[2], KEYS[3], KEYS[4], KEYS[5]) > 0 then return 1 end
redis.call('DEL', KEYS[6])
return 0
