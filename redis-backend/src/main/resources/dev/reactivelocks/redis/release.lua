-- release.lua: compare-and-delete of a token's lease and queue entry (after clock.lua and queue.lua),
-- then lets the queued entries that may now pass through: hands the lock off to them when a lease was
-- released (a lease exists only outside the restart grace, see acquire.lua), else wakes them (a waiter that
-- leaves: the woken entries ask, and acquire.lua applies the grace).
-- KEYS[1..4] the lease hash and the queue keys of the name, KEYS[5] its fencing key, KEYS[7] its permits
-- (see queue.lua; KEYS[6] is not used)
-- ARGV[1] token, ARGV[2] wake channel prefix, ARGV[3] the publish command (PUBLISH or SPUBLISH)
-- Returns 1 when the token's lease was deleted, else 0.
--
-- A token has a lease or a queue entry, never both (a grant removes the entry, and an entry is only made
-- when the token's lease is missing or expired, which deletes it), so the entry is only removed when there
-- was no lease. The released lease is deleted after the hand-off: the hash then never becomes empty in
-- between, and keeps its expiry, which covers the released lease. A hand-off to an exclusive head costs 11
-- or 12 commands: EVALSHA, TIME, HGETALL, the 7 or 8 of handOff (queue.lua) and the HDEL of the released
-- lease (RedisHandOffCostTest); a release with nobody queued 5 (EVALSHA, TIME, HGETALL, ZPOPMIN, HDEL).
local token = ARGV[1]
local held, mine, others, _, ownExp = leases(token)
if ownExp then
  handOff(held, ARGV[2], ARGV[3], mine and math.max(others, ownExp) or others)
  if mine then redis.call('HDEL', KEYS[1], token) end   -- an expired one was deleted by leases
  return 1
end
if dequeue(token) == 1 and redis.call('EXISTS', KEYS[2]) == 1 then
  wake(held, ARGV[2], ARGV[3])
end
return 0
