-- lock-state.lua: what inspection reports of one name, read-only (after clock.lua).
-- KEYS[1] the lease hash of the name, KEYS[2] its queue entries (hash: token to mode:expiresAtMillis:backendId)
-- Returns the number of live queue entries, then one line 'token TAB mode TAB fencing TAB expiresAtMillis' per
-- live lease, joined by LF. Walks the queue's entries: its cost grows with the queue.
local waiting = 0
for _, v in ipairs(redis.call('HVALS', KEYS[2])) do
  local exp = string.match(v, '^%a:(%d+):')
  if exp and tonumber(exp) > now then waiting = waiting + 1 end
end
local out = {tostring(waiting)}
local entries = redis.call('HGETALL', KEYS[1])
for i = 1, #entries, 2 do
  local mode, fence, exp = string.match(entries[i + 1], '^(%a):(%d+):(%d+)$')
  if exp and tonumber(exp) > now then
    out[#out + 1] = entries[i] .. '\t' .. mode .. '\t' .. fence .. '\t' .. exp
  end
end
return table.concat(out, '\n')
