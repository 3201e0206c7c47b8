-- clock.lua: the Redis server clock, read once at the start of a script.
-- Defines t (the reply of TIME: seconds, microseconds) and now (milliseconds since the epoch).
-- Every expiry is judged by this clock, never by a client's.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
