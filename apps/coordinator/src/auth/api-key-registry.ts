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
 * localhost only, and each distinct key is its own tenant.
 */
export class ApiKeyRegistry {
  private readonly hashes: Buffer[] | null;

  constructor(keys: string[] | null) {
    this.hashes = keys === null ? null : keys.map(sha256);
  }

  get embeddedMode(): boolean {
    return this.hashes === null;
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
