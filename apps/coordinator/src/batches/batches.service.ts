import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { ApiError, BATCH_ENDPOINTS, COMPLETION_WINDOWS, type BatchObject, type ListPage } from '@headkv/api';
import {
  BATCHES_QUEUE,
  batchParentJobId,
  batchValidationJobId,
  metadataKeys,
  type BatchJobData,
  type TraceCarrier,
} from '@headkv/queue';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator-config';
import { FileRecordsService } from '../files/file-records.service';
import { newId, unixSeconds } from '../http/new-id';
import { MetadataRedis } from '../redis/metadata-redis';
import { BatchRecordsService } from './batch-records.service';
import { CancelPublisher } from './cancel-publisher.service';

const MAX_METADATA_PAIRS = 16;
const CANCEL_MARK_TTL_SECONDS = 7 * 24 * 3600;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function validateMetadata(value: unknown): Record<string, string> | null {
  if (value === undefined || value === null) return null;
  if (!isRecord(value)) throw ApiError.invalidRequest("'metadata' must be an object of strings", 'metadata');
  const entries = Object.entries(value);
  if (entries.length > MAX_METADATA_PAIRS) {
    throw ApiError.invalidRequest(`'metadata' may hold at most ${MAX_METADATA_PAIRS} pairs`, 'metadata');
  }
  for (const [key, item] of entries) {
    if (key.length > 64 || typeof item !== 'string' || item.length > 512) {
      throw ApiError.invalidRequest(
        `'metadata.${key}' must be a string of at most 512 characters, with a key of at most 64`,
        `metadata.${key}`,
      );
    }
  }
  return value as Record<string, string>;
}

/** OpenAI Batches API: a batch is a BullMQ flow of one finalizer parent and one child per line. */
@Injectable()
export class BatchesService {
  private readonly logger = new Logger('batches');

  constructor(
    private readonly records: BatchRecordsService,
    private readonly files: FileRecordsService,
    private readonly cancels: CancelPublisher,
    private readonly redis: MetadataRedis,
    @InjectQueue(BATCHES_QUEUE) private readonly batchesQueue: Queue<BatchJobData>,
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
  ) {}

  /** Validates the create request and records the batch as `validating`; the lines are checked by a job. */
  async create(tenant: string, body: unknown, trace: TraceCarrier): Promise<BatchObject> {
    if (!isRecord(body)) throw ApiError.invalidRequest('The request body must be a JSON object');
    if (typeof body.input_file_id !== 'string' || body.input_file_id === '') {
      throw ApiError.invalidRequest(
        "'input_file_id' is required",
        'input_file_id',
        'missing_required_parameter',
      );
    }
    if (!BATCH_ENDPOINTS.includes(body.endpoint as (typeof BATCH_ENDPOINTS)[number])) {
      throw ApiError.invalidRequest(
        `'endpoint' must be one of ${BATCH_ENDPOINTS.join(', ')}, got ${JSON.stringify(body.endpoint)}`,
        'endpoint',
      );
    }
    if (!COMPLETION_WINDOWS.includes(body.completion_window as (typeof COMPLETION_WINDOWS)[number])) {
      throw ApiError.invalidRequest(
        `'completion_window' must be one of ${COMPLETION_WINDOWS.join(', ')}, got ${JSON.stringify(body.completion_window)}`,
        'completion_window',
      );
    }
    const metadata = validateMetadata(body.metadata);
    const inputFile = await this.files.get(tenant, body.input_file_id);
    if (inputFile.purpose !== 'batch') {
      throw ApiError.invalidRequest(
        `File ${inputFile.id} has purpose "${inputFile.purpose}", not "batch"`,
        'input_file_id',
      );
    }
    const now = unixSeconds();
    const batch: BatchObject = {
      id: newId('batch_'),
      object: 'batch',
      endpoint: body.endpoint as string,
      errors: null,
      input_file_id: inputFile.id,
      completion_window: body.completion_window as string,
      status: 'validating',
      output_file_id: null,
      error_file_id: null,
      created_at: now,
      in_progress_at: null,
      expires_at: now + this.config.batchWindowSeconds,
      finalizing_at: null,
      completed_at: null,
      failed_at: null,
      expired_at: null,
      cancelling_at: null,
      cancelled_at: null,
      request_counts: { total: 0, completed: 0, failed: 0 },
      metadata,
      completion_tokens_generated: 0,
    };
    await this.records.insert(tenant, batch);
    await this.enqueueValidation(tenant, batch.id, trace);
    return batch;
  }

