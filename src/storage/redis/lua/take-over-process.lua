-- take-over-process: moves every job of a dead process to a live one, and forgets the dead one.
-- Guarantees: all or nothing (every key's type is checked before the first write), and only once. It checks inside the script that the dead process's
-- heartbeat is really gone, that it is still registered (no one took it over yet) and that the
-- taker is alive and not the same process, so processes racing to take over never split or
-- duplicate the jobs. Jobs keep their records (id, attempt, createdAt) and delayed jobs their
-- due times. Failed jobs belong to no process and stay where they are.
-- KEYS[1] processes hash
-- KEYS[2] heartbeat of the dead process   KEYS[3] heartbeat of the taker
-- KEYS[4] jobs hash of the dead process   KEYS[5] delayed zset of the dead process
-- KEYS[6] delayed-jobs hash of the dead process
-- KEYS[7] jobs hash of the taker          KEYS[8] delayed zset of the taker
-- KEYS[9] delayed-jobs hash of the taker
-- KEYS[10] reports hash (the dead process's report for the admin UI is forgotten with it)
-- ARGV[1] dead process id, ARGV[2] taker process id
-- Returns {status, delayed count, id, record, id, record, …} with the jobs to run now; status is
-- 1 when taken over, 0 when not dead, -1 when the taker is the same process, -2 when the taker
-- is not alive itself, -3 when the process is not registered (already taken over).
-- Alive means a heartbeat key with a time to live left, as RedisStore.listProcesses reads it: a
-- heartbeat key without one (PTTL -1: someone SET it by hand) never lapses, so it counts as dead,
-- and the takeover deletes it with the registration.
if ARGV[1] == ARGV[2] then return {-1, 0} end
if redis.call('PTTL', KEYS[2]) > 0 then return {0, 0} end
if redis.call('PTTL', KEYS[3]) <= 0 then return {-2, 0} end
expect_types({ [1] = 'hash', [4] = 'hash', [5] = 'zset', [6] = 'hash', [7] = 'hash', [8] = 'zset', [9] = 'hash', [10] = 'hash' })
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return {-3, 0} end

local CHUNK = 1000 -- fields per command, to stay far below Lua's unpack limit

local jobs = redis.call('HGETALL', KEYS[4])
for i = 1, #jobs, 2 * CHUNK do
  redis.call('HSET', KEYS[7], unpack(jobs, i, math.min(i + 2 * CHUNK - 1, #jobs)))
end

local delayed = redis.call('ZRANGE', KEYS[5], 0, -1, 'WITHSCORES')
local args = {}
for i = 1, #delayed, 2 do
  args[#args + 1] = delayed[i + 1]
  args[#args + 1] = delayed[i]
  if #args >= 2 * CHUNK then
    redis.call('ZADD', KEYS[8], unpack(args))
    args = {}
  end
end
if #args > 0 then redis.call('ZADD', KEYS[8], unpack(args)) end

local delayedJobs = redis.call('HGETALL', KEYS[6])
for i = 1, #delayedJobs, 2 * CHUNK do
  redis.call('HSET', KEYS[9], unpack(delayedJobs, i, math.min(i + 2 * CHUNK - 1, #delayedJobs)))
end

redis.call('DEL', KEYS[2], KEYS[4], KEYS[5], KEYS[6])
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[10], ARGV[1])

local result = {1, #delayed / 2}
for i = 1, #jobs do result[#result + 1] = jobs[i] end
return result
