-- Queue depth of HeadKV's per-request BullMQ queue, the metric that scales the GPU workers.
-- Run by redis_exporter (--script) on every scrape as EVAL with no keys; it returns name/value
-- pairs as strings, which the exporter publishes as redis_script_values{key="<name>"}.
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
-- The prefix and queue name must match HEADKV_QUEUE_PREFIX and the fleet's request queue.
local queue = 'headkv:headkv-requests'

local time = redis.call('TIME')
local nowMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local dueMaxScore = (nowMs + 1) * 0x1000 - 1

local wait = redis.call('LLEN', queue .. ':wait')
local paused = redis.call('LLEN', queue .. ':paused')
local prioritized = redis.call('ZCARD', queue .. ':prioritized')
local delayedDue = redis.call('ZCOUNT', queue .. ':delayed', 0, dueMaxScore)
local delayedTotal = redis.call('ZCARD', queue .. ':delayed')
local active = redis.call('LLEN', queue .. ':active')

local waiting = wait + paused + prioritized + delayedDue

return {
  'headkv_requests_waiting', tostring(waiting),
  'headkv_requests_active', tostring(active),
  'headkv_requests_delayed', tostring(delayedTotal - delayedDue),
  -- The scaling metric: work that needs a worker now, waiting or running. Counting running jobs
  -- keeps busy workers alive; a metric of waiting jobs alone reads zero while every job runs and
  -- would scale the pool to zero under them.
  'headkv_requests_outstanding', tostring(waiting + active),
}
