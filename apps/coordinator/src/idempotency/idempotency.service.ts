import { Inject, Injectable } from '@nestjs/common';
import { ApiError } from '@headkv/api';
import { metadataKeys } from '@headkv/queue';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator-config';
import { MetadataRedis } from '../redis/metadata-redis';

const PENDING = 'pending';
const KEY_TTL_SECONDS = 24 * 3600;
const MAX_KEY_LENGTH = 255;

/**
 * Idempotency-Key on creates: the first request with a key creates the object and records its id;
 * a repeat within 24 hours returns the same object instead of creating another one; a repeat that
 * arrives while the first is still running gets a 409.
 */
@Injectable()
export class IdempotencyService {
  constructor(
    private readonly redis: MetadataRedis,
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
  ) {}

  async run<T>(
    tenant: string,
    scope: string,
    key: string | undefined,
    create: () => Promise<{ id: string; value: T }>,
    load: (id: string) => Promise<T>,
  ): Promise<T> {
    if (key === undefined || key === '') return (await create()).value;
    if (key.length > MAX_KEY_LENGTH) {
      throw ApiError.invalidRequest(
        `Idempotency-Key must be at most ${MAX_KEY_LENGTH} characters`,
        'Idempotency-Key',
      );
    }
    const redisKey = metadataKeys.idempotency(this.config.queuePrefix, tenant, scope, key);
    const claimed = await this.redis.set(redisKey, PENDING, 'EX', KEY_TTL_SECONDS, 'NX');
    if (claimed === null) {
      const existing = await this.redis.get(redisKey);
      if (existing === PENDING || existing === null) {
        throw ApiError.conflict(
          'A request with this Idempotency-Key is still being processed',
          'idempotency_key_in_use',
        );
      }
      return load(existing);
    }
    try {
      const created = await create();
      await this.redis.set(redisKey, created.id, 'EX', KEY_TTL_SECONDS);
      return created.value;
    } catch (error) {
      await this.redis.del(redisKey);
      throw error;
    }
  }
}
