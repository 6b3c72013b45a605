-- RedisStore.merge_statuses: raise per-user statuses in one receipts record, monotonically.
--
-- KEYS[1]  hash    the record: field "m" the message (JSON), field "u:<user>" the user's
--                  status rank (1 sent, 2 delivered, 3 read); expires (PEXPIRE)
-- ARGV[1]  int     ttl in milliseconds
-- ARGV[2]  string  the message as JSON, or "" to leave it as it is
-- ARGV[3..] pairs  user, rank (int), ...
--
-- A rank only ever rises. A new record expires ARGV[1] ms from now; an existing one keeps its
-- expiry unless a message is given, which is stored and restarts the expiry. Returns nothing.
local created = redis.call('EXISTS', KEYS[1]) == 0
for i = 3, #ARGV, 2 do
  local field = 'u:' .. ARGV[i]
  local rank = tonumber(ARGV[i + 1])
  if rank > tonumber(redis.call('HGET', KEYS[1], field) or '0') then
    redis.call('HSET', KEYS[1], field, rank)
  end
end
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[1], 'm', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
elseif created then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
