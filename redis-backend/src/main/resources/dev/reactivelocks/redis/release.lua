-- release.lua: compare-and-delete of a token's lease and queue entry (after clock.lua and queue.lua),
-- then lets the queued entries that may now pass through: hands the lock off to them when a lease was
-- released (a lease exists only outside the restart grace, see acquire.lua), else wakes them (a waiter that
-- leaves: the woken entries ask, and acquire.lua applies the grace).
-- KEYS[1..4] the lease hash and the queue keys of the name, KEYS[5] its fencing key (see queue.lua)
-- ARGV[1] token, ARGV[2] wake channel prefix, ARGV[3] the publish command (PUBLISH or SPUBLISH)
-- Returns 1 when the token's lease was deleted, else 0.
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
local dequeued = dequeue(ARGV[1])
if (removed == 1 or dequeued == 1) and redis.call('EXISTS', KEYS[2]) == 1 then
  local held = leases('')
  wake(held, ARGV[2], ARGV[3], removed == 1)
end
return removed
