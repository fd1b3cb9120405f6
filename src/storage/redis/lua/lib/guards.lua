-- guards (prepended to every script): checks, before a script's first write, that its keys hold
-- the type it expects. Redis keeps the writes a script made before an error, so a script that
-- failed half-way on a damaged key (another program wrote there, or someone SET it by hand)
-- would leave jobs in two places or in none. A key that does not exist passes: it is created.
-- The error starts with TONIQ_DAMAGED_KEY and names the key, so RedisStore throws
-- DamagedKeyError saying which key to delete.
-- expect_types({ [1] = 'hash', [2] = 'zset', ... }) checks KEYS[i] for each entry.
local function expect_types(types)
  for i, expected in pairs(types) do
    local actual = redis.call('TYPE', KEYS[i]).ok
    if actual ~= 'none' and actual ~= expected then
      error({ err = 'TONIQ_DAMAGED_KEY ' .. KEYS[i] .. ' holds a ' .. actual .. ', expected a ' .. expected })
    end
  end
end
