import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';
import { redisOptionsFromUrl, streamChannel, type StreamMessage } from '@headkv/queue';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator-config';

/** One Redis subscriber connection shared by every streaming request of this coordinator. */
@Injectable()
export class StreamSubscriber implements OnModuleDestroy {
  private readonly subscriber: Redis;
  private readonly handlers = new Map<string, (message: StreamMessage) => void>();

  constructor(@Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig) {
    this.subscriber = new Redis(redisOptionsFromUrl(config.redisUrl));
    this.subscriber.on('message', (channel: string, raw: string) => {
      this.handlers.get(channel)?.(JSON.parse(raw) as StreamMessage);
    });
  }

  /** Subscribes before the job is enqueued, so that no token can be published unheard. */
  async subscribe(jobId: string, handler: (message: StreamMessage) => void): Promise<() => Promise<void>> {
    const channel = streamChannel(this.config.queuePrefix, jobId);
    this.handlers.set(channel, handler);
    await this.subscriber.subscribe(channel);
    return async () => {
      this.handlers.delete(channel);
      await this.subscriber.unsubscribe(channel);
    };
  }

  async onModuleDestroy(): Promise<void> {
    this.subscriber.disconnect();
  }
}
