import { Inject, Injectable } from '@nestjs/common';
import { ApiError, type BatchObject, type BatchStatus, type ListPage } from '@headkv/api';
import { metadataKeys } from '@headkv/queue';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator-config';
import { MetadataRedis } from '../redis/metadata-redis';
import { listPage } from '../http/list-page';
import type { BatchPlan, StoredBatch } from './batch-plan';

/** Statuses after the final transition: the files are written, the batch closed, its plan deleted. */
export const ENDED_STATUSES: readonly BatchStatus[] = ['completed', 'failed', 'cancelled', 'expired'];

/** Batch records in Redis, with status transitions that are atomic across coordinators. */
@Injectable()
export class BatchRecordsService {
  constructor(
    private readonly redis: MetadataRedis,
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
  ) {}

  private key(batchId: string): string {
    return metadataKeys.batch(this.config.queuePrefix, batchId);
  }

  async insert(tenant: string, batch: BatchObject): Promise<void> {
    await this.redis
      .multi()
      .set(this.key(batch.id), JSON.stringify({ tenant, batch } satisfies StoredBatch))
      .zadd(metadataKeys.tenantBatches(this.config.queuePrefix, tenant), batch.created_at * 1000, batch.id)
      .exec();
  }

  /** Ids of every batch record of this fleet (SCAN: for start-up recovery, never a request path). */
  async *allIds(): AsyncGenerator<string> {
    const base = metadataKeys.batch(this.config.queuePrefix, '');
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${base}*`, 'COUNT', 1000);
      cursor = next;
      // Skip the plan, token and mark keys stored beside each record.
      for (const key of keys) if (!key.slice(base.length).includes(':')) yield key.slice(base.length);
    } while (cursor !== '0');
  }

  async load(batchId: string): Promise<StoredBatch | null> {
    const raw = await this.redis.get(this.key(batchId));
    return raw === null ? null : (JSON.parse(raw) as StoredBatch);
  }

  /** A batch of another tenant is reported exactly like a missing one. */
  async get(tenant: string, batchId: string): Promise<BatchObject> {
    const stored = await this.load(batchId);
    if (stored === null || stored.tenant !== tenant)
      throw ApiError.notFound(`No such Batch object: ${batchId}`, 'batch_id');
    return stored.batch;
  }

  /**
   * Applies `change` if the batch's status is one of `from`; returns the updated batch, or null when
   * the status was something else. Optimistic (WATCH/MULTI), so concurrent transitions never interleave.
   */
  transition(
    batchId: string,
    from: readonly BatchStatus[],
    change: (batch: BatchObject) => void,
  ): Promise<BatchObject | null> {
    return this.transitionDeleting(batchId, from, change, []);
  }

  /**
   * The final transition (to completed, failed, cancelled or expired): like `transition`, and the
   * batch's plan is deleted in the same MULTI, so that an ended batch keeps no per-line state in
   * Redis and a batch whose plan is gone has always ended (the finalizer relies on that).
   */
  end(
    batchId: string,
    from: readonly BatchStatus[],
    change: (batch: BatchObject) => void,
  ): Promise<BatchObject | null> {
    return this.transitionDeleting(batchId, from, change, [
      metadataKeys.batchPlan(this.config.queuePrefix, batchId),
    ]);
  }

  private async transitionDeleting(
    batchId: string,
    from: readonly BatchStatus[],
    change: (batch: BatchObject) => void,
    deleted: string[],
  ): Promise<BatchObject | null> {
    const key = this.key(batchId);
    for (;;) {
      await this.redis.watch(key);
      const raw = await this.redis.get(key);
      if (raw === null) {
        await this.redis.unwatch();
        return null;
      }
      const stored = JSON.parse(raw) as StoredBatch;
      if (!from.includes(stored.batch.status)) {
        await this.redis.unwatch();
        return null;
      }
      change(stored.batch);
      const transaction = this.redis.multi().set(key, JSON.stringify(stored));
      if (deleted.length > 0) transaction.del(...deleted);
      const result = await transaction.exec();
      if (result !== null) return stored.batch;
    }
  }

  /**
   * Stores the plan unless one is stored already, and returns the stored one: a validation rerun
   * keeps the request ids of the first run, which the queued jobs and the results already carry.
   */
  async savePlanOnce(batchId: string, plan: BatchPlan): Promise<BatchPlan> {
    const key = metadataKeys.batchPlan(this.config.queuePrefix, batchId);
    const saved = await this.redis.set(key, JSON.stringify(plan), 'NX');
    if (saved === 'OK') return plan;
    const stored = await this.loadPlan(batchId);
    if (stored === null) throw new Error(`batch ${batchId}: plan vanished while it was being stored`);
    return stored;
  }

  /** Deletes a plan stored again by a validation rerun that ran late, after the batch had ended. */
  async deletePlan(batchId: string): Promise<void> {
    await this.redis.del(metadataKeys.batchPlan(this.config.queuePrefix, batchId));
  }

  async loadPlan(batchId: string): Promise<BatchPlan | null> {
    const raw = await this.redis.get(metadataKeys.batchPlan(this.config.queuePrefix, batchId));
    return raw === null ? null : (JSON.parse(raw) as BatchPlan);
  }

  async tokensGenerated(batchId: string): Promise<number> {
    return Number((await this.redis.get(metadataKeys.batchTokens(this.config.queuePrefix, batchId))) ?? 0);
  }

  list(
    tenant: string,
    options: { after?: string; limit: number },
    load: (id: string) => Promise<BatchObject | null>,
  ): Promise<ListPage<BatchObject>> {
    return listPage(
      this.redis,
      metadataKeys.tenantBatches(this.config.queuePrefix, tenant),
      { ...options, order: 'desc' },
      load,
    );
  }
}
