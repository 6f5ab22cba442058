import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { DelayedError, Worker, type Job } from 'bullmq';
import Redis from 'ioredis';
import { Engine, loadNativeAddon } from '@headkv/engine';
import {
  ContextProbeRunner,
  profileModel,
  profileModelOf,
  ProfilingInterrupted,
  type HeadProfile,
} from '@headkv/profiles';
import { PROFILES_QUEUE, ProfileStore, redisOptionsFromUrl, type ProfileJobData } from '@headkv/queue';
import { WORKER_CONFIG, type WorkerConfig } from '../config/worker-config';

/** Room in the probing context for the answer after the longest probe prompt. */
const ANSWER_ROOM_TOKENS = 256;
/** How long a job for another model waits before it is offered to the fleet again. */
const FOREIGN_MODEL_RETRY_MS = 1000;

/**
 * Computes head profiles (HEADKV.md section 2) for the PROFILES queue: probe trials on a native
 * context of its own (attention probes need a full-cache sequence), then the profile goes into
 * Redis for every worker. One job at a time; a job for another model is left to its workers.
 */
@Injectable()
export class ProfileComputer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('profile-computer');
  private readonly redis: Redis;
  private readonly store: ProfileStore;
  private worker: Worker<ProfileJobData, { profileTrials: number }> | null = null;
  private stopping = false;

  constructor(
    private readonly engine: Engine,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
  ) {
    this.redis = new Redis(redisOptionsFromUrl(config.redisUrl));
    this.store = new ProfileStore(this.redis, config.queuePrefix);
  }

  onApplicationBootstrap(): void {
    this.worker = new Worker<ProfileJobData, { profileTrials: number }>(
      PROFILES_QUEUE,
      (job, token) => this.process(job, token),
      {
        connection: redisOptionsFromUrl(this.config.redisUrl),
        prefix: this.config.queuePrefix,
        concurrency: 1,
        lockDuration: this.config.lockDurationMs,
        stalledInterval: this.config.stalledIntervalMs,
      },
    );
    this.worker.on('error', (error) => this.logger.error(`queue connection: ${error.message}`));
  }

  /** A profiling run can take long: it stops at the next probe step and its job goes back to the queue. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.worker?.close();
    this.redis.disconnect();
  }

  private async process(
    job: Job<ProfileJobData>,
    token: string | undefined,
  ): Promise<{ profileTrials: number }> {
    const { fingerprint, method, granularity, probe } = job.data;
    if (fingerprint !== this.engine.info.fingerprint) {
      await job.moveToDelayed(Date.now() + FOREIGN_MODEL_RETRY_MS, token);
      throw new DelayedError();
    }
    const existing = await this.store.get({ fingerprint, method, granularity });
    if (existing !== null) return { profileTrials: existing.trials ?? 0 };
    const tokenizer = this.engine.tokenizer;
    if (tokenizer === undefined)
      throw new Error(`${this.config.modelDir} has no tokenizer.json: probe prompts need one`);
    const maxLength = Math.min(probe.maxLength, this.engine.info.maxPositionEmbeddings - ANSWER_ROOM_TOKENS);
    this.logger.log(
      `profiling ${method}/${granularity}: ${probe.lengths} lengths x ${probe.depths} depths up to ${maxLength} tokens`,
    );
    const addon = loadNativeAddon();
    const model = await addon.loadModel(this.config.modelDir, { threads: this.config.threads });
    let profile: HeadProfile;
    try {
      const context = model.createContext({ maxSequences: 1, maxContext: maxLength + ANSWER_ROOM_TOKENS });
      try {
        const info = model.info();
        profile = await profileModel(
          new ContextProbeRunner(context, tokenizer, info.eosTokenIds, () => this.stopping),
          tokenizer,
          profileModelOf(info),
          {
            method,
            granularity,
            maxLength,
            seed: probe.seed,
            nLengths: probe.lengths,
            nDepths: probe.depths,
            countAllTrials: probe.countAllTrials,
            engineVersion: addon.version(),
            now: new Date(),
            onProgress: (done, total) => void job.updateProgress({ done, total }),
          },
        );
      } finally {
        context.dispose();
      }
    } catch (error) {
      if (!(error instanceof ProfilingInterrupted)) throw error;
      await job.moveToDelayed(Date.now(), token);
      throw new DelayedError();
    } finally {
      model.dispose();
    }
    await this.store.put(profile);
    this.logger.log(`profile ${method}/${granularity} stored (${profile.trials} trials counted)`);
    return { profileTrials: profile.trials ?? 0 };
  }
}
