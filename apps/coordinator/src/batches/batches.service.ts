import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectFlowProducer, InjectQueue } from '@nestjs/bullmq';
import type { FlowProducer, Queue } from 'bullmq';
import {
  ApiError,
  BATCH_ENDPOINTS,
  COMPLETION_WINDOWS,
  parseBatchLineBytes,
  splitJsonLineBuffers,
  type BatchObject,
  type BatchValidationError,
  type ListPage,
  type ValidBatchLine,
} from '@headkv/api';
import {
  BATCH_PRIORITY,
  BATCHES_QUEUE,
  REQUESTS_QUEUE,
  batchLineJobId,
  batchExpiryJobId,
  batchParentJobId,
  metadataKeys,
  type BatchJobData,
  type RequestJobData,
  type TraceCarrier,
} from '@headkv/queue';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator-config';
import { FileRecordsService } from '../files/file-records.service';
import { FleetRegistry } from '../fleet/fleet-registry.service';
import { newId, unixSeconds } from '../http/new-id';
import { MetadataRedis } from '../redis/metadata-redis';
import { BatchRecordsService } from './batch-records.service';
import type { BatchPlan } from './batch-plan';
import { CancelPublisher } from './cancel-publisher.service';

export const BATCH_FLOW_PRODUCER = 'headkv-batch-flow';
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
    private readonly registry: FleetRegistry,
    private readonly cancels: CancelPublisher,
    private readonly redis: MetadataRedis,
    @InjectFlowProducer(BATCH_FLOW_PRODUCER) private readonly flows: FlowProducer,
    @InjectQueue(BATCHES_QUEUE) private readonly batchesQueue: Queue<BatchJobData>,
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
  ) {}

  /** Validates the create request and records the batch as `validating`; the lines are checked in the background. */
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
    this.start(tenant, batch, trace).catch((error: Error) => {
      this.logger.error(`batch ${batch.id} could not start: ${error.stack ?? error.message}`);
      return this.fail(batch.id, [
        { code: 'internal_error', message: error.message, param: null, line: null },
      ]);
    });
    return batch;
  }

  private async fail(batchId: string, errors: BatchValidationError[]): Promise<void> {
    await this.records.transition(batchId, ['validating', 'cancelling'], (batch) => {
      batch.status = 'failed';
      batch.failed_at = unixSeconds();
      batch.errors = { object: 'list', data: errors };
    });
  }

  /** Parses every line, records the plan and enqueues the flow. */
  private async start(tenant: string, batch: BatchObject, trace: TraceCarrier): Promise<void> {
    const { data } = await this.files.content(tenant, batch.input_file_id);
    const lines = splitJsonLineBuffers(data);
    if (lines.length === 0) {
      return this.fail(batch.id, [
        { code: 'empty_file', message: 'The input file has no requests', param: null, line: null },
      ]);
    }
    if (lines.length > this.config.maxBatchLines) {
      return this.fail(batch.id, [
        {
          code: 'too_many_requests',
          message: `The input file has ${lines.length} requests; at most ${this.config.maxBatchLines} are allowed`,
          param: null,
          line: null,
        },
      ]);
    }
    const plan: BatchPlan = { queued: [], invalid: [] };
    const valid: ValidBatchLine[] = [];
    const seen = new Map<string, number>();
    const duplicates: BatchValidationError[] = [];
    for (const raw of lines) {
      const line = raw.line;
      const parsed = parseBatchLineBytes(raw, batch.endpoint, this.config.maxBodyBytes);
      if (parsed.customId !== null) {
        const first = seen.get(parsed.customId);
        if (first !== undefined) {
          duplicates.push({
            code: 'duplicate_custom_id',
            message: `line ${line}: custom_id "${parsed.customId}" was already used on line ${first}`,
            param: 'custom_id',
            line,
          });
        } else {
          seen.set(parsed.customId, line);
        }
      }
      if (!parsed.ok) {
        plan.invalid.push(parsed);
      } else if (this.registry.isUnknownModel(parsed.request.model)) {
        plan.invalid.push({
          ok: false,
          line,
          customId: parsed.customId,
          code: 'model_not_found',
          message: `line ${line}: the model '${parsed.request.model}' is not served by any worker`,
        });
      } else {
        valid.push(parsed);
      }
    }
    // custom_id must identify each result exactly once; a file that breaks that cannot run.
    if (duplicates.length > 0) return this.fail(batch.id, duplicates);
    plan.queued = valid.map((item) => ({
      line: item.line,
      customId: item.customId,
      requestId: newId('batch_req_'),
    }));
    await this.records.savePlan(batch.id, plan);
    const started = await this.records.transition(batch.id, ['validating'], (record) => {
      record.status = 'in_progress';
      record.in_progress_at = unixSeconds();
      record.request_counts = { total: lines.length, completed: 0, failed: plan.invalid.length };
    });
    // Cancelled while validating: the flow still runs its finalizer so that every line gets its error line.
    const children = started === null ? [] : valid;
    await this.flows.add({
      name: 'finalize',
      queueName: BATCHES_QUEUE,
      data: { tenant, batchId: batch.id, trace } satisfies BatchJobData,
      opts: {
        jobId: batchParentJobId(batch.id),
        attempts: this.config.attempts,
        backoff: { type: 'exponential', delay: this.config.retryBackoffMs },
      },
      children: children.map((item, index) => ({
        name: 'chat',
        queueName: REQUESTS_QUEUE,
        data: {
          tenant,
          requestId: plan.queued[index].requestId,
          request: item.request,
          batch: { batchId: batch.id, customId: item.customId, line: item.line },
          stream: false,
          trace,
        } satisfies RequestJobData,
        opts: {
          jobId: batchLineJobId(batch.id, item.line),
          priority: BATCH_PRIORITY,
          attempts: this.config.attempts,
          backoff: { type: 'exponential', delay: this.config.retryBackoffMs },
          // A failed line must not block the batch: its failure is recorded on the parent and the
          // finalizer writes it to the error file.
          ignoreDependencyOnFailure: true,
          removeOnComplete: true,
          removeOnFail: { age: 24 * 3600 },
        },
      })),
    });
    // When the window closes on a batch still running, the expiry job ends it (see expire()).
    await this.batchesQueue.add(
      'expire',
      { tenant, batchId: batch.id, trace },
      {
        jobId: batchExpiryJobId(batch.id),
        delay: Math.max(0, ((batch.expires_at ?? 0) - unixSeconds()) * 1000),
        removeOnComplete: true,
        removeOnFail: true,
      },
    );
    this.logger.log(
      `batch ${batch.id}: ${valid.length} requests queued, ${plan.invalid.length} invalid lines`,
    );
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
