-- forget-process: removes a process from the registry (the app's slot), with its report and its
-- takeover note, once its keyspace is empty and closed (end-process.lua, finish-takeover.lua).
-- Guarantees: only if its registration epoch is still the one the caller read before emptying the
-- keyspace: a process registered again meanwhile (it beat, or jobs were written for it) stays.
-- KEYS[1] registry hash, KEYS[2] registry-epochs hash, KEYS[3] reports hash, KEYS[4] takeover-errors hash
-- ARGV[1] process id, ARGV[2] the epoch read before ("" when there was none; "*" forgets
-- whatever the epoch: the registry of toniq before 0.2 has none)
-- Returns 1 when forgotten, 0 when registered again meanwhile.
expect_types({ 'hash', 'hash', 'hash', 'hash' })
if ARGV[2] ~= '*' and (redis.call('HGET', KEYS[2], ARGV[1]) or '') ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
return 1
