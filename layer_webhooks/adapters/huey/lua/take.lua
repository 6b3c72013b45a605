-- take: forget the jobs `finished` (as finish does) and record that `worker` is alive, then pop
-- up to `limit` messages from huey's queue (from the right, as huey's dequeue does) and claim, as
-- claim.lua does, the run each one names. A message names a run when it has the shape of
-- _message.py's template: `head`, an 8-byte frame length, `before`, the id (SHORT_BINUNICODE
-- or BINUNICODE), `between`, the attempt (BININT1 or BININT2), `after`; these bytes are the
-- template's, so a message in this shape is the one huey would pickle for that run. The first
-- message of any other shape (another task, a run huey pickled itself) ends the take: it goes
-- back where it was, for huey's own loop. A refused claim (the job is done, at another attempt,
-- or running under a live worker) drops its message, as a refused run does.
--
-- Each call carries a token, kept per thread of the worker with the runs it claimed: the same
-- call again (a client that retries after a lost reply) gets those runs again instead of taking
-- more, so that no job is claimed by a worker that never learns of it. reap.lua forgets the
-- tokens of a worker it forgets.
--
-- KEYS[1] record   hash  job id -> the job's record
-- KEYS[2] attempt  hash  job id -> the attempt it waits for or runs
-- KEYS[3] owner    hash  job id -> the worker running it (absent while it waits)
-- KEYS[4] waiting  zset  job id -> ready time + lease; a running job is not in it
-- KEYS[5] workers  zset  worker -> its last beat (s)
-- KEYS[6] message  hash  job id -> huey's message for its attempt
-- KEYS[7] queue    list  huey's queue of messages (popped from the right)
-- KEYS[8] took     hash  worker -> JSON {thread: [token, id, attempt, id, attempt, ...]}: the last takes
--
-- ARGV[1] number  now (s); '' to read the server's TIME
-- ARGV[2] number  lease (s)
-- ARGV[3] string  worker
-- ARGV[4] integer limit: how many messages to pop at most
-- ARGV[5..8] bytes  the template: head, before, between, after
-- ARGV[9]  string  thread: the calling thread of `worker`
-- ARGV[10] string  token: this call's, never used twice by `worker`
-- ARGV[11..] string  ids of jobs whose run succeeded, to forget first
--
-- Returns {claimed: a flat list of id, attempt, record; ids refused because `worker` itself
-- holds them; how many messages wait in huey's queue; 1 when a message of another shape ended
-- the take, else 0}.

local now = tonumber(ARGV[1])
if not now then local t = redis.call('TIME'); now = t[1] + t[2] / 1000000 end
local lease, worker, limit = tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local head, before, between, after = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local thread, token = ARGV[9], ARGV[10]

for i = 11, #ARGV do
  for _, key in ipairs({KEYS[1], KEYS[2], KEYS[3], KEYS[6]}) do redis.call('HDEL', key, ARGV[i]) end
  redis.call('ZREM', KEYS[4], ARGV[i])
end
redis.call('ZADD', KEYS[5], now, worker)

local takes = redis.call('HGET', KEYS[8], worker)
takes = takes and cjson.decode(takes) or {}
local last = takes[thread]
if last and last[1] == token then -- this very call, again: its runs, those still held at their attempt
  local claimed = {}
  for i = 2, #last, 2 do
    local id, attempt = last[i], last[i + 1]
    local record = redis.call('HGET', KEYS[1], id)
    if record and redis.call('HGET', KEYS[3], id) == worker and redis.call('HGET', KEYS[2], id) == tostring(attempt) then
      claimed[#claimed + 1] = id
      claimed[#claimed + 1] = attempt
      claimed[#claimed + 1] = record
    end
  end
  return {claimed, {}, redis.call('LLEN', KEYS[7]), 0}
end

local function little(m, at, width)
  local value = 0
  for k = width - 1, 0, -1 do value = value * 256 + string.byte(m, at + k) end
  return value
end

-- The id and attempt of a message in the template's shape; nil for any other message.
local function parse(m)
  local at = #head + 9 -- after the head and the frame's length
  if string.sub(m, 1, #head) ~= head or string.sub(m, at, at + #before - 1) ~= before then return nil end
  at = at + #before
  local op, size = string.byte(m, at), nil
  if op == 0x8c then size, at = string.byte(m, at + 1), at + 2         -- SHORT_BINUNICODE
  elseif op == 0x58 then size, at = little(m, at + 1, 4), at + 5       -- BINUNICODE
  else return nil end
  if not size or size == 0 then return nil end
  local id = string.sub(m, at, at + size - 1)
  at = at + size
  if #id ~= size or string.sub(m, at, at + #between - 1) ~= between then return nil end
  at = at + #between
  op = string.byte(m, at)
  local attempt
  if op == 0x4b then attempt, at = string.byte(m, at + 1), at + 2      -- BININT1
  elseif op == 0x4d then attempt, at = little(m, at + 1, 2), at + 3    -- BININT2
  else return nil end
  if not attempt or string.sub(m, at) ~= after then return nil end
  return id, attempt
end

local claimed, held, took, blocked = {}, {}, {token}, 0
for _ = 1, limit do
  local m = redis.call('RPOP', KEYS[7])
  if not m then break end
  local id, attempt = parse(m)
  if not id then redis.call('RPUSH', KEYS[7], m) blocked = 1 break end
  local record = redis.call('HGET', KEYS[1], id)
  if record and redis.call('HGET', KEYS[2], id) == tostring(attempt) then
    local holder = redis.call('HGET', KEYS[3], id)
    local beat = holder and redis.call('ZSCORE', KEYS[5], holder)
    if holder and beat and tonumber(beat) + lease > now then
      if holder == worker then held[#held + 1] = id end
    else
      redis.call('HSET', KEYS[3], id, worker)
      redis.call('ZREM', KEYS[4], id)
      claimed[#claimed + 1] = id
      claimed[#claimed + 1] = attempt
      claimed[#claimed + 1] = record
      took[#took + 1] = id
      took[#took + 1] = attempt
    end
  end
end
takes[thread] = took
redis.call('HSET', KEYS[8], worker, cjson.encode(takes))
return {claimed, held, redis.call('LLEN', KEYS[7]), blocked}
