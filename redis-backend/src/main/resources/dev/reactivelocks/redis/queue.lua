-- queue.lua: functions shared by acquire.lua and release.lua (after clock.lua).
-- KEYS[5] (when a function hands off) the name's fencing key (see acquire.lua)
-- KEYS[1] the lease hash: owner token -> 'mode:fencing:expiresAtMillis'
-- KEYS[2] the wait queue, a sorted set: token by ticket, in arrival order
-- KEYS[3] the queue entries, a hash: token -> 'mode:expiresAtMillis:backendId'
-- KEYS[4] the exclusive entries, a sorted set: token by ticket
-- A set of modes is a table {n = count, e = exclusive count}.
-- No function reads the whole queue: a dead entry (expired, or its hash field gone) is removed when it is
-- met at the head of the queue or of the exclusive entries, so each entry is removed once and every call
-- costs O(log n) in the queue length, amortised.

local function add(set, mode)
  set.n = set.n + 1
  if mode == 'E' then set.e = set.e + 1 end
end

-- mode fits next to every mode of each set: a set is empty, or all are shared
local function fits(mode, held, ahead)
  for _, set in ipairs({held, ahead}) do
    if set.n > 0 and (mode == 'E' or set.e > 0) then return false end
  end
  return true
end

-- deletes expired leases; returns the modes of the live leases of others, ours, their max expiry, pruned
local function leases(token)
  local entries = redis.call('HGETALL', KEYS[1])
  local held, mine, others, pruned = {n = 0, e = 0}, nil, 0, false
  for i = 1, #entries, 2 do
    local mode, fence, exp = string.match(entries[i + 1], '^(%a):(%d+):(%d+)$')
    exp = tonumber(exp)
    if exp <= now then
      redis.call('HDEL', KEYS[1], entries[i])
      pruned = true
    elseif entries[i] == token then
      mine = mode .. ':' .. fence
    else
      add(held, mode)
      if exp > others then others = exp end
    end
  end
  return held, mine, others, pruned
end

local function dequeue(token)
  redis.call('ZREM', KEYS[2], token)
  redis.call('ZREM', KEYS[4], token)
  return redis.call('HDEL', KEYS[3], token)
end

-- the live entry of token: mode, owner, expiry; nil when it is missing or expired
local function live(token)
  local entry = redis.call('HGET', KEYS[3], token)
  if not entry then return nil end
  local mode, exp, owner = string.match(entry, '^(%a):(%d+):(.*)$')
  exp = tonumber(exp)
  if exp <= now then return nil end
  return mode, owner, exp
end

-- the first live token of the sorted set and its ticket, removing the dead ones before it; pruned
local function first(key)
  local pruned = false
  while true do
    local head = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    if #head == 0 then return nil, nil, pruned end
    if live(head[1]) then return head[1], tonumber(head[2]), pruned end
    dequeue(head[1])
    pruned = true
  end
end

local function expireAtLeast(key, at)
  local ttl = redis.call('PTTL', key)
  if ttl < 0 or now + ttl < at then
    redis.call('PEXPIREAT', key, string.format('%.0f', at))
  end
end

-- the next fencing token of the name, KEYS[5]: max(last + 1, server time in microseconds); the key is kept
-- until keepAtLeast (ms) and never expires before the server clock has passed the token
local function nextFencing(keepAtLeast)
  local f = tonumber(redis.call('GET', KEYS[5]) or '0') + 1
  local floor = tonumber(t[1]) * 1000000 + tonumber(t[2])
  if f < floor then f = floor end
  local keepFence = math.max(keepAtLeast, math.floor(f / 1000) + 1)
  redis.call('SET', KEYS[5], string.format('%.0f', f), 'PXAT', string.format('%.0f', keepFence))
  return string.format('%.0f', f)
end

-- lets through each entry that may pass now (the head, or a run of shared entries): hands the lock off to
-- it (a lease that ends when its entry would have, announced as '=fencing:mode:token') when handOff is
-- true, else publishes its token; on the channel of the backend that queued it: channel .. backendId,
-- with command PUBLISH or SPUBLISH
local function wake(held, channel, command, handOff)
  local ahead, i = {n = 0, e = 0}, 0
  while true do
    local at = redis.call('ZRANGE', KEYS[2], i, i)
    if #at == 0 then return end
    local mode, owner, exp = live(at[1])
    if mode then
      if not fits(mode, held, ahead) then return end
      if handOff then
        local f = nextFencing(exp)
        dequeue(at[1])
        redis.call('HSET', KEYS[1], at[1], mode .. ':' .. f .. ':' .. string.format('%.0f', exp))
        expireAtLeast(KEYS[1], exp)
        redis.call(command, channel .. owner, '=' .. f .. ':' .. mode .. ':' .. at[1])
      else
        redis.call(command, channel .. owner, at[1])
        i = i + 1
      end
      add(ahead, mode)
    else
      dequeue(at[1])
    end
  end
end
