-- retry: make a job that `worker` runs wait again at `attempt`, ready after `delay`, and push
-- the message of that attempt (built by the caller, with huey's eta) into huey's queue.
--
-- KEYS[1] attempt  hash  job id -> the attempt it waits for or runs
-- KEYS[2] message  hash  job id -> huey's message for that attempt
-- KEYS[3] owner    hash  job id -> the worker running it
-- KEYS[4] waiting  zset  job id -> ready time + lease
-- KEYS[5] queue    list  huey's queue of messages
--
-- ARGV[1] number  now (s); '' to read the server's TIME
-- ARGV[2] number  lease (s)
-- ARGV[3] string  job id
-- ARGV[4] string  worker
-- ARGV[5] integer attempt
-- ARGV[6] number  delay (s)
-- ARGV[7] bytes   huey's message for `attempt`
--
-- Returns 1, or 0 (nothing changed) when `worker` does not run the job.

local now = tonumber(ARGV[1])
if not now then local t = redis.call('TIME'); now = t[1] + t[2] / 1000000 end
local id = ARGV[3]

if redis.call('HGET', KEYS[3], id) ~= ARGV[4] then return 0 end
redis.call('HSET', KEYS[1], id, ARGV[5])
redis.call('HSET', KEYS[2], id, ARGV[7])
redis.call('HDEL', KEYS[3], id)
redis.call('ZADD', KEYS[4], now + tonumber(ARGV[6]) + tonumber(ARGV[2]), id)
redis.call('LPUSH', KEYS[5], ARGV[7])
return 1
