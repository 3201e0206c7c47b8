-- acquire.lua: grants a lease, or queues the caller (after clock.lua and queue.lua).
-- KEYS[1..4] the lease hash and the queue keys of the name (see queue.lua)
-- KEYS[5] the name's fencing key: the last token granted, expiring once the server clock has passed it
-- KEYS[6] the epoch key: the server time of the first grant after the data was lost, in the name's slot
-- ARGV[1] token, ARGV[2] mode (E or S), ARGV[3] lease ms, ARGV[4] restart grace ms,
-- ARGV[5] keepQueued ms (0: never queue), ARGV[6] wake channel prefix, ARGV[7] this backend's id,
-- ARGV[8] the publish command (PUBLISH or SPUBLISH)
-- Returns 'mode:fencing' when granted (or already held by the token), false when busy.
--
-- A queued caller refreshes its entry first. While a live lease conflicts, that is all (O(1) in the queue
-- length). Otherwise an exclusive request passes when it is the first live entry of the queue (or, not
-- queued, when there is none), a shared one when the first live exclusive entry is behind it (or there is
-- none); the dead entries met at those heads are removed.
--
-- Fencing: max(last + 1, server time in microseconds). The fencing key expires one lease after the grant,
-- and never before the server clock has passed the token, so a missing key means that the time alone is
-- larger than every token granted before.
local token, mode, lease, keep = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[5])
local epoch = redis.call('GET', KEYS[6])
if not epoch then
  epoch = now
  redis.call('SET', KEYS[6], string.format('%.0f', now))
else
  epoch = tonumber(epoch)
end
local held, mine, others, leasesPruned = leases(token)
if not mine then
  local ticket = tonumber(redis.call('ZSCORE', KEYS[2], token) or nil)
  local deadline = now + keep
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
    end
  end
  if pass then
    mine = mode .. ':' .. nextFencing(now + lease)
    add(held, mode)
    if ticket then dequeue(token) end
  elseif keep > 0 then
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
  if not grace and (leasesPruned or queuePruned) then wake(held, ARGV[6], ARGV[8], true) end
  if not mine then return false end
end
local expires = now + lease
redis.call('HSET', KEYS[1], token, mine .. ':' .. string.format('%.0f', expires))
redis.call('PEXPIREAT', KEYS[1], string.format('%.0f', math.max(expires, others)))
return mine
