import { Inject, Injectable, Logger } from '@nestjs/common';
import { HEARTBEAT_MISSES_BEFORE_DROP, type WorkerHeartbeat } from '@headkv/queue';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator-config';

/** The workers this coordinator has heard from recently, built from their heartbeats. */
@Injectable()
export class FleetRegistry {
  private readonly logger = new Logger('fleet');
  private readonly workers = new Map<string, { heartbeat: WorkerHeartbeat; receivedAt: number }>();

  constructor(@Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig) {}

  record(heartbeat: WorkerHeartbeat): void {
    // Fleets sharing one Redis server see each other's heartbeats; only our own prefix counts.
    if (heartbeat.queuePrefix !== this.config.queuePrefix) return;
    if (!this.workers.has(heartbeat.workerId)) {
      this.logger.log(
        `worker ${heartbeat.workerId} joined (${heartbeat.model.id} on ${heartbeat.device.name})`,
      );
    }
    this.workers.set(heartbeat.workerId, { heartbeat, receivedAt: Date.now() });
  }

  remove(workerId: string, queuePrefix: string): void {
    if (queuePrefix !== this.config.queuePrefix) return;
    if (this.workers.delete(workerId)) this.logger.log(`worker ${workerId} left`);
  }

  /** Live workers; a worker silent for HEARTBEAT_MISSES_BEFORE_DROP intervals is dropped. */
  live(): WorkerHeartbeat[] {
    const cutoff = Date.now() - HEARTBEAT_MISSES_BEFORE_DROP * this.config.heartbeatIntervalMs;
    const result: WorkerHeartbeat[] = [];
    for (const [workerId, entry] of this.workers) {
      if (entry.receivedAt < cutoff) {
        this.workers.delete(workerId);
        this.logger.warn(
          `worker ${workerId} dropped: no heartbeat since ${new Date(entry.receivedAt).toISOString()}`,
        );
      } else {
        result.push(entry.heartbeat);
      }
    }
    return result;
  }

  /** Model ids served by live workers. */
  models(): Map<string, WorkerHeartbeat['model']> {
    const models = new Map<string, WorkerHeartbeat['model']>();
    for (const worker of this.live()) models.set(worker.model.id, worker.model);
    return models;
  }

  /**
   * Whether a request for `model` can be checked now: only when some worker is live, since with
   * an autoscaled fleet an empty registry just means the workers have not started yet.
   */
  isUnknownModel(model: string): boolean {
    const models = this.models();
    return models.size > 0 && !models.has(model);
  }
}
