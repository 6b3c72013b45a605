-- add: write new jobs, waiting at attempt 1, and push each one's message into huey's queue
-- (LPUSH, as huey's RedisStorage.enqueue does; huey pops from the right).
--
-- KEYS[1] record   hash  job id -> the job's record (JSON name and data)
-- KEYS[2] attempt  hash  job id -> the attempt it waits for or runs
-- KEYS[3] message  hash  job id -> huey's message for that attempt (pushed again on a requeue)
-- KEYS[4] waiting  zset  job id -> when its message is presumed lost: ready time + lease (s)
-- KEYS[5] queue    list  huey's queue of messages
--
-- ARGV[1] number  now (s); '' to read the server's TIME
-- ARGV[2] number  lease (s)
-- ARGV[3..] per job, four values: string id, string record, bytes message, number delay (s)
--
-- Returns a string of one character per job: '1' added, '0' pending already (left as it was).

local now = tonumber(ARGV[1])
if not now then local t = redis.call('TIME'); now = t[1] + t[2] / 1000000 end
local lease = tonumber(ARGV[2])

local added = {}
for i = 3, #ARGV, 4 do
  local id = ARGV[i]
  if redis.call('HSETNX', KEYS[1], id, ARGV[i + 1]) == 1 then
    redis.call('HSET', KEYS[2], id, 1)
    redis.call('HSET', KEYS[3], id, ARGV[i + 2])
    redis.call('ZADD', KEYS[4], now + tonumber(ARGV[i + 3]) + lease, id)
    redis.call('LPUSH', KEYS[5], ARGV[i + 2])
    added[#added + 1] = '1'
  else
    added[#added + 1] = '0'
  end
end
return table.concat(added)
