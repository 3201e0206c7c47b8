-- renew.lua: extends a live lease (after clock.lua); never revives an expired or deleted one.
-- KEYS[1] the lease hash of the name
-- ARGV[1] token, ARGV[2] lease ms
-- Returns 1 when the token's live lease was extended to now + lease, else 0.
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
local head, exp = string.match(v, '^(%a:%d+):(%d+)$')
if tonumber(exp) <= now then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 0
end
local expires = now + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], head .. ':' .. string.format('%.0f', expires))
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 or now + ttl < expires then
  redis.call('PEXPIREAT', KEYS[1], string.format('%.0f', expires))
end
return 1
