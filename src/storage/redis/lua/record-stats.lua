-- record-stats: what a process reports every second for the admin UI: its report (jobs running
-- and waiting per worker) and how many jobs finished and failed since its last report, added to
-- the per-second throughput of the current minute.
-- Guarantees: the report and the throughput are written together; throughput keys expire after
-- two hours, so they never pile up. Keys of another type are refused before the first write.
-- KEYS[1] reports hash (process id -> report JSON), KEYS[2] throughput hash of the minute
-- ARGV[1] process id, ARGV[2] report JSON, ARGV[3] second within the minute (0-59),
-- ARGV[4] jobs finished, ARGV[5] jobs failed
-- Returns 1.
expect_types({ 'hash', 'hash' })
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local finished = tonumber(ARGV[4])
local failed = tonumber(ARGV[5])
-- A second's count that is not a number (damaged) starts afresh instead of failing every report.
local function add(field, amount)
  if amount <= 0 then return end
  if type(redis.pcall('HINCRBY', KEYS[2], field, amount)) == 'table' then
    redis.call('HSET', KEYS[2], field, amount)
  end
end
add('f' .. ARGV[3], finished)
add('x' .. ARGV[3], failed)
if finished > 0 or failed > 0 then redis.call('EXPIRE', KEYS[2], 7200) end
return 1
