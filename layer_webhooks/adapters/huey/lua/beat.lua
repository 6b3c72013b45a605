-- beat: record that `worker` is alive now, so that the jobs it runs stay its own.
--
-- KEYS[1] workers  zset  worker -> its last beat (s)
--
-- ARGV[1] number  now (s); '' to read the server's TIME
-- ARGV[2] string  worker
--
-- Returns 1.

local now = tonumber(ARGV[1])
if not now then local t = redis.call('TIME'); now = t[1] + t[2] / 1000000 end

redis.call('ZADD', KEYS[1], now, ARGV[2])
return 1
