// load-finalize-thread.ts: runs one batch finalization (the coordinator's real BatchFinalizer,
// with its real Redis records, file records, local storage and metrics) inside a worker thread,
// so that load-finalize-memory.test.ts can give it a heap limit of its own (resourceLimits):
// a finalizer that held the batch's output in memory runs out of heap there.
import 'reflect-metadata';
import { parentPort, workerData } from 'node:worker_threads';
import { Job, Queue } from 'bullmq';
import {
  BATCHES_QUEUE,
  PROFILES_QUEUE,
  REQUESTS_QUEUE,
  batchParentJobId,
  redisOptionsFromUrl,
  type BatchJobData,
} from '@headkv/queue';
import { LocalDirectoryStorage } from '@headkv/storage';
import { BatchFinalizer } from '../../apps/coordinator/src/batches/batch-finalizer.service';
import { BatchRecordsService } from '../../apps/coordinator/src/batches/batch-records.service';
import { coordinatorConfigFromEnv } from '../../apps/coordinator/src/config/coordinator-config';
import { FileRecordsService } from '../../apps/coordinator/src/files/file-records.service';
import { FleetRegistry } from '../../apps/coordinator/src/fleet/fleet-registry.service';
import { FleetMetrics } from '../../apps/coordinator/src/metrics/fleet-metrics.service';
import { MetadataRedis } from '../../apps/coordinator/src/redis/metadata-redis';

/** What the test passes to the thread. */
export interface FinalizeThreadInput {
  redisUrl: string;
  prefix: string;
  storageDir: string;
  batchId: string;
}

async function finalizeInThread({
  redisUrl,
  prefix,
  storageDir,
  batchId,
}: FinalizeThreadInput): Promise<void> {
  const config = coordinatorConfigFromEnv({ REDIS_URL: redisUrl, HEADKV_QUEUE_PREFIX: prefix });
  const connection = { connection: redisOptionsFromUrl(redisUrl), prefix };
  const queues = [REQUESTS_QUEUE, BATCHES_QUEUE, PROFILES_QUEUE].map((name) => new Queue(name, connection));
  const redis = new MetadataRedis(redisUrl);
  try {
    const [requests, batches, profiles] = queues;
    const records = new BatchRecordsService(redis, config);
    const finalizer = new BatchFinalizer(
      records,
      new FileRecordsService(redis, new LocalDirectoryStorage(storageDir), config),
      new FleetMetrics(new FleetRegistry(config), requests, batches, profiles),
      redis,
      config,
    );
    const job = await Job.fromId<BatchJobData>(batches, batchParentJobId(batchId));
    if (job === undefined) throw new Error(`batch ${batchId} has no finalize job`);
    await finalizer.finalize(job);
    parentPort?.postMessage('finalized');
  } finally {
    redis.disconnect();
    for (const queue of queues) await queue.close();
  }
}

void finalizeInThread(workerData as FinalizeThreadInput);
