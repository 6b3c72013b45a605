-- finish: forget a job whose run succeeded, whoever runs it now.
--
-- KEYS[1] record   hash  job id -> the job's record
-- KEYS[2] attempt  hash  job id -> its attempt
-- KEYS[3] message  hash  job id -> huey's message for that attempt
-- KEYS[4] owner    hash  job id -> the worker running it
-- KEYS[5] waiting  zset  job id -> ready time + lease
--
-- ARGV[1] string  job id
--
-- Returns 1.

for i = 1, 4 do redis.call('HDEL', KEYS[i], ARGV[1]) end
redis.call('ZREM', KEYS[5], ARGV[1])
return 1
