-- prune.lua: deletes the leases of one name that expired long enough ago (after clock.lua).
-- KEYS[1] the lease hash of the name
-- ARGV[1] ms: only leases that expired at least this long ago (0: every expired lease)
-- Returns how many leases were deleted.
local entries = redis.call('HGETALL', KEYS[1])
local before = now - tonumber(ARGV[1])
local n = 0
for i = 1, #entries, 2 do
  local exp = string.match(entries[i + 1], ':(%d+)$')
  if tonumber(exp) <= before then
    redis.call('HDEL', KEYS[1], entries[i])
    n = n + 1
  end
end
return n
