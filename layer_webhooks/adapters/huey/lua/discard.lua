-- discard: delete a dead job.
--
-- KEYS[1] dead     hash  job id -> the dead job's record
-- KEYS[2] failure  hash  job id -> JSON [attempt, error, failed_at] of the dead job
--
-- ARGV[1] string  job id
--
-- Returns 1 deleted, 0 no dead job with that id.

redis.call('HDEL', KEYS[2], ARGV[1])
return redis.call('HDEL', KEYS[1], ARGV[1])
