import { envInteger, fleetSettingsFromEnv, type FleetSettings } from '@headkv/queue';
import { rateLimitSettingsFromEnv, type RateLimitSettings } from '../auth/rate-limit-settings';

export const COORDINATOR_CONFIG = Symbol('COORDINATOR_CONFIG');

export interface CoordinatorConfig extends FleetSettings {
  /** HOST (default 127.0.0.1) and PORT (default 8080). */
  host: string;
  port: number;
  /** HEADKV_API_KEYS: comma-separated bearer keys; null means the embedded localhost-only mode. */
  apiKeys: string[] | null;
  /**
   * HEADKV_ADMIN_KEYS: comma-separated bearer keys that may also compute, import and delete the
   * fleet's head profiles; null means every API key may (needs HEADKV_API_KEYS when set).
   */
  adminKeys: string[] | null;
  /** HEADKV_MAX_BODY_BYTES: largest JSON request body. */
  maxBodyBytes: number;
  /** HEADKV_MAX_FILE_BYTES: largest uploaded file. */
  maxFileBytes: number;
  /** HEADKV_MAX_BATCH_LINES: most requests in one batch input file. */
  maxBatchLines: number;
  /** HEADKV_CHAT_TIMEOUT_MS: how long an interactive request may wait for a worker and run. */
  chatTimeoutMs: number;
  /**
   * HEADKV_BATCH_WINDOW_SECONDS: how long a batch may run before it expires (the "24h"
   * completion window; operators may shorten or lengthen it).
   */
  batchWindowSeconds: number;
  /** HEADKV_RATE_LIMIT_RPS, HEADKV_RATE_LIMIT_BURST, HEADKV_RATE_LIMIT_TENANTS: requests per API key. */
  rateLimits: RateLimitSettings;
}

/** A comma-separated list of keys; null when the variable is unset or lists none. */
function keyList(env: NodeJS.ProcessEnv, name: string): string[] | null {
  const keys = (env[name] ?? '')
    .split(',')
    .map((key) => key.trim())
    .filter((key) => key.length > 0);
  return keys.length > 0 ? keys : null;
}

export function coordinatorConfigFromEnv(env: NodeJS.ProcessEnv = process.env): CoordinatorConfig {
  const apiKeys = keyList(env, 'HEADKV_API_KEYS');
  const adminKeys = keyList(env, 'HEADKV_ADMIN_KEYS');
  // Without API keys the coordinator accepts any key from localhost, so an admin key would
  // protect nothing: refuse rather than let the operator believe profile writes are gated.
  if (adminKeys !== null && apiKeys === null) {
    throw new Error(
      'HEADKV_ADMIN_KEYS is set but HEADKV_API_KEYS is not: admin keys apply only when API keys are configured',
    );
  }
  return {
    ...fleetSettingsFromEnv(env),
    host: env.HOST || '127.0.0.1',
    port: envInteger(env, 'PORT', 8080, 0),
    apiKeys,
    adminKeys,
    maxBodyBytes: envInteger(env, 'HEADKV_MAX_BODY_BYTES', 4 * 1024 * 1024),
    maxFileBytes: envInteger(env, 'HEADKV_MAX_FILE_BYTES', 200 * 1024 * 1024),
    maxBatchLines: envInteger(env, 'HEADKV_MAX_BATCH_LINES', 50000),
    chatTimeoutMs: envInteger(env, 'HEADKV_CHAT_TIMEOUT_MS', 600000),
    batchWindowSeconds: envInteger(env, 'HEADKV_BATCH_WINDOW_SECONDS', 24 * 3600),
    rateLimits: rateLimitSettingsFromEnv(env),
  };
}
