-- queue.lua: functions shared by acquire.lua and release.lua (after clock.lua).
-- KEYS[5] (when a function hands off) the name's fencing key, KEYS[7] its permits (see acquire.lua)
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

-- deletes expired leases; returns the modes of the live leases of others, ours ('mode:fencing', nil when
-- missing or expired), the max expiry of the others' leases, pruned, and the expiry of our lease field (live
-- or expired; nil when there was none)
local function leases(token)
  local entries = redis.call('HGETALL', KEYS[1])
  local held, mine, others, pruned, ownExp = {n = 0, e = 0}, nil, 0, false, nil
  for i = 1, #entries, 2 do
    local mode, fence, exp = string.match(entries[i + 1], '^(%a):(%d+):(%d+)$')
    exp = tonumber(exp)
    if entries[i] == token then ownExp = exp end
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
  return held, mine, others, pruned, ownExp
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
-- until keepAtLeast (ms) and never expires before the server clock has passed the token. One SET ... GET
-- (Redis 6.2) writes the time and reads the last token; only when the last token is not below the time (two
-- grants in one script) a second SET writes last + 1.
local function nextFencing(keepAtLeast)
  local f = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local last = redis.call('SET', KEYS[5], string.format('%.0f', f), 'PXAT',
      string.format('%.0f', math.max(keepAtLeast, math.floor(f / 1000) + 1)), 'GET')
  if last and tonumber(last) >= f then
    f = tonumber(last) + 1
    redis.call('SET', KEYS[5], string.format('%.0f', f), 'PXAT',
        string.format('%.0f', math.max(keepAtLeast, math.floor(f / 1000) + 1)))
  end
  return string.format('%.0f', f)
end

-- whether a queued entry of mode may pass next to the held leases and the entries let through before it;
-- reads the permits (KEYS[7]) once, for the first shared entry: permits is a table {v = nil or the count}
local function passes(mode, held, ahead, permits)
  if not fits(mode, held, ahead) then return false end
  if mode == 'E' then return true end
  if not permits.v then permits.v = tonumber(redis.call('GET', KEYS[7]) or '0') end
  return permits.v == 0 or held.n + ahead.n < permits.v
end

-- publishes the token of each entry that may pass now (the head, or a run of shared entries) on the channel
-- of the backend that queued it: channel .. backendId, with command PUBLISH or SPUBLISH; the woken entries
-- ask (a waiter that left the queue: acquire.lua applies the restart grace)
local function wake(held, channel, command)
  local ahead, permits, i = {n = 0, e = 0}, {}, 0
  while true do
    local at = redis.call('ZRANGE', KEYS[2], i, i)
    if #at == 0 then return end
    local mode, owner = live(at[1])
    if mode then
      if not passes(mode, held, ahead, permits) then return end
      redis.call(command, channel .. owner, at[1])
      i = i + 1
      add(ahead, mode)
    else
      dequeue(at[1])
    end
  end
end

-- hands the lock off to each entry that may pass now (the head, or a run of shared entries), taken from the
-- queue with ZPOPMIN: a lease that ends when its entry would have, announced with one PUBLISH (or SPUBLISH)
-- of '=fencing:mode:token' on the channel of the backend that queued it, which is the waiter's wake-up too.
-- covered: a time (ms) that the lease hash's expiry is known to reach (every writer extends it to its lease);
-- it is extended only for a lease that ends later. An entry that may not pass goes back with its ticket.
-- Returns the new covered time. A hand-off of an exclusive entry costs ZPOPMIN, HGET, SET (fencing), HDEL,
-- ZREM, HSET and the publish: 7 commands (8 when its lease outlives every lease the hash covered).
local function handOff(held, channel, command, covered)
  local ahead, permits = {n = 0, e = 0}, {}
  while held.e + ahead.e == 0 do
    local head = redis.call('ZPOPMIN', KEYS[2])
    if #head == 0 then return covered end
    local token = head[1]
    local mode, owner, exp = live(token)
    if not mode then
      redis.call('ZREM', KEYS[4], token)
      redis.call('HDEL', KEYS[3], token)
    elseif not passes(mode, held, ahead, permits) then
      redis.call('ZADD', KEYS[2], head[2], token)
      expireAtLeast(KEYS[2], exp)   -- the key is new when the entry was its only member
      return covered
    else
      local f = nextFencing(exp)
      redis.call('HDEL', KEYS[3], token)
      if mode == 'E' then redis.call('ZREM', KEYS[4], token) end
      redis.call('HSET', KEYS[1], token, mode .. ':' .. f .. ':' .. string.format('%.0f', exp))
      if exp > covered then
        redis.call('PEXPIREAT', KEYS[1], string.format('%.0f', exp))
        covered = exp
      end
      redis.call(command, channel .. owner, '=' .. f .. ':' .. mode .. ':' .. token)
      add(ahead, mode)
    end
  end
  return covered
end
