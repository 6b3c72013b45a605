-- claim: forget the jobs `finished` (as finish does), then start run number `attempt` of a job
-- for `worker`, and record that `worker` is alive. The claim is refused when the job is gone,
-- at another attempt, or running under a live worker (`worker` itself included: a duplicate
-- message). A job whose worker went silent is taken over.
--
-- KEYS[1] record   hash  job id -> the job's record
-- KEYS[2] attempt  hash  job id -> the attempt it waits for or runs
-- KEYS[3] owner    hash  job id -> the worker running it (absent while it waits)
-- KEYS[4] waiting  zset  job id -> ready time + lease; a running job is not in it
-- KEYS[5] workers  zset  worker -> its last beat (s)
-- KEYS[6] message  hash  job id -> huey's message for its attempt
-- KEYS[7] queue    list  huey's queue of messages (only counted)
--
-- ARGV[1] number  now (s); '' to read the server's TIME
-- ARGV[2] number  lease (s)
-- ARGV[3] string  job id
-- ARGV[4] integer attempt
-- ARGV[5] string  worker
-- ARGV[6..] string  ids of jobs whose run succeeded, to forget first (none: a plain claim)
--
-- Returns {the job's record, or nil when refused; how many messages wait in huey's queue}.

local now = tonumber(ARGV[1])
if not now then local t = redis.call('TIME'); now = t[1] + t[2] / 1000000 end
local lease, id, worker = tonumber(ARGV[2]), ARGV[3], ARGV[5]

for i = 6, #ARGV do
  for _, key in ipairs({KEYS[1], KEYS[2], KEYS[3], KEYS[6]}) do redis.call('HDEL', key, ARGV[i]) end
  redis.call('ZREM', KEYS[4], ARGV[i])
end
redis.call('ZADD', KEYS[5], now, worker)
local queued = redis.call('LLEN', KEYS[7])
local record = redis.call('HGET', KEYS[1], id)
if not record or redis.call('HGET', KEYS[2], id) ~= ARGV[4] then return {false, queued} end
local holder = redis.call('HGET', KEYS[3], id)
if holder then
  local beat = redis.call('ZSCORE', KEYS[5], holder)
  if beat and tonumber(beat) + lease > now then return {false, queued} end
end
redis.call('HSET', KEYS[3], id, worker)
redis.call('ZREM', KEYS[4], id)
return {record, queued}
