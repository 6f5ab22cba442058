import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiError } from '@headkv/api';

/** The tenant every request belongs to: files and batches are visible only to their own tenant. */
export type Tenant = string;

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** A tenant id derived from the key's hash, so neither the key nor its full hash is ever stored or logged. */
function tenantOf(keyHash: Buffer): Tenant {
  return `tenant_${keyHash.subarray(0, 12).toString('hex')}`;
}

const LOCAL_ADDRESSES = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/** Tenant of requests without a key in the embedded localhost mode. */
export const LOCAL_TENANT: Tenant = 'tenant_local';

/**
 * Bearer API keys. Configured keys are kept only as SHA-256 hashes; a presented key is hashed and
 * compared against every stored hash in constant time, so timing reveals neither which key nor how
 * much of it matched. Without configured keys (the embedded default), any key is accepted from
 * localhost only, and each distinct key is its own tenant. Admin keys are API keys too (each its
 * own tenant); when any are configured, only their tenants may change fleet-wide state.
 */
export class ApiKeyRegistry {
  private readonly hashes: Buffer[] | null;
  /** Tenants of the admin keys; null: no admin keys configured, every tenant is trusted. */
  private readonly adminTenants: ReadonlySet<Tenant> | null;

  constructor(keys: string[] | null, adminKeys: string[] | null = null) {
    const distinct = new Set([...(keys ?? []), ...(adminKeys ?? [])]);
    this.hashes = keys === null ? null : [...distinct].map(sha256);
    this.adminTenants = adminKeys === null ? null : new Set(adminKeys.map((key) => tenantOf(sha256(key))));
  }

  get embeddedMode(): boolean {
    return this.hashes === null;
  }

  /** Whether admin keys are configured, i.e. fleet-wide writes are restricted to their tenants. */
  get adminKeysConfigured(): boolean {
    return this.adminTenants !== null;
  }

  /** Whether an authenticated tenant may compute, import or delete the fleet's head profiles. */
  mayWriteProfiles(tenant: Tenant): boolean {
    return this.adminTenants === null || this.adminTenants.has(tenant);
  }

  /** Returns the tenant of a request or throws a 401. */
  authenticate(authorization: string | undefined, remoteAddress: string | undefined): Tenant {
    const match = authorization === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (this.hashes === null) {
      if (!LOCAL_ADDRESSES.has(remoteAddress ?? '')) {
        throw ApiError.unauthorized(
          'This server has no API keys configured (HEADKV_API_KEYS) and accepts requests from localhost only',
        );
      }
      return match ? tenantOf(sha256(match[1])) : LOCAL_TENANT;
    }
    if (!match) {
      throw ApiError.unauthorized('Missing bearer API key: send "Authorization: Bearer <key>"');
    }
    const presented = sha256(match[1]);
    let found: Buffer | null = null;
    for (const hash of this.hashes) {
      if (timingSafeEqual(hash, presented)) found = hash;
    }
    if (found === null) throw ApiError.unauthorized('Incorrect API key provided');
    return tenantOf(found);
  }
}
