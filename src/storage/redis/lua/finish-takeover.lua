-- finish-takeover: the last step in a dead process's keyspace (see claim-process.lua): when the
-- taker has copied everything, releases the claim and closes the keyspace, after which
-- the taker forgets the process in the registry (forget-process.lua).
-- Guarantees: only while the taker holds the claim, and only when the keyspace is empty: a job
-- written meanwhile (enqueueOn, a retry) is found and copied by another round. A write after
-- this finds the keyspace closed and registers the process again first (add-jobs.lua).
-- KEYS[1] takeover-claim, KEYS[2] jobs hash, KEYS[3] delayed zset, KEYS[4] delayed-jobs hash,
-- KEYS[5] failing hash, KEYS[6] open marker
-- ARGV[1] taker id
-- Returns 1 when finished, 2 when jobs are left to copy, 0 when the taker no longer holds the claim.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('EXISTS', KEYS[2], KEYS[3], KEYS[4], KEYS[5]) > 0 then return 2 end
redis.call('DEL', KEYS[1], KEYS[6])
return 1
