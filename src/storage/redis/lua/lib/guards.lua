-- guards (prepended to every script): checks, before a script's first write, that its keys hold
-- the type it expects. Redis keeps the writes a script made before an error, so a script that
-- failed half-way on a damaged key (another program wrote there, or someone SET it by hand)
-- would leave jobs in two places or in none. A key that does not exist passes: it is created.
-- The error starts with TONIQ_DAMAGED_KEY and names the key, so the store throws
-- DamagedKeyError saying which key to delete (script-results.ts).
-- expect_types({ [1] = 'hash', [2] = 'zset', ... }) checks KEYS[i] for each entry.
local function expect_types(types)
  for i, expected in pairs(types) do
    local actual = redis.call('TYPE', KEYS[i]).ok
    if actual ~= 'none' and actual ~= expected then
      error({ err = 'TONIQ_DAMAGED_KEY ' .. KEYS[i] .. ' holds a ' .. actual .. ', expected a ' .. expected })
    end
  end
end

-- expect_score(value): a sorted-set score toniq passes (a time in ms, or "inf") that ZADD would
-- refuse (NaN, a number too large for a double) is refused before the first write, too.
local function expect_score(value)
  local n = tonumber(value)
  local infinite = value == 'inf' or value == '+inf' or value == '-inf'
  if n == nil or n ~= n or (not infinite and (n == math.huge or n == -math.huge)) then
    error({ err = 'TONIQ_BAD_SCORE ' .. tostring(value) .. ' is not a time in ms; nothing was written' })
  end
end
