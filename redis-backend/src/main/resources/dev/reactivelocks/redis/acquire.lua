-- acquire.lua: grants a lease, or queues the caller (after clock.lua and queue.lua).
-- KEYS[1..4] the lease hash and the queue keys of the name (see queue.lua)
-- KEYS[5] the name's fencing key: the last token granted, expiring once the server clock has passed it
-- KEYS[6] the epoch key: the server time of the first grant after the data was lost, in the name's slot
-- KEYS[7] the name's permits: how many shared holders a semaphore admits (absent: a plain lock)
-- ARGV[1] token, ARGV[2] mode (E or S), ARGV[3] lease ms, ARGV[4] restart grace ms,
-- ARGV[5] keepQueued ms (0: never queue), ARGV[6] wake channel prefix, ARGV[7] this backend's id,
-- ARGV[8] the publish command (PUBLISH or SPUBLISH), ARGV[9] permits (0: a plain lock)
-- Returns 'mode:fencing' when granted (or already held by the token), false when busy; an error reply
-- 'PERMITS <n>' when a shared request disagrees with the live shared leases on the permits (0: plain).
--
-- A queued caller refreshes its entry first. While a live lease conflicts, that is all (O(1) in the queue
-- length). Otherwise an exclusive request passes when it is the first live entry of the queue (or, not
-- queued, when there is none), a shared one when the first live exclusive entry is behind it (or there is
-- none); the dead entries met at those heads are removed.
--
-- Fencing: max(last + 1, server time in microseconds). The fencing key expires one lease after the grant,
-- and never before the server clock has passed the token, so a missing key means that the time alone is
-- larger than every token granted before.
local token, mode, lease, keep, permits = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[5]), tonumber(ARGV[9])
local epoch = redis.call('GET', KEYS[6])
if not epoch then
  epoch = now
  redis.call('SET', KEYS[6], string.format('%.0f', now))
else
  epoch = tonumber(epoch)
end
local held, mine, others, leasesPruned = leases(token)
-- the lease hash's expiry reaches every live lease (each writer extends it to its own lease)
local covered = others
if not mine and mode == 'S' and held.n > held.e then
  local inUse = tonumber(redis.call('GET', KEYS[7]) or '0')
  if inUse ~= permits then return redis.error_reply('PERMITS ' .. inUse) end
end
if not mine then
  local ticket = tonumber(redis.call('ZSCORE', KEYS[2], token) or nil)
  local deadline = later + keep
  local entry = mode .. ':' .. string.format('%.0f', deadline) .. ':' .. ARGV[7]
  if ticket and keep > 0 then redis.call('HSET', KEYS[3], token, entry) end
  local grace = now < epoch + tonumber(ARGV[4])
  local pass, queuePruned = false, false
  if not grace and fits(mode, held, {n = 0, e = 0}) then
    local head, headTicket
    if mode == 'E' then
      head, headTicket, queuePruned = first(KEYS[2])
      pass = head == nil or head == token
    else
      head, headTicket, queuePruned = first(KEYS[4])
      pass = head == nil or (ticket ~= nil and headTicket > ticket)
      if pass and permits > 0 then
        local _, _, pruned = first(KEYS[2])
        local ahead = ticket and redis.call('ZCOUNT', KEYS[2], '-inf', '(' .. ticket) or redis.call('ZCARD', KEYS[2])
        pass = held.n + ahead < permits
        queuePruned = queuePruned or pruned
      end
    end
  end
  if pass then
    mine = mode .. ':' .. nextFencing(later + lease)
    add(held, mode)
    if ticket then dequeue(token) end
  end
  if permits > 0 and (pass or keep > 0) then
    -- lives as long as any lease or entry of the name (renew.lua extends it with the leases)
    local keepPermits, ttl = math.max(later + lease, deadline), redis.call('PTTL', KEYS[7])
    if ttl > 0 then keepPermits = math.max(keepPermits, now + ttl) end
    redis.call('SET', KEYS[7], permits, 'PXAT', string.format('%.0f', keepPermits))
  end
  if not pass and keep > 0 then
    if not ticket then
      local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
      ticket = (#last > 0 and tonumber(last[2]) or 0) + 1
      local score = string.format('%.0f', ticket)
      redis.call('ZADD', KEYS[2], score, token)
      if mode == 'E' then redis.call('ZADD', KEYS[4], score, token) end
      redis.call('HSET', KEYS[3], token, entry)
    end
    expireAtLeast(KEYS[2], deadline)
    expireAtLeast(KEYS[3], deadline)
    expireAtLeast(KEYS[4], deadline)
  end
  if not grace and (leasesPruned or queuePruned) then covered = handOff(held, ARGV[6], ARGV[8], covered) end
  if not mine then return false end
end
local expires = later + lease
redis.call('HSET', KEYS[1], token, mine .. ':' .. string.format('%.0f', expires))
redis.call('PEXPIREAT', KEYS[1], string.format('%.0f', math.max(expires, covered)))
return mine
