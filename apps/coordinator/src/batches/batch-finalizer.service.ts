import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Job } from 'bullmq';
import type { BatchOutputLine } from '@headkv/api';
import {
  REQUESTS_QUEUE,
  batchLineJobId,
  metadataKeys,
  type BatchJobData,
  type RequestJobResult,
} from '@headkv/queue';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator-config';
import { FileRecordsService } from '../files/file-records.service';
import { unixSeconds } from '../http/new-id';
import { MetadataRedis } from '../redis/metadata-redis';
import { BatchRecordsService, ENDED_STATUSES } from './batch-records.service';
import type { BatchPlan } from './batch-plan';
import { FleetMetrics } from '../metrics/fleet-metrics.service';
import { errorLine, failureLine, outputLine } from './batch-result-lines';

/**
 * Plan lines whose results are read from Redis (one HMGET of each results hash) and written to
 * storage per step: what finalization holds in memory is this many results, whatever the size of
 * the batch.
 */
const FINALIZE_LINES_PER_STEP = 500;

function jsonl(lines: BatchOutputLine[]): Buffer {
  return Buffer.from(lines.map((line) => JSON.stringify(line) + '\n').join(''), 'utf8');
}

/** Why a queued line has neither a result nor a failure. */
type Unanswered = 'expired' | 'cancelled' | 'lost';

/**
 * Runs the parent job of a batch flow once every child has completed, failed or been removed:
 * writes the output file and the error file so that each input line appears in exactly one of
 * them, exactly once, in input order, and closes the batch. Both files are streamed to storage
 * FINALIZE_LINES_PER_STEP lines at a time, read from the parent's results hashes in plan order,
 * so memory does not grow with the batch. A rerun (the coordinator died mid-finalization and the
 * job stalled) writes the same files under the same ids (storage replaces a file whole, never
 * leaving a partial one); once the batch has ended (and its plan is deleted) it does nothing.
 */
@Injectable()
export class BatchFinalizer {
  private readonly logger = new Logger('batch-finalizer');

  constructor(
    private readonly records: BatchRecordsService,
    private readonly files: FileRecordsService,
    private readonly metrics: FleetMetrics,
    private readonly redis: MetadataRedis,
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
  ) {}

  async finalize(job: Job<BatchJobData>): Promise<void> {
    const { batchId, tenant } = job.data;
    const stored = await this.records.load(batchId);
    if (stored === null) throw new Error(`batch ${batchId} has no record`);
    // Checked before the plan: the final transition deletes the plan of the batch it ends.
    if (ENDED_STATUSES.includes(stored.batch.status)) return;
    const plan = await this.records.loadPlan(batchId);
    if (plan === null) throw new Error(`batch ${batchId} has not ended and has no plan`);
    const cancelling = stored.batch.status === 'cancelling';
    const expired =
      (await this.redis.exists(metadataKeys.batchExpired(this.config.queuePrefix, batchId))) === 1;
    if (!cancelling) {
      await this.records.transition(batchId, ['in_progress', 'finalizing'], (batch) => {
        batch.status = 'finalizing';
        batch.finalizing_at ??= unixSeconds();
      });
    }
    const unanswered: Unanswered = expired ? 'expired' : cancelling ? 'cancelled' : 'lost';
    const results = `${job.queueQualifiedName}:${job.id}:processed`;
    const failures = `${job.queueQualifiedName}:${job.id}:failed`;
    const hex = batchId.replace(/^batch_/, '');

    // Every key of the results hash is a child of this batch: it says whether any line completed
    // before the output file is started (a batch without outputs has no output file).
    const anyCompleted = (await this.redis.hlen(results)) > 0;
    const counts = { completed: 0, failed: 0 };
    const outputFile = anyCompleted
      ? await this.files.saveStream(
          tenant,
          `file-${hex}-output`,
          `${batchId}_output.jsonl`,
          'batch_output',
          this.outputChunks(batchId, plan, results, counts),
        )
      : null;
    const errorFile =
      plan.invalid.length + plan.queued.length > counts.completed
        ? await this.files.saveStream(
            tenant,
            `file-${hex}-errors`,
            `${batchId}_error.jsonl`,
            'batch_output',
            this.errorChunks(batchId, plan, { results, failures }, unanswered, counts),
          )
        : null;
    await this.records.end(batchId, ['finalizing', 'cancelling', 'in_progress'], (batch) => {
      const now = unixSeconds();
      if (batch.status === 'cancelling') {
        batch.status = 'cancelled';
        batch.cancelled_at = now;
      } else if (expired) {
        batch.status = 'expired';
        batch.expired_at = now;
      } else {
        batch.status = 'completed';
        batch.completed_at = now;
      }
      batch.output_file_id = outputFile?.id ?? null;
      batch.error_file_id = errorFile?.id ?? null;
      batch.request_counts = {
        total: plan.queued.length + plan.invalid.length,
        completed: counts.completed,
        failed: counts.failed,
      };
    });
    this.logger.log(`batch ${batchId}: ${counts.completed} outputs, ${counts.failed} errors`);
  }

