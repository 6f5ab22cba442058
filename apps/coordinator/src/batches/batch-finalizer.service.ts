import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Job } from 'bullmq';
import type { BatchOutputLine, BatchStatus } from '@headkv/api';
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
import { BatchRecordsService } from './batch-records.service';
import { FleetMetrics } from '../metrics/fleet-metrics.service';
import { errorLine, failureLine, outputLine } from './batch-result-lines';

/** Statuses after the final transition: the files are written and the batch closed. */
const ENDED: readonly BatchStatus[] = ['completed', 'failed', 'cancelled', 'expired'];

function jsonl(lines: BatchOutputLine[]): Buffer {
  return Buffer.from(lines.map((line) => JSON.stringify(line) + '\n').join(''), 'utf8');
}

/**
 * Runs the parent job of a batch flow once every child has completed, failed or been removed:
 * writes the output file and the error file so that each input line appears in exactly one of
 * them, exactly once, and closes the batch. A rerun (the coordinator died mid-finalization and the
 * job stalled) writes the same files under the same ids; once the batch has ended it does nothing.
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
    const plan = await this.records.loadPlan(batchId);
    if (stored === null || plan === null) throw new Error(`batch ${batchId} has no record or plan`);
    if (ENDED.includes(stored.batch.status)) return;
    const cancelling = stored.batch.status === 'cancelling';
    const expired =
      (await this.redis.exists(metadataKeys.batchExpired(this.config.queuePrefix, batchId))) === 1;
    if (!cancelling) {
      await this.records.transition(batchId, ['in_progress', 'finalizing'], (batch) => {
        batch.status = 'finalizing';
        batch.finalizing_at ??= unixSeconds();
      });
    }
    const values = await job.getChildrenValues<RequestJobResult>();
    const failures = await job.getIgnoredChildrenFailures();
    const childKey = (line: number) =>
      `${this.config.queuePrefix}:${REQUESTS_QUEUE}:${batchLineJobId(batchId, line)}`;

    const outputs: BatchOutputLine[] = [];
    const errors: BatchOutputLine[] = [];
    for (const invalid of plan.invalid) {
      errors.push(
        errorLine(`batch_req_invalid_${invalid.line}`, invalid.customId, invalid.code, invalid.message),
      );
    }
    for (const { line, customId, requestId } of plan.queued) {
      const key = childKey(line);
      if (key in values) {
        outputs.push(outputLine(requestId, customId, values[key]));
        this.metrics.recordResult('batch', values[key]);
      } else if (key in failures) {
        this.metrics.recordFailure('batch');
        errors.push(failureLine(requestId, customId, failures[key]));
      } else if (expired) {
        errors.push(
          errorLine(
            requestId,
            customId,
            'batch_expired',
            'The batch expired (its completion window closed) before this request ran',
          ),
        );
      } else if (cancelling) {
        errors.push(
          errorLine(
            requestId,
            customId,
            'batch_cancelled',
            'The batch was cancelled before this request ran',
          ),
        );
      } else {
        // Only a removed child gets here without a cancel; say so rather than drop the line.
        errors.push(
          errorLine(
            requestId,
            customId,
            'request_lost',
            `line ${line}: the request was removed from the queue`,
          ),
        );
      }
    }
    const hex = batchId.replace(/^batch_/, '');
    const outputFile =
      outputs.length > 0
        ? await this.files.save(
            tenant,
            `file-${hex}-output`,
            `${batchId}_output.jsonl`,
            'batch_output',
            jsonl(outputs),
          )
        : null;
    const errorFile =
      errors.length > 0
        ? await this.files.save(
            tenant,
            `file-${hex}-errors`,
            `${batchId}_error.jsonl`,
            'batch_output',
            jsonl(errors),
          )
        : null;
    await this.records.transition(batchId, ['finalizing', 'cancelling', 'in_progress'], (batch) => {
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
        completed: outputs.length,
        failed: errors.length,
      };
    });
    this.logger.log(`batch ${batchId}: ${outputs.length} outputs, ${errors.length} errors`);
  }
}
