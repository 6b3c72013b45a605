-- RedisStore.get: read one key, a claim or a receipts record, in one round trip.
--
-- KEYS[1]  string  a plain value (JSON), as add_if_absent writes it
--          or hash  a receipts record, as store_merge_statuses.lua writes it
-- (no ARGV)
--
-- Returns {"s", <JSON>} for a string, {"h", <HGETALL pairs>} for a hash, nil when absent.
-- Never writes.
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'string' then return {'s', redis.call('GET', KEYS[1])} end
if kind == 'hash' then return {'h', redis.call('HGETALL', KEYS[1])} end
return nil
