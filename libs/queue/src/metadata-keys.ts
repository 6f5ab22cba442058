/**
 * Redis keys of the fleet's own records (files, batches, idempotency keys, cancellation marks),
 * all under the queue prefix so that one Redis server can hold several isolated fleets.
 */
export const metadataKeys = {
  file: (prefix: string, fileId: string) => `${prefix}:meta:file:${fileId}`,
  tenantFiles: (prefix: string, tenant: string) => `${prefix}:meta:tenant:${tenant}:files`,
  batch: (prefix: string, batchId: string) => `${prefix}:meta:batch:${batchId}`,
  batchPlan: (prefix: string, batchId: string) => `${prefix}:meta:batch:${batchId}:plan`,
  batchTokens: (prefix: string, batchId: string) => `${prefix}:meta:batch:${batchId}:tokens`,
  batchCancelled: (prefix: string, batchId: string) => `${prefix}:meta:batch:${batchId}:cancelled`,
  batchExpired: (prefix: string, batchId: string) => `${prefix}:meta:batch:${batchId}:expired`,
  tenantBatches: (prefix: string, tenant: string) => `${prefix}:meta:tenant:${tenant}:batches`,
  profile: (prefix: string, profileId: string) => `${prefix}:meta:profile:${profileId}`,
  profileIndex: (prefix: string) => `${prefix}:meta:profiles`,
  rateLimit: (prefix: string, tenant: string) => `${prefix}:meta:ratelimit:${tenant}`,
  idempotency: (prefix: string, tenant: string, scope: string, key: string) =>
    `${prefix}:meta:idempotency:${tenant}:${scope}:${key}`,
};
