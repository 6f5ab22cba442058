-- Jobs for the GPU workers, the metric that scales them. Run by redis_exporter (--script) on every
-- scrape as EVAL with no keys; it returns name/value pairs as strings, which the exporter publishes
-- as redis_script_values{key="<name>"}.
--
-- Workers consume two BullMQ queues: headkv-requests (one job per chat request or batch line) and
-- headkv-profiles (head-profile computations, which POST /v1/profiles can start with no worker
-- running). headkv-batches is the coordinator's and is not counted.
--
-- BullMQ 5 keeps a queue's jobs in one key per state, <prefix>:<queue>:<state>:
--   wait (list)        runnable jobs without a priority
--   paused (list)      runnable jobs while the queue is paused (BullMQ renames wait to paused)
--   prioritized (zset) runnable jobs with a priority: every HeadKV request has one, interactive 1
--                      and batch 10, so a scaler reading only the wait list would never start
--   delayed (zset)     retries in backoff; score = due time in ms * 0x1000 + a sequence number.
--                      Only a running worker moves due jobs on, so due ones count as waiting:
--                      otherwise a retry due after the last worker left would never run.
--   active (list)      jobs held by a worker, including those of a crashed worker until the
--                      stalled check of a live worker hands them back.
-- The prefix must match HEADKV_QUEUE_PREFIX.
local prefix = 'headkv'
local queues = { 'headkv-requests', 'headkv-profiles' }

local time = redis.call('TIME')
local nowMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local dueMaxScore = (nowMs + 1) * 0x1000 - 1

local waiting, active, delayedLater = 0, 0, 0
for _, name in ipairs(queues) do
  local queue = prefix .. ':' .. name
  local delayedDue = redis.call('ZCOUNT', queue .. ':delayed', 0, dueMaxScore)
  waiting = waiting
    + redis.call('LLEN', queue .. ':wait')
    + redis.call('LLEN', queue .. ':paused')
    + redis.call('ZCARD', queue .. ':prioritized')
    + delayedDue
  active = active + redis.call('LLEN', queue .. ':active')
  delayedLater = delayedLater + redis.call('ZCARD', queue .. ':delayed') - delayedDue
end

return {
  'headkv_worker_jobs_waiting', tostring(waiting),
  'headkv_worker_jobs_active', tostring(active),
  'headkv_worker_jobs_delayed', tostring(delayedLater),
  -- The scaling metric: work that needs a worker now, waiting or running. Counting running jobs
  -- keeps busy workers alive; a metric of waiting jobs alone reads zero while every job runs and
  -- would scale the pool to zero under them.
  'headkv_worker_jobs_outstanding', tostring(waiting + active),
}
