-- hand-over-jobs: moves jobs a process holds into the delayed jobs of another, live process, due
-- at once. Used for jobs stored by a newer version of their worker than the holding process runs:
-- they go to a process that runs that version. The caller then wakes that process.
-- Guarantees: each job is in exactly one place at every moment; nothing moves unless the target's
-- heartbeat has time to live left (as take-over-process.lua reads it), so a job is never handed
-- to a dead process; a job the holder no longer holds (taken over meanwhile) is not moved.
-- KEYS[1] jobs hash of the holding process, KEYS[2] heartbeat of the target
-- KEYS[3] delayed zset of the target, KEYS[4] delayed-jobs hash of the target, KEYS[5] counts hash
-- ARGV: the job ids
-- Returns {alive, moved ids…, "", gone ids…}: alive is 1 when the target was alive (else 0 and
-- nothing moved); gone lists the ids the holder no longer held.
expect_types({ 'hash', 'string', 'zset', 'hash' })
if redis.call('PTTL', KEYS[2]) <= 0 then
  return { 0, '' }
end
local moved, gone = {}, {}
local counts = {}
for i = 1, #ARGV do
  local id = ARGV[i]
  local record = redis.call('HGET', KEYS[1], id)
  if record then
    redis.call('HDEL', KEYS[1], id)
    put_job(KEYS[4], KEYS[3], id, record, 0, counts, 'delayed')
    moved[#moved + 1] = id
  else
    gone[#gone + 1] = id
  end
end
write_counts(KEYS[5], counts)
local reply = { 1 }
for _, id in ipairs(moved) do reply[#reply + 1] = id end
reply[#reply + 1] = ''
for _, id in ipairs(gone) do reply[#reply + 1] = id end
return reply
