-- inspect.lua: the stored leases of one name (after clock.lua).
-- KEYS[1] the lease hash of the name
-- Returns lines 'token TAB mode TAB fencing TAB remainingMs' (negative for expired leases), joined by LF.
local entries = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #entries, 2 do
  local mode, fence, exp = string.match(entries[i + 1], '^(%a):(%d+):(%d+)$')
  out[#out + 1] = entries[i] .. '\t' .. mode .. '\t' .. fence .. '\t' .. string.format('%.0f', tonumber(exp) - now)
end
return table.concat(out, '\n')
