-- RedisStore.add_position / add_range: one position index of the receipts, in one atomic step.
--
-- KEYS[1]  zset    the index's members: member (a message id) -> its position
-- KEYS[2]  zset    the same members -> when each expires (ms, on the server's TIME)
-- KEYS[3]  zset    the ranges, "<first> <last> <rank> <user>" -> when each expires (ms)
--
-- ARGV[1] = "position":  ARGV[2] position (integer)  ARGV[3] member  ARGV[4] ttl (ms)
--   Index the member (moving it and restarting its expiry if it was there). Returns
--   {user, rank, ...}: each user's highest rank among the live ranges covering the position.
-- ARGV[1] = "range":     ARGV[2] first  ARGV[3] last  ARGV[4] ttl (ms)  ARGV[5..] user, rank pairs
--   Remember each user's rank over first..last (restarting the expiry of a range seen before).
--   Returns the live members at positions first..last, by position.
--
-- Expired members and ranges are removed first. Each key expires with its last entry (an
-- emptied zset is removed by Redis), so that an index never outlives what it tracks.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[4])

local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for i = 1, #gone, 1000 do
  redis.call('ZREM', KEYS[1], unpack(gone, i, math.min(i + 999, #gone)))
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)

local function keep(key)
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end

if ARGV[1] == 'position' then
  local position = tonumber(ARGV[2])
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
  redis.call('ZADD', KEYS[2], now + ttl, ARGV[3])
  keep(KEYS[1])
  keep(KEYS[2])
  local best, users = {}, {}
  for _, range in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
    local first, last, rank, user = string.match(range, '^(%S+) (%S+) (%S+) (.*)$')
    rank = tonumber(rank)
    if tonumber(first) <= position and position <= tonumber(last) then
      if best[user] == nil then table.insert(users, user) end
      if rank > (best[user] or 0) then best[user] = rank end
    end
  end
  local reply = {}
  for _, user in ipairs(users) do
    table.insert(reply, user)
    table.insert(reply, best[user])
  end
  return reply
end

for i = 5, #ARGV, 2 do
  redis.call('ZADD', KEYS[3], now + ttl, ARGV[2] .. ' ' .. ARGV[3] .. ' ' .. ARGV[i + 1] .. ' ' .. ARGV[i])
end
if #ARGV >= 5 then keep(KEYS[3]) end
return redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[2], ARGV[3])
