-- downgrade.lua: turns a token's live exclusive lease into a shared one (after clock.lua and queue.lua),
-- then hands the lock off to the queued shared requests that may now pass.
-- KEYS[1..7] the name's keys, as for acquire.lua
-- ARGV[1] token, ARGV[2] lease ms, ARGV[3] wake channel prefix, ARGV[4] the publish command
-- Returns 'S:fencing' (a new fencing token; an already shared lease is extended and returned unchanged),
-- false when the token holds no live lease of the name.
local token, lease = ARGV[1], tonumber(ARGV[2])
local held, mine, others, _, ownExp = leases(token)
if not mine then return false end
local mode, f = string.match(mine, '^(%a):(%d+)$')
if mode == 'E' then f = nextFencing(later + lease) end
local expires = later + lease
redis.call('HSET', KEYS[1], token, 'S:' .. f .. ':' .. string.format('%.0f', expires))
-- the hash's expiry covers every lease written before, ours included
local covered = math.max(others, ownExp)
if expires > covered then
  redis.call('PEXPIREAT', KEYS[1], string.format('%.0f', expires))
  covered = expires
end
if mode == 'E' then
  add(held, 'S')
  handOff(held, ARGV[3], ARGV[4], covered)
end
return 'S:' .. f
