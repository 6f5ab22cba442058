import { redisOptionsFromUrl, type FleetRedisOptions } from './redis-connection';

/**
 * Options of the fleet's Nest Redis transport (worker heartbeats and events to the coordinator).
 * Nest's Redis transport gives up for good after the first disconnect unless `retryAttempts` is
 * set, so a Redis restart silenced every worker in the fleet view: it must reconnect like the
 * queues' own connections do, for as long as the process lives.
 */
export function fleetTransportOptions(
  url: string,
  env: NodeJS.ProcessEnv = process.env,
): FleetRedisOptions & { retryAttempts: number; retryDelay: number } {
  return { ...redisOptionsFromUrl(url, env), retryAttempts: Number.MAX_SAFE_INTEGER, retryDelay: 1000 };
}
