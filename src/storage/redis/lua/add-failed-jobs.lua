-- add-failed-jobs: writes jobs into the failed list (the app's slot): the second step of failing
-- a job (start-failing.lua), also used by a takeover for the failing jobs of a dead process.
-- Guarantees: a job's record, its place in the index and its count go together; writing the same
-- job again (a repeated step after a crash) changes nothing but its record and failure time.
-- KEYS[1] failed hash, KEYS[2] failed-index zset, KEYS[3] counts hash
-- ARGV: triples id, record with the error, failure ms
-- Returns the number of jobs written.
expect_types({ 'hash', 'zset' })
for i = 3, #ARGV, 3 do expect_score(ARGV[i]) end
local counts = {}
for i = 1, #ARGV, 3 do
  put_job(KEYS[1], KEYS[2], ARGV[i], ARGV[i + 1], ARGV[i + 2], counts, 'failed')
end
write_counts(KEYS[3], counts)
return #ARGV / 3