  /**
   * The lines are checked by a job (BatchValidator), so that a coordinator crash mid-validation
   * leaves a stalled job for the next coordinator rather than a batch stuck in `validating`.
   * The job id is the batch's, so adding it again while it exists does nothing.
   */
  private async enqueueValidation(tenant: string, batchId: string, trace: TraceCarrier): Promise<void> {
    await this.batchesQueue.add(
      'validate',
      { tenant, batchId, trace },
      {
        jobId: batchValidationJobId(batchId),
        attempts: this.config.attempts,
        backoff: { type: 'exponential', delay: this.config.retryBackoffMs },
        removeOnComplete: true,
        removeOnFail: { age: 24 * 3600 },
      },
    );
  }

  /**
   * Start-up recovery: a coordinator that died between recording a batch and queueing its
   * validation left it `validating` with no job; queue the job again. Returns how many.
   */
  async resumeValidations(): Promise<number> {
    let resumed = 0;
    for await (const batchId of this.records.allIds()) {
      const stored = await this.records.load(batchId);
      if (stored?.batch.status !== 'validating') continue;
      if ((await this.batchesQueue.getJob(batchValidationJobId(batchId))) !== undefined) continue;
      await this.enqueueValidation(stored.tenant, batchId, {});
      resumed++;
    }
    return resumed;
  }

  /** The batch with live request counts and token progress while it runs. */
  async get(tenant: string, batchId: string): Promise<BatchObject> {
    return this.withProgress(await this.records.get(tenant, batchId));
  }

  private async withProgress(batch: BatchObject): Promise<BatchObject> {
    if (batch.status === 'in_progress' || batch.status === 'cancelling' || batch.status === 'finalizing') {
      const parent = await this.batchesQueue.getJob(batchParentJobId(batch.id));
      const plan = await this.records.loadPlan(batch.id);
      if (parent && plan) {
        const counts = await parent.getDependenciesCount({ processed: true, ignored: true });
        batch.request_counts = {
          total: batch.request_counts.total,
          completed: counts.processed ?? 0,
          failed: (counts.ignored ?? 0) + plan.invalid.length,
        };
      }
    }
    batch.completion_tokens_generated = await this.records.tokensGenerated(batch.id);
    return batch;
  }

  async list(tenant: string, options: { after?: string; limit: number }): Promise<ListPage<BatchObject>> {
    return this.records.list(tenant, options, async (id) => {
      const stored = await this.records.load(id);
      return stored !== null && stored.tenant === tenant ? this.withProgress(stored.batch) : null;
    });
  }

  /**
   * Expiry (the completion window closed): like a cancel, waiting lines are removed and running
   * ones stopped; the finalizer then ends the batch as `expired`, with a `batch_expired` error
   * line for every request that did not finish. A batch that already ended is left alone.
   */
  async expire(batchId: string): Promise<void> {
    const stored = await this.records.load(batchId);
    if (stored === null || !['validating', 'in_progress'].includes(stored.batch.status)) return;
    await this.redis.set(
      metadataKeys.batchExpired(this.config.queuePrefix, batchId),
      '1',
      'EX',
      CANCEL_MARK_TTL_SECONDS,
    );
    await this.stopLines(batchId);
    this.logger.log(`batch ${batchId}: completion window closed, expiring`);
  }

  /** Stops every line of a batch: marks it for the workers, stops running lines, removes waiting ones. */
  private async stopLines(batchId: string): Promise<void> {
    await this.redis.set(
      metadataKeys.batchCancelled(this.config.queuePrefix, batchId),
      '1',
      'EX',
      CANCEL_MARK_TTL_SECONDS,
    );
    await this.cancels.publish({ batchId });
    const parent = await this.batchesQueue.getJob(batchParentJobId(batchId));
    if (parent) await parent.removeUnprocessedChildren();
  }

  /**
   * Cancel: waiting lines are removed from the queue, running ones are stopped in the workers, and
   * the finalizer then writes what finished plus a `batch_cancelled` error line for the rest.
   */
  async cancel(tenant: string, batchId: string): Promise<BatchObject> {
    const current = await this.records.get(tenant, batchId);
    const cancelled = await this.records.transition(batchId, ['validating', 'in_progress'], (batch) => {
      batch.status = 'cancelling';
      batch.cancelling_at = unixSeconds();
    });
    if (cancelled === null) {
      if (current.status === 'cancelling' || current.status === 'cancelled') return this.get(tenant, batchId);
      throw ApiError.conflict(
        `Cannot cancel a batch with status '${current.status}'`,
        'batch_not_cancellable',
      );
    }
    await this.stopLines(batchId);
    return this.get(tenant, batchId);
  }
}
