-- replay: make a dead job wait at attempt 1, ready now, under its id, and push its message.
--
-- KEYS[1] record   hash  job id -> the job's record
-- KEYS[2] attempt  hash  job id -> its attempt
-- KEYS[3] message  hash  job id -> huey's message for that attempt
-- KEYS[4] waiting  zset  job id -> ready time + lease
-- KEYS[5] dead     hash  job id -> the dead job's record
-- KEYS[6] failure  hash  job id -> JSON [attempt, error, failed_at] of the dead job
-- KEYS[7] queue    list  huey's queue of messages
--
-- ARGV[1] number  now (s); '' to read the server's TIME
-- ARGV[2] number  lease (s)
-- ARGV[3] string  job id
-- ARGV[4] bytes   huey's message for attempt 1
--
-- Returns 1 done, 0 no dead job with that id, -1 a job with that id is pending (nothing changed).

local now = tonumber(ARGV[1])
if not now then local t = redis.call('TIME'); now = t[1] + t[2] / 1000000 end
local id = ARGV[3]

local record = redis.call('HGET', KEYS[5], id)
if not record then return 0 end
if redis.call('HEXISTS', KEYS[1], id) == 1 then return -1 end
redis.call('HSET', KEYS[1], id, record)
redis.call('HSET', KEYS[2], id, 1)
redis.call('HSET', KEYS[3], id, ARGV[4])
redis.call('ZADD', KEYS[4], now + tonumber(ARGV[2]), id)
redis.call('LPUSH', KEYS[7], ARGV[4])
redis.call('HDEL', KEYS[5], id)
redis.call('HDEL', KEYS[6], id)
return 1
