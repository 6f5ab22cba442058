import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { metadataKeys } from '@headkv/queue';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator-config';
import { MetadataRedis } from '../redis/metadata-redis';
import type { RateLimit } from './rate-limit-settings';

/**
 * Token bucket in one Redis hash per tenant, refilled from Redis's own clock (TIME), so every
 * coordinator replica shares the same bucket and no replica's clock skew matters. Returns
 * {allowed, tokens left (floor), ms until one token is back (0 when allowed), ms until full}.
 */
const TOKEN_BUCKET_LUA = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ms')
local tokens = tonumber(state[1]) or burst
local last = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - last) * rate / 1000)
local allowed = 0
local retry = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ms', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, math.floor(tokens), retry, math.ceil((burst - tokens) * 1000 / rate)}
`;
const TOKEN_BUCKET_SHA = createHash('sha1').update(TOKEN_BUCKET_LUA).digest('hex');

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Milliseconds until the next request would be allowed (0 when this one was). */
  retryAfterMs: number;
  /** Milliseconds until the bucket is full again. */
  resetMs: number;
}

/** Per-tenant (so per-API-key) request rate limits shared by every coordinator through Redis. */
@Injectable()
export class RateLimiter {
  constructor(
    private readonly redis: MetadataRedis,
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
  ) {}

  /** The bucket of a tenant: its override, else the default; null when it is not limited. */
  limitOf(tenant: string): RateLimit | null {
    const limit = this.config.rateLimits.tenants[tenant] ?? this.config.rateLimits.default;
    return limit === null || limit.perSecond === 0 ? null : limit;
  }

  /** Takes one token of the tenant's bucket; null when the tenant has no limit. */
  async take(tenant: string): Promise<RateDecision | null> {
    const limit = this.limitOf(tenant);
    if (limit === null) return null;
    const key = metadataKeys.rateLimit(this.config.queuePrefix, tenant);
    const args = [key, String(limit.perSecond), String(limit.burst)];
    let reply: unknown;
    try {
      reply = await this.redis.evalsha(TOKEN_BUCKET_SHA, 1, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      reply = await this.redis.eval(TOKEN_BUCKET_LUA, 1, ...args);
    }
    const [allowed, remaining, retryAfterMs, resetMs] = reply as [number, number, number, number];
    return { allowed: allowed === 1, limit: limit.burst, remaining, retryAfterMs, resetMs };
  }
}
