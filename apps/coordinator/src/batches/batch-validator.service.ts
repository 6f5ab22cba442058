import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectFlowProducer, InjectQueue } from '@nestjs/bullmq';
import type { FlowProducer, Queue } from 'bullmq';
import {
  parseBatchLineBytes,
  splitJsonLineBuffers,
  type BatchObject,
  type BatchValidationError,
  type ValidBatchLine,
} from '@headkv/api';
import {
  BATCH_PRIORITY,
  BATCHES_QUEUE,
  REQUESTS_QUEUE,
  batchExpiryJobId,
  batchLineJobId,
  batchParentJobId,
  type BatchJobData,
  type RequestJobData,
} from '@headkv/queue';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator-config';
import { FileRecordsService } from '../files/file-records.service';
import { FleetRegistry } from '../fleet/fleet-registry.service';
import { newId, unixSeconds } from '../http/new-id';
import { BatchRecordsService, ENDED_STATUSES } from './batch-records.service';
import type { BatchPlan } from './batch-plan';

export const BATCH_FLOW_PRODUCER = 'headkv-batch-flow';

/**
 * The `validate` job of a batch: parses every input line, records the plan, moves the batch to
 * `in_progress` and enqueues its flow. It runs as a BullMQ job so that a coordinator that dies
 * while a batch is `validating` leaves a stalled job another (or the restarted) coordinator runs
 * again; every step is idempotent for that rerun: the plan is stored once (its request ids never
 * change), the status moves only from `validating`, and the flow is added only when absent.
 */
@Injectable()
export class BatchValidator {
  private readonly logger = new Logger('batch-validator');

  constructor(
    private readonly records: BatchRecordsService,
    private readonly files: FileRecordsService,
    private readonly registry: FleetRegistry,
    @InjectFlowProducer(BATCH_FLOW_PRODUCER) private readonly flows: FlowProducer,
    @InjectQueue(BATCHES_QUEUE) private readonly batchesQueue: Queue<BatchJobData>,
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
  ) {}

  /** Ends a batch that cannot run (bad file, or validation kept failing) with its errors. */
  async fail(batchId: string, errors: BatchValidationError[]): Promise<void> {
    await this.records.end(batchId, ['validating', 'cancelling'], (batch) => {
      batch.status = 'failed';
      batch.failed_at = unixSeconds();
      batch.errors = { object: 'list', data: errors };
    });
  }

