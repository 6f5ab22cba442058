import Redis from 'ioredis';
import { Logger, type OnModuleDestroy } from '@nestjs/common';
import { redisOptionsFromUrl } from '@headkv/queue';

/** The ioredis connection the coordinator keeps its own records with (files, batches, idempotency). */
export class MetadataRedis extends Redis implements OnModuleDestroy {
  private readonly logger = new Logger(MetadataRedis.name);

  constructor(redisUrl: string) {
    super(redisOptionsFromUrl(redisUrl));
    // ioredis reconnects by itself; without a listener each failed attempt is printed as an
    // "Unhandled error event" outside the JSON logs.
    this.on('error', (error: Error) => this.logger.error(`metadata connection: ${error.message}`));
  }

  onModuleDestroy(): void {
    this.disconnect();
  }
}
