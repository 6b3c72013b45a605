-- bury: move a job that `worker` runs, which failed run number `attempt`, to the dead jobs
-- (replacing a dead job with the same id).
--
-- KEYS[1] record   hash  job id -> the job's record
-- KEYS[2] attempt  hash  job id -> its attempt
-- KEYS[3] message  hash  job id -> huey's message for that attempt
-- KEYS[4] owner    hash  job id -> the worker running it
-- KEYS[5] waiting  zset  job id -> ready time + lease
-- KEYS[6] dead     hash  job id -> the dead job's record
-- KEYS[7] failure  hash  job id -> JSON [attempt, error, failed_at] of the dead job
--
-- ARGV[1] number  now (s); '' to read the server's TIME
-- ARGV[2] string  job id
-- ARGV[3] string  worker
-- ARGV[4] integer attempt
-- ARGV[5] string  error
--
-- Returns 1, or 0 (nothing changed) when `worker` does not run the job.

local now = tonumber(ARGV[1])
if not now then local t = redis.call('TIME'); now = t[1] + t[2] / 1000000 end
local id = ARGV[2]

if redis.call('HGET', KEYS[4], id) ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[6], id, redis.call('HGET', KEYS[1], id))
redis.call('HSET', KEYS[7], id, cjson.encode({tonumber(ARGV[4]), ARGV[5], now}))
for i = 1, 4 do redis.call('HDEL', KEYS[i], id) end
redis.call('ZREM', KEYS[5], id)
return 1