  async validate({ tenant, batchId, trace }: BatchJobData): Promise<void> {
    const stored = await this.records.load(batchId);
    if (stored === null) throw new Error(`batch ${batchId} has no record`);
    // A rerun after the flow started (in_progress, or cancelled since) only makes sure the flow
    // and the expiry job exist; a batch that failed validation or already ended is left alone.
    if (!['validating', 'in_progress', 'cancelling'].includes(stored.batch.status)) return;
    const batch = stored.batch;
    const { data } = await this.files.content(tenant, batch.input_file_id);
    const lines = splitJsonLineBuffers(data);
    if (lines.length === 0) {
      return this.fail(batchId, [
        { code: 'empty_file', message: 'The input file has no requests', param: null, line: null },
      ]);
    }
    if (lines.length > this.config.maxBatchLines) {
      return this.fail(batchId, [
        {
          code: 'too_many_requests',
          message: `The input file has ${lines.length} requests; at most ${this.config.maxBatchLines} are allowed`,
          param: null,
          line: null,
        },
      ]);
    }
    const parsed = lines.map((raw) => parseBatchLineBytes(raw, batch.endpoint, this.config.maxBodyBytes));
    const duplicates = this.duplicateCustomIds(parsed);
    // custom_id must identify each result exactly once; a file that breaks that cannot run.
    if (duplicates.length > 0) return this.fail(batchId, duplicates);
    const plan = await this.records.savePlanOnce(batchId, this.planOf(parsed));
    const requests = new Map(
      parsed.filter((line): line is ValidBatchLine => line.ok).map((line) => [line.line, line.request]),
    );
    await this.records.transition(batchId, ['validating'], (record) => {
      record.status = 'in_progress';
      record.in_progress_at = unixSeconds();
      record.request_counts = { total: lines.length, completed: 0, failed: plan.invalid.length };
    });
    const current = await this.records.load(batchId);
    if (current === null || ENDED_STATUSES.includes(current.batch.status)) {
      // A rerun that loaded the batch before it ended: its files are written, nothing is left to
      // queue, and the plan savePlanOnce stored again is not needed.
      return this.records.deletePlan(batchId);
    }
    if ((await this.batchesQueue.getJob(batchParentJobId(batchId))) === undefined) {
      // Cancelled while validating: the flow still runs its finalizer so that every line gets its
      // error line.
      const queued = current.batch.status === 'in_progress' ? plan.queued : [];
      const children = queued.map((item) => {
        const request = requests.get(item.line);
        if (request === undefined)
          throw new Error(`batch ${batchId}: planned line ${item.line} is not a valid request`);
        return {
          name: 'chat',
          queueName: REQUESTS_QUEUE,
          data: {
            tenant,
            requestId: item.requestId,
            request,
            batch: { batchId, customId: item.customId, line: item.line },
            stream: false,
            trace,
          } satisfies RequestJobData,
          opts: {
            jobId: batchLineJobId(batchId, item.line),
            priority: BATCH_PRIORITY,
            attempts: this.config.attempts,
            backoff: { type: 'exponential', delay: this.config.retryBackoffMs },
            // A failed line must not block the batch: its failure is recorded on the parent and the
            // finalizer writes it to the error file.
            ignoreDependencyOnFailure: true,
            removeOnComplete: true,
            removeOnFail: { age: 24 * 3600 },
          },
        };
      });
      await this.flows.add({
        name: 'finalize',
        queueName: BATCHES_QUEUE,
        data: { tenant, batchId, trace } satisfies BatchJobData,
        opts: {
          jobId: batchParentJobId(batchId),
          attempts: this.config.attempts,
          backoff: { type: 'exponential', delay: this.config.retryBackoffMs },
          // Its results hash holds every completion of the batch; once the files are written it
          // would only grow Redis by one batch's results per batch (load-bounded-memory.test).
          removeOnComplete: true,
        },
        children,
      });
    }
    await this.scheduleExpiry(tenant, batch, trace);
    this.logger.log(
      `batch ${batchId}: ${plan.queued.length} requests queued, ${plan.invalid.length} invalid lines`,
    );
  }

  private duplicateCustomIds(parsed: ReturnType<typeof parseBatchLineBytes>[]): BatchValidationError[] {
    const seen = new Map<string, number>();
    const duplicates: BatchValidationError[] = [];
    for (const item of parsed) {
      if (item.customId === null) continue;
      const first = seen.get(item.customId);
      if (first === undefined) {
        seen.set(item.customId, item.line);
      } else {
        duplicates.push({
          code: 'duplicate_custom_id',
          message: `line ${item.line}: custom_id "${item.customId}" was already used on line ${first}`,
          param: 'custom_id',
          line: item.line,
        });
      }
    }
    return duplicates;
  }

  /** Which lines run and which go straight to the error file (the served models decide too). */
  private planOf(parsed: ReturnType<typeof parseBatchLineBytes>[]): BatchPlan {
    const plan: BatchPlan = { queued: [], invalid: [] };
    for (const item of parsed) {
      if (!item.ok) {
        plan.invalid.push(item);
      } else if (this.registry.isUnknownModel(item.request.model)) {
        plan.invalid.push({
          ok: false,
          line: item.line,
          customId: item.customId,
          code: 'model_not_found',
          message: `line ${item.line}: the model '${item.request.model}' is not served by any worker`,
        });
      } else {
        plan.queued.push({ line: item.line, customId: item.customId, requestId: newId('batch_req_') });
      }
    }
    return plan;
  }

  /** When the window closes on a batch still running, the expiry job ends it (BatchesService.expire). */
  private async scheduleExpiry(
    tenant: string,
    batch: BatchObject,
    trace: BatchJobData['trace'],
  ): Promise<void> {
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
  }
}
