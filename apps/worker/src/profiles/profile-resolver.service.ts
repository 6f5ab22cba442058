import * as fs from 'node:fs';
import * as path from 'node:path';
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Queue, QueueEvents } from 'bullmq';
import Redis from 'ioredis';
import { Engine } from '@headkv/engine';
import { headScoresOf, loadProfile, MODEL_PROFILE_FILE, type HeadProfile } from '@headkv/profiles';
import {
  PROFILES_QUEUE,
  ProfileStore,
  profileJobId,
  redisOptionsFromUrl,
  type ProfileIdentity,
  type ProfileJobData,
} from '@headkv/queue';
import { WORKER_CONFIG, type WorkerConfig } from '../config/worker-config';

/** What a headkv-r / headkv-r2 request runs with. */
export type ProfileResolution = { kind: 'profile'; headScores: Float32Array } | { kind: 'fallback' };

/**
 * Head scores for HeadKV requests: from a memory cache, else from Redis, else from the profile the
 * model folder ships (headkv_profile.json, when it is for this model, method and granularity; it is
 * then stored in Redis for the whole fleet, as an import would), else by starting the fleet's one
 * profiling job for this model (its job id is deterministic, so concurrent misses on
 * several workers still make one job) and then waiting or falling back, per configuration.
 */
@Injectable()
export class ProfileResolver implements OnModuleDestroy {
  private readonly logger = new Logger('profiles');
  private readonly redis: Redis;
  private readonly store: ProfileStore;
  private readonly queue: Queue<ProfileJobData>;
  private events: QueueEvents | null = null;
  private readonly cache = new Map<string, Float32Array>();

  constructor(
    private readonly engine: Engine,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
  ) {
    this.redis = new Redis(redisOptionsFromUrl(config.redisUrl));
    this.store = new ProfileStore(this.redis, config.queuePrefix);
    this.queue = new Queue<ProfileJobData>(PROFILES_QUEUE, {
      connection: redisOptionsFromUrl(config.redisUrl),
      prefix: config.queuePrefix,
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.events?.close();
    await this.queue.close();
    this.redis.disconnect();
  }

  async resolve(
    method: ProfileJobData['method'],
    granularity: ProfileJobData['granularity'],
  ): Promise<ProfileResolution> {
    const identity: ProfileIdentity = { fingerprint: this.engine.info.fingerprint, method, granularity };
    const known = (await this.lookup(identity)) ?? (await this.importShipped(identity));
    if (known !== null) return { kind: 'profile', headScores: known };
    const job = await this.queue.add(
      'profile',
      { ...identity, probe: this.config.profileProbe },
      // A failed computation is removed so that a later miss can start it again.
      { jobId: profileJobId(identity), removeOnFail: true },
    );
    if (this.config.profileMissing === 'fallback') return { kind: 'fallback' };
    this.logger.log(`waiting for profile ${method}/${granularity} (job ${job.id})`);
    this.events ??= new QueueEvents(PROFILES_QUEUE, {
      connection: redisOptionsFromUrl(this.config.redisUrl),
      prefix: this.config.queuePrefix,
    });
    await this.events.waitUntilReady();
    if (!(await job.isCompleted())) await job.waitUntilFinished(this.events);
    const computed = await this.lookup(identity);
    if (computed === null)
      throw new Error(`profiling job ${job.id} finished but no ${method}/${granularity} profile is stored`);
    return { kind: 'profile', headScores: computed };
  }

  // The model folder's own profile: what `headkv eval` and `headkv generate` use by default, so
  // the fleet answers as they do instead of profiling the model again.
  private async importShipped(identity: ProfileIdentity): Promise<Float32Array | null> {
    const file = path.join(this.config.modelDir, MODEL_PROFILE_FILE);
    if (!fs.existsSync(file)) return null;
    const profile: HeadProfile = loadProfile(file);
    if (
      profile.model.fingerprint !== identity.fingerprint ||
      profile.method !== identity.method ||
      profile.granularity !== identity.granularity
    )
      return null;
    await this.store.put(profile);
    this.logger.log(
      `imported ${file} (${identity.method}/${identity.granularity}) into the fleet's profiles`,
    );
    return this.lookup(identity);
  }

  private async lookup(identity: ProfileIdentity): Promise<Float32Array | null> {
    const cacheKey = `${identity.method}/${identity.granularity}`;
    const cached = this.cache.get(cacheKey);
    if (cached) return cached;
    const stored = await this.store.get(identity);
    if (stored === null) return null;
    const headScores = headScoresOf(stored);
    this.cache.set(cacheKey, headScores);
    return headScores;
  }
}
