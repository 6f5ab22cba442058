import Redis from 'ioredis';
import type { OnModuleDestroy } from '@nestjs/common';
import { redisOptionsFromUrl } from '@headkv/queue';

/** The ioredis connection the coordinator keeps its own records with (files, batches, idempotency). */
export class MetadataRedis extends Redis implements OnModuleDestroy {
  constructor(redisUrl: string) {
    super(redisOptionsFromUrl(redisUrl));
  }

  onModuleDestroy(): void {
    this.disconnect();
  }
}
