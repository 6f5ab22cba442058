/** Queue names shared by the coordinator and the workers. */

/** Default BullMQ key prefix; tests and multi-tenant deployments override it (HEADKV_QUEUE_PREFIX). */
export const DEFAULT_QUEUE_PREFIX = 'headkv';

/** One child job per request: interactive chat completions and batch lines alike. */
export const REQUESTS_QUEUE = 'headkv-requests';

/** One parent job per batch: it runs once every child has finished and writes the output/error files. */
export const BATCHES_QUEUE = 'headkv-batches';

/** Head-profile computations; one job per profile key fleet-wide. */
export const PROFILES_QUEUE = 'headkv-profiles';
