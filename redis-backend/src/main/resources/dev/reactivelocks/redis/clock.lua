-- clock.lua: the Redis server clock, read once at the start of a script.
-- Defines t (the reply of TIME: seconds, microseconds), now (milliseconds since the epoch, rounded down) and
-- later (rounded up). Every expiry is judged by this clock, never by a client's: a lease or entry is live while
-- now is below its end. Ends are counted from later (with durations in whole milliseconds rounded up), so that
-- nothing ends before the time asked for from the moment the caller sent its call.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local later = now + ((tonumber(t[2]) % 1000 > 0) and 1 or 0)
