-- release: hand a job that `worker` runs back, waiting at the same attempt, ready now; its
-- message goes to the right end of huey's queue, which huey pops next (first in line).
--
-- KEYS[1] message  hash  job id -> huey's message for its attempt
-- KEYS[2] owner    hash  job id -> the worker running it
-- KEYS[3] waiting  zset  job id -> ready time + lease
-- KEYS[4] queue    list  huey's queue of messages
--
-- ARGV[1] number  now (s); '' to read the server's TIME
-- ARGV[2] number  lease (s)
-- ARGV[3] string  job id
-- ARGV[4] string  worker
--
-- Returns 1, or 0 (nothing changed) when `worker` does not run the job.

local now = tonumber(ARGV[1])
if not now then local t = redis.call('TIME'); now = t[1] + t[2] / 1000000 end
local id = ARGV[3]

if redis.call('HGET', KEYS[2], id) ~= ARGV[4] then return 0 end
redis.call('HDEL', KEYS[2], id)
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), id)
redis.call('RPUSH', KEYS[4], redis.call('HGET', KEYS[1], id))
return 1
