-- reap: make up to `limit` abandoned jobs wait again, ready now, their messages first in line.
-- Abandoned: running under a worker silent for `lease` (expired), or, while huey's queue is
-- empty, waiting although ready for longer than `lease` (its message presumed lost). Workers
-- silent for `lease` are forgotten: a worker without a beat is not alive.
--
-- KEYS[1] message  hash  job id -> huey's message for its attempt
-- KEYS[2] owner    hash  job id -> the worker running it (few: one per worker thread at most)
-- KEYS[3] waiting  zset  job id -> ready time + lease
-- KEYS[4] workers  zset  worker -> its last beat (s)
-- KEYS[5] queue    list  huey's queue of messages
-- KEYS[6] took     hash  worker -> its threads' last takes (see take.lua): forgotten with it
--
-- ARGV[1] number  now (s); '' to read the server's TIME
-- ARGV[2] number  lease (s)
-- ARGV[3] integer limit
--
-- Returns a flat list: job id, 1 (expired) or 0 (message lost), job id, ...

local now = tonumber(ARGV[1])
if not now then local t = redis.call('TIME'); now = t[1] + t[2] / 1000000 end
local lease, limit = tonumber(ARGV[2]), tonumber(ARGV[3])

local out, count = {}, 0
local function requeue(id, expired)
  redis.call('HDEL', KEYS[2], id)
  local message = redis.call('HGET', KEYS[1], id)
  if not message then redis.call('ZREM', KEYS[3], id) return end
  redis.call('ZADD', KEYS[3], now + lease, id)
  redis.call('RPUSH', KEYS[5], message)
  out[#out + 1] = id
  out[#out + 1] = expired
  count = count + 1
end

local idle = redis.call('LLEN', KEYS[5]) == 0
local owners = redis.call('HGETALL', KEYS[2])
for i = 1, #owners, 2 do
  if count >= limit then break end
  local beat = redis.call('ZSCORE', KEYS[4], owners[i + 1])
  if not beat or tonumber(beat) + lease <= now then requeue(owners[i], 1) end
end
for _, worker in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now - lease)) do
  redis.call('HDEL', KEYS[6], worker)
end
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - lease)
if idle and count < limit then
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, limit - count)) do
    requeue(id, 0)
  end
end
return out
