import { Inject, Injectable } from '@nestjs/common';
import { cancelChannel, type CancelMessage } from '@headkv/queue';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator-config';
import { MetadataRedis } from '../redis/metadata-redis';

/** Tells every worker to stop running jobs (by job id or by batch). */
@Injectable()
export class CancelPublisher {
  constructor(
    private readonly redis: MetadataRedis,
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
  ) {}

  async publish(message: CancelMessage): Promise<void> {
    await this.redis.publish(cancelChannel(this.config.queuePrefix), JSON.stringify(message));
  }
}
