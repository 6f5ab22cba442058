import { envInteger } from '@headkv/queue';

/** A token bucket: `perSecond` tokens are added each second, up to `burst`; a request takes one. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

export interface RateLimitSettings {
  /** HEADKV_RATE_LIMIT_RPS and HEADKV_RATE_LIMIT_BURST; null (RPS 0 or unset) means no limit. */
  default: RateLimit | null;
  /** HEADKV_RATE_LIMIT_TENANTS: per-tenant buckets that replace the default for those tenants. */
  tenants: Record<string, RateLimit>;
}

const RATE = /^\d+(\.\d+)?$/;
const TENANT_ENTRY = /^(tenant_[A-Za-z0-9_]+)=(\d+(?:\.\d+)?):(\d+)$/;

function defaultBurst(perSecond: number): number {
  return Math.max(1, Math.ceil(2 * perSecond));
}

/**
 * Reads the rate-limit settings. Rates are requests per second and may be fractional (0.5 is one
 * request every two seconds); HEADKV_RATE_LIMIT_BURST defaults to twice the rate.
 * HEADKV_RATE_LIMIT_TENANTS is a comma-separated list of `tenant_<id>=<rps>:<burst>` (the tenant
 * ids the coordinator derives from each key's hash); rps 0 there exempts the tenant.
 */
export function rateLimitSettingsFromEnv(env: NodeJS.ProcessEnv): RateLimitSettings {
  const raw = env.HEADKV_RATE_LIMIT_RPS ?? '';
  if (raw !== '' && !RATE.test(raw)) {
    throw new Error(`environment variable HEADKV_RATE_LIMIT_RPS="${raw}" must be a number >= 0`);
  }
  const perSecond = raw === '' ? 0 : Number(raw);
  const burst = envInteger(env, 'HEADKV_RATE_LIMIT_BURST', defaultBurst(perSecond), 1);
  const tenants: Record<string, RateLimit> = {};
  for (const entry of (env.HEADKV_RATE_LIMIT_TENANTS ?? '').split(',')) {
    const trimmed = entry.trim();
    if (trimmed === '') continue;
    const match = TENANT_ENTRY.exec(trimmed);
    if (!match || Number(match[3]) < 1) {
      throw new Error(
        `environment variable HEADKV_RATE_LIMIT_TENANTS: entry "${trimmed}" must be tenant_<id>=<rps>:<burst> with burst >= 1`,
      );
    }
    tenants[match[1]] = { perSecond: Number(match[2]), burst: Number(match[3]) };
  }
  return { default: perSecond > 0 ? { perSecond, burst } : null, tenants };
}
