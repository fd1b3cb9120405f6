-- job-counts (prepended to the scripts that add or remove delayed or failed jobs): keeps the
-- counts of delayed and failed jobs per worker that the admin UI shows, in the counts hash
-- (fields "delayed:<worker>" and "failed:<worker>"). Scripts tally in a table and write once per
-- worker, as their last step. Records are otherwise opaque to Lua; this reads only the worker's
-- name from the JSON header of a version 2 record (byte 1 = 2, bytes 3-6 the header's length,
-- big-endian).
-- Counts are advisory: nothing here may raise an error, since Redis keeps the writes a script
-- made before one. A record too short for its header reads as '(unreadable record)'; a counts
-- key of another type is left alone, and a field that is not a number is started afresh.
local function worker_of(record)
  if type(record) ~= 'string' or string.byte(record, 1) ~= 2 then return '(older record)' end
  -- The fast path: the header begins {"id":…,"worker":"<name>", and a name without escapes
  -- matches as it is (an escaped quote inside a JSON string never reads "worker":").
  local name = string.match(record, '^{"id":"[^"]*","worker":"([^"\\]*)"', 7)
  if name then return name end
  if #record < 6 then return '(unreadable record)' end
  local b1, b2, b3, b4 = string.byte(record, 3, 6)
  local length = ((b1 * 256 + b2) * 256 + b3) * 256 + b4
  local ok, header = pcall(cjson.decode, string.sub(record, 7, 6 + length))
  if ok and type(header) == 'table' and type(header.worker) == 'string' then return header.worker end
  return '(unreadable record)'
end

local function tally(counts, state, record, delta)
  local field = state .. ':' .. worker_of(record)
  counts[field] = (counts[field] or 0) + delta
end

local function write_counts(key, counts)
  local kind = redis.call('TYPE', key).ok
  if kind ~= 'hash' and kind ~= 'none' then return end
  for field, delta in pairs(counts) do
    if delta ~= 0 then
      local count = redis.pcall('HINCRBY', key, field, delta)
      if type(count) == 'table' then
        -- Not an integer (damaged): what it counted is unknown, so count from here on.
        redis.call('HDEL', key, field)
        if delta > 0 then redis.call('HSET', key, field, delta) end
      elseif count <= 0 then
        redis.call('HDEL', key, field)
      end
    end
  end
end
