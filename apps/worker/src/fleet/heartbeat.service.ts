import * as os from 'node:os';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { ClientProxy } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { Engine } from '@headkv/engine';
import { WORKER_HEARTBEAT_EVENT, WORKER_LEAVING_EVENT, type WorkerHeartbeat } from '@headkv/queue';
import { WORKER_CONFIG, type WorkerConfig } from '../config/worker-config';
import { deviceInfo } from '../engine/device-info';
import { RequestWorker } from '../processing/request-worker.service';

export const FLEET_CLIENT = 'HEADKV_FLEET_CLIENT';

/** Registration and heartbeats to the coordinators over the @nestjs/microservices Redis transport. */
@Injectable()
export class HeartbeatService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('heartbeat');
  private timer: NodeJS.Timeout | null = null;
  private readonly startedAt = Date.now();

  constructor(
    @Inject(FLEET_CLIENT) private readonly client: ClientProxy,
    private readonly engine: Engine,
    private readonly worker: RequestWorker,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
  ) {}

  heartbeat(): WorkerHeartbeat {
    const stats = this.engine.stats();
    return {
      workerId: this.config.workerId,
      queuePrefix: this.config.queuePrefix,
      hostname: os.hostname(),
      pid: process.pid,
      device: deviceInfo(),
      model: {
        id: this.config.modelId,
        fingerprint: this.engine.info.fingerprint,
        maxContext:
          this.config.maxContext > 0 ? this.config.maxContext : this.engine.info.maxPositionEmbeddings,
        architecture: this.engine.info.architecture,
        nLayers: this.engine.info.nLayers,
        nHeads: this.engine.info.nHeads,
        nKvHeads: this.engine.info.nKvHeads,
      },
      slots: { total: this.engine.maxSequences, free: this.engine.freeSlots },
      kvBytesHeld: stats.kvBytesHeld,
      kvBytesFull: stats.kvBytesFull,
      tokensGenerated: stats.tokensGenerated,
      runningJobs: this.worker.runningJobs,
      startedAt: this.startedAt,
      sentAt: Date.now(),
    };
  }

  private async send(): Promise<void> {
    try {
      await lastValueFrom(this.client.emit(WORKER_HEARTBEAT_EVENT, this.heartbeat()), {
        defaultValue: undefined,
      });
    } catch (error) {
      this.logger.warn(`heartbeat not sent: ${(error as Error).message}`);
    }
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.client.connect();
    await this.send();
    this.timer = setInterval(() => void this.send(), this.config.heartbeatIntervalMs);
  }

  /** Runs after the request worker drained, so that heartbeats continue while jobs finish. */
  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await lastValueFrom(
      this.client.emit(WORKER_LEAVING_EVENT, {
        workerId: this.config.workerId,
        queuePrefix: this.config.queuePrefix,
      }),
      { defaultValue: undefined },
    ).catch(() => undefined);
    await this.client.close();
  }
}