  private childKey(batchId: string, line: number): string {
    return `${this.config.queuePrefix}:${REQUESTS_QUEUE}:${batchLineJobId(batchId, line)}`;
  }

  /** The plan's queued lines, FINALIZE_LINES_PER_STEP at a time. */
  private *steps(plan: BatchPlan): Generator<BatchPlan['queued']> {
    for (let start = 0; start < plan.queued.length; start += FINALIZE_LINES_PER_STEP) {
      yield plan.queued.slice(start, start + FINALIZE_LINES_PER_STEP);
    }
  }

  /** Output lines of the completed children, in plan order; counts them in `counts.completed`. */
  private async *outputChunks(
    batchId: string,
    plan: BatchPlan,
    results: string,
    counts: { completed: number },
  ): AsyncGenerator<Buffer> {
    for (const step of this.steps(plan)) {
      const values = await this.redis.hmget(results, ...step.map(({ line }) => this.childKey(batchId, line)));
      const lines: BatchOutputLine[] = [];
      step.forEach(({ customId, requestId }, index) => {
        const raw = values[index];
        if (raw === null) return;
        const result = JSON.parse(raw) as RequestJobResult;
        this.metrics.recordResult('batch', result);
        lines.push(outputLine(requestId, customId, result));
      });
      counts.completed += lines.length;
      if (lines.length > 0) yield jsonl(lines);
    }
  }

  /**
   * Error lines: the invalid lines first, then, in plan order, every queued line without a result:
   * its failure when it has one, otherwise why it never ran. Counts them in `counts.failed`.
   */
  private async *errorChunks(
    batchId: string,
    plan: BatchPlan,
    hashes: { results: string; failures: string },
    unanswered: Unanswered,
    counts: { failed: number },
  ): AsyncGenerator<Buffer> {
    if (plan.invalid.length > 0) {
      counts.failed += plan.invalid.length;
      yield jsonl(
        plan.invalid.map((invalid) =>
          errorLine(`batch_req_invalid_${invalid.line}`, invalid.customId, invalid.code, invalid.message),
        ),
      );
    }
    for (const step of this.steps(plan)) {
      const keys = step.map(({ line }) => this.childKey(batchId, line));
      const pipeline = this.redis.pipeline();
      for (const key of keys) pipeline.hexists(hashes.results, key);
      const answered = (await pipeline.exec()) ?? [];
      const reasons = await this.redis.hmget(hashes.failures, ...keys);
      const lines: BatchOutputLine[] = [];
      step.forEach(({ line, customId, requestId }, index) => {
        const [error, exists] = answered[index] ?? [new Error('no reply'), null];
        if (error) throw error;
        if (exists === 1) return;
        const reason = reasons[index];
        if (reason !== null) {
          this.metrics.recordFailure('batch');
          lines.push(failureLine(requestId, customId, reason));
        } else {
          lines.push(unansweredLine(requestId, customId, line, unanswered));
        }
      });
      counts.failed += lines.length;
      if (lines.length > 0) yield jsonl(lines);
    }
  }
}

/** The error line of a queued line that has neither a result nor a failure. */
function unansweredLine(requestId: string, customId: string, line: number, why: Unanswered): BatchOutputLine {
  if (why === 'expired') {
    return errorLine(
      requestId,
      customId,
      'batch_expired',
      'The batch expired (its completion window closed) before this request ran',
    );
  }
  if (why === 'cancelled') {
    return errorLine(
      requestId,
      customId,
      'batch_cancelled',
      'The batch was cancelled before this request ran',
    );
  }
  // Only a removed child gets here without a cancel; say so rather than drop the line.
  return errorLine(
    requestId,
    customId,
    'request_lost',
    `line ${line}: the request was removed from the queue`,
  );
}
