import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { Worker, type Job } from 'bullmq';
import { BATCHES_QUEUE, redisOptionsFromUrl, type BatchJobData } from '@headkv/queue';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator-config';
import { BatchFinalizer } from './batch-finalizer.service';
import { BatchValidator } from './batch-validator.service';
import { BatchesService } from './batches.service';

/**
 * Coordinator deaths a batch job may outlive (a restart during validation or finalization is a
 * normal deploy, and both jobs are idempotent); past this BullMQ fails the job.
 */
const MAX_STALLED_COUNT = 10;

/**
 * Runs the BATCHES queue: `validate` (BatchValidator), `finalize` (BatchFinalizer) and `expire`
 * (BatchesService.expire). Its lock and stalled-check periods are the fleet's (HEADKV_LOCK_MS,
 * HEADKV_STALLED_CHECK_MS), so that the job of a coordinator that died is run again by another
 * coordinator, or by the same one restarted, within those periods.
 */
@Injectable()
export class BatchJobsWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('batch-jobs');
  private worker: Worker<BatchJobData> | null = null;

  constructor(
    private readonly validator: BatchValidator,
    private readonly finalizer: BatchFinalizer,
    private readonly batches: BatchesService,
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const resumed = await this.batches.resumeValidations();
    if (resumed > 0)
      this.logger.warn(`${resumed} batch(es) left validating without their job: validating again`);
    this.worker = new Worker<BatchJobData>(BATCHES_QUEUE, (job) => this.process(job), {
      connection: redisOptionsFromUrl(this.config.redisUrl),
      prefix: this.config.queuePrefix,
      concurrency: 2,
      lockDuration: this.config.lockDurationMs,
      stalledInterval: this.config.stalledIntervalMs,
      maxStalledCount: MAX_STALLED_COUNT,
    });
    this.worker.on('error', (error) => this.logger.error(`queue connection: ${error.message}`));
  }

  async onModuleDestroy(): Promise<void> {
    await this.worker?.close();
  }

  private async process(job: Job<BatchJobData>): Promise<void> {
    if (job.name === 'expire') return this.batches.expire(job.data.batchId);
    if (job.name === 'finalize') return this.finalizer.finalize(job);
    if (job.name !== 'validate') throw new Error(`unknown job '${job.name}' on ${BATCHES_QUEUE}`);
    try {
      await this.validator.validate(job.data);
    } catch (error) {
      // The last attempt ends the batch as failed rather than leaving it `validating`.
      if (job.attemptsMade + 1 < (job.opts.attempts ?? 1)) throw error;
      this.logger.error(`batch ${job.data.batchId} could not start: ${(error as Error).stack ?? error}`);
      await this.validator.fail(job.data.batchId, [
        { code: 'internal_error', message: (error as Error).message, param: null, line: null },
      ]);
    }
  }
}
