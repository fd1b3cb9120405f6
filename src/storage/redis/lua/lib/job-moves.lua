-- job-moves (prepended after job-counts to the scripts that move jobs between places): the steps
-- several scripts share, so that each keeps a job's record, its index entry and its count together
-- in one way. Each script checks its keys' types (expect_types) before calling any of these.

-- put_job: writes a job's record into `hash` and its score (due or failure ms) into `index`;
-- it is counted under `state` ('delayed', 'failed') when the hash did not hold it yet.
local function put_job(hash, index, id, record, score, counts, state)
  if redis.call('HSET', hash, id, record) == 1 then
    tally(counts, state, record, 1)
  end
  redis.call('ZADD', index, score, id)
end

-- move_held_job: moves a job out of the jobs a process holds (`jobs`) into `hash` and `index`
-- (put_job), and writes the counts. Returns 1 when moved, 0 when the process no longer holds the
-- job (another process took it over): then nothing is written, so a late move never duplicates it.
local function move_held_job(jobs, id, record, hash, index, score, counts_key, state)
  if redis.call('HDEL', jobs, id) == 0 then
    return 0
  end
  local counts = {}
  put_job(hash, index, id, record, score, counts, state)
  write_counts(counts_key, counts)
  return 1
end

-- take_delayed_job: removes a delayed job (its due time and record) and uncounts it. Returns its
-- record, or false when the process did not hold it (a due time without a record is removed too).
local function take_delayed_job(delayed, delayed_jobs, id, counts)
  local record = redis.call('HGET', delayed_jobs, id)
  redis.call('ZREM', delayed, id)
  if record then
    redis.call('HDEL', delayed_jobs, id)
    tally(counts, 'delayed', record, -1)
  end
  return record
end

-- take_failed_job: removes a failed job's record and uncounts it; its place in the failed index is
-- the caller's (delete removes it always, retry only with the record). Returns the record, or
-- false when the failed list holds none.
local function take_failed_job(failed, id, counts)
  local record = redis.call('HGET', failed, id)
  if record then
    tally(counts, 'failed', record, -1)
    redis.call('HDEL', failed, id)
  end
  return record
end
