-- release_held: hand back every job that `worker` holds, except those named: each waits again at
-- its attempt, its message first in line (as release does). For a take whose reply was lost:
-- the jobs it claimed are unknown to the worker, which lives on, so no lease would free them.
--
-- KEYS[1] message  hash  job id -> huey's message for its attempt
-- KEYS[2] owner    hash  job id -> the worker running it (few: a batch per worker thread at most)
-- KEYS[3] waiting  zset  job id -> ready time + lease
-- KEYS[4] queue    list  huey's queue of messages
--
-- ARGV[1] number  now (s); '' to read the server's TIME
-- ARGV[2] number  lease (s)
-- ARGV[3] string  worker
-- ARGV[4..] string  ids of jobs that `worker` runs or is about to run: kept
--
-- Returns the ids handed back.

local now = tonumber(ARGV[1])
if not now then local t = redis.call('TIME'); now = t[1] + t[2] / 1000000 end
local lease, worker = tonumber(ARGV[2]), ARGV[3]

local kept, out = {}, {}
for i = 4, #ARGV do kept[ARGV[i]] = true end
local owners = redis.call('HGETALL', KEYS[2])
for i = 1, #owners, 2 do
  local id = owners[i]
  if owners[i + 1] == worker and not kept[id] then
    redis.call('HDEL', KEYS[2], id)
    local message = redis.call('HGET', KEYS[1], id)
    if message then
      redis.call('ZADD', KEYS[3], now + lease, id)
      redis.call('RPUSH', KEYS[4], message)
      out[#out + 1] = id
    end
  end
end
return out
