import { DEFAULT_QUEUE_PREFIX } from './queue-names';
import { DEFAULT_REDIS_URL } from './redis-connection';

/** Settings the coordinator and the workers must agree on, read from the same environment variables. */
export interface FleetSettings {
  /** REDIS_URL */
  redisUrl: string;
  /** HEADKV_QUEUE_PREFIX: BullMQ prefix and namespace of every Redis key of this fleet. */
  queuePrefix: string;
  /** HEADKV_HEARTBEAT_MS: how often workers announce themselves. */
  heartbeatIntervalMs: number;
  /**
   * HEADKV_LOCK_MS: BullMQ lock duration of a running job. A worker renews it at half this period
   * for as long as the generation runs; a killed worker's jobs go back to the queue after it lapses.
   */
  lockDurationMs: number;
  /** HEADKV_STALLED_CHECK_MS: how often workers look for jobs whose lock lapsed. */
  stalledIntervalMs: number;
  /** HEADKV_ATTEMPTS: attempts per request before its failure is final (an error-file line). */
  attempts: number;
  /** HEADKV_RETRY_BACKOFF_MS: first retry delay; doubles each attempt. */
  retryBackoffMs: number;
}

/** Reads a positive integer environment variable; a malformed value is an error naming the variable. */
export function envInteger(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 1): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`environment variable ${name}="${raw}" must be an integer >= ${min}`);
  }
  return value;
}

export function fleetSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): FleetSettings {
  const queuePrefix = env.HEADKV_QUEUE_PREFIX || DEFAULT_QUEUE_PREFIX;
  if (!/^[A-Za-z0-9_.-]+$/.test(queuePrefix)) {
    throw new Error(
      `environment variable HEADKV_QUEUE_PREFIX="${queuePrefix}" may hold only letters, digits, '_', '.', '-'`,
    );
  }
  return {
    redisUrl: env.REDIS_URL || DEFAULT_REDIS_URL,
    queuePrefix,
    heartbeatIntervalMs: envInteger(env, 'HEADKV_HEARTBEAT_MS', 5000),
    lockDurationMs: envInteger(env, 'HEADKV_LOCK_MS', 30000, 1000),
    stalledIntervalMs: envInteger(env, 'HEADKV_STALLED_CHECK_MS', 30000, 500),
    attempts: envInteger(env, 'HEADKV_ATTEMPTS', 3),
    retryBackoffMs: envInteger(env, 'HEADKV_RETRY_BACKOFF_MS', 1000, 0),
  };
}
