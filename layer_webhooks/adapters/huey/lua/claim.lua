-- claim: start run number `attempt` of a job for `worker`, and record that `worker` is alive.
-- Refused when the job is gone, at another attempt, or running under a live worker (`worker`
-- itself included: a duplicate message). A job whose worker went silent is taken over.
--
-- KEYS[1] record   hash  job id -> the job's record
-- KEYS[2] attempt  hash  job id -> the attempt it waits for or runs
-- KEYS[3] owner    hash  job id -> the worker running it (absent while it waits)
-- KEYS[4] waiting  zset  job id -> ready time + lease; a running job is not in it
-- KEYS[5] workers  zset  worker -> its last beat (s)
--
-- ARGV[1] number  now (s); '' to read the server's TIME
-- ARGV[2] number  lease (s)
-- ARGV[3] string  job id
-- ARGV[4] integer attempt
-- ARGV[5] string  worker
--
-- Returns the job's record, or nil when refused.

local now = tonumber(ARGV[1])
if not now then local t = redis.call('TIME'); now = t[1] + t[2] / 1000000 end
local lease, id, worker = tonumber(ARGV[2]), ARGV[3], ARGV[5]

redis.call('ZADD', KEYS[5], now, worker)
local record = redis.call('HGET', KEYS[1], id)
if not record or redis.call('HGET', KEYS[2], id) ~= ARGV[4] then return false end
local holder = redis.call('HGET', KEYS[3], id)
if holder then
  local beat = redis.call('ZSCORE', KEYS[5], holder)
  if beat and tonumber(beat) + lease > now then return false end
end
redis.call('HSET', KEYS[3], id, worker)
redis.call('ZREM', KEYS[4], id)
return record
