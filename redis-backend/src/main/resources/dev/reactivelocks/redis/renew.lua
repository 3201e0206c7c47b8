-- renew.lua: extends a live lease (after clock.lua); never revives an expired or deleted one.
-- KEYS[1] the lease hash of the name, KEYS[2] its permits (see acquire.lua), extended with the lease
-- ARGV[1] token, ARGV[2] lease ms
-- Returns 1 when the token's live lease was extended to later + lease (clock.lua), else 0.
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
local head, exp = string.match(v, '^(%a:%d+):(%d+)$')
if tonumber(exp) <= now then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 0
end
local expires = later + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], head .. ':' .. string.format('%.0f', expires))
for _, key in ipairs({KEYS[1], KEYS[2]}) do
  local ttl = redis.call('PTTL', key)
  if ttl == -1 or (ttl >= 0 and now + ttl < expires) then
    redis.call('PEXPIREAT', key, string.format('%.0f', expires))
  end
end
return 1
