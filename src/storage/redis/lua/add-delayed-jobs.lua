-- add-delayed-jobs: persists delayed jobs of one process.
-- Guarantees: each job's record and its due time are written together; a reader never sees
-- a due time without its record.
-- KEYS[1] delayed zset of the process (id -> due ms, "inf" for held until flushed)
-- KEYS[2] delayed-jobs hash of the process (id -> record)
-- ARGV    triples: id, record, due ms
-- Returns the number of jobs written.
for i = 1, #ARGV, 3 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  redis.call('ZADD', KEYS[1], ARGV[i + 2], ARGV[i])
end
return #ARGV / 3
