import { Inject, Injectable } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { ApiError } from '@headkv/api';
import {
  PROFILE_GRANULARITIES,
  PROFILE_METHODS,
  ProfileError,
  parseProfile,
  parseReferenceScores,
  profileFromReference,
  profileModelOf,
  type HeadProfile,
} from '@headkv/profiles';
import {
  PROFILES_QUEUE,
  ProfileStore,
  profileId,
  profileJobId,
  type ProfileIdentity,
  type ProfileJobData,
} from '@headkv/queue';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator-config';
import { FleetRegistry } from '../fleet/fleet-registry.service';
import { MetadataRedis } from '../redis/metadata-redis';

/** Default probe settings of a profiling job started through the API (HEADKV.md section 2). */
const DEFAULT_PROBE = { max_length: 4096, lengths: 5, depths: 10, seed: 0, count_all_trials: false };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A profile without its score matrix, for listings. */
function summaryOf(profile: HeadProfile) {
  return {
    id: profileId({
      fingerprint: profile.model.fingerprint,
      method: profile.method,
      granularity: profile.granularity,
    }),
    object: 'profile' as const,
    model: profile.model,
    method: profile.method,
    granularity: profile.granularity,
    trials: profile.trials ?? null,
    imported_from: profile.imported_from ?? null,
    engine_version: profile.engine_version,
    created_at: profile.created_at,
  };
}

function integerField(body: Record<string, unknown>, field: string, fallback: number, min: number): number {
  const value = body[field] ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw ApiError.invalidRequest(`'probe.${field}' must be an integer >= ${min}`, `probe.${field}`);
  }
  return value;
}

/** /v1/profiles: the fleet's head profiles in Redis and the profiling jobs that make them. */
@Injectable()
export class ProfilesService {
  private readonly store: ProfileStore;

  constructor(
    redis: MetadataRedis,
    private readonly registry: FleetRegistry,
    @InjectQueue(PROFILES_QUEUE) private readonly queue: Queue<ProfileJobData>,
    @Inject(COORDINATOR_CONFIG) config: CoordinatorConfig,
  ) {
    this.store = new ProfileStore(redis, config.queuePrefix);
  }

  identity(fingerprint: string, method: string, granularity: string): ProfileIdentity {
    if (!/^[0-9a-f]{64}$/.test(fingerprint)) {
      throw ApiError.invalidRequest('the model fingerprint must be 64 lowercase hex digits', 'fingerprint');
    }
    if (!PROFILE_METHODS.includes(method as ProfileIdentity['method'])) {
      throw ApiError.invalidRequest(`'method' must be one of ${PROFILE_METHODS.join(', ')}`, 'method');
    }
    if (!PROFILE_GRANULARITIES.includes(granularity as ProfileIdentity['granularity'])) {
      throw ApiError.invalidRequest(
        `'granularity' must be one of ${PROFILE_GRANULARITIES.join(', ')}`,
        'granularity',
      );
    }
    return {
      fingerprint,
      method: method as ProfileIdentity['method'],
      granularity: granularity as ProfileIdentity['granularity'],
    };
  }

  async list() {
    return { object: 'list', data: (await this.store.list()).map(summaryOf) };
  }

  async get(identity: ProfileIdentity): Promise<HeadProfile> {
    const profile = await this.store.get(identity);
    if (profile === null) throw ApiError.notFound(`No profile ${profileId(identity)}`, 'profile');
    return profile;
  }

  /** The fingerprint of a served model id, or the fingerprint itself. */
  private fingerprintOf(model: unknown): string {
    if (typeof model !== 'string' || model === '') {
      throw ApiError.invalidRequest(
        "'model' (a served model id or a model fingerprint) is required",
        'model',
      );
    }
    const served = this.registry.models().get(model);
    return served ? served.fingerprint : model;
  }

  /** Starts the one profiling job of a profile (or reports the profile or job that exists). */
  async compute(body: unknown) {
    if (!isRecord(body)) throw ApiError.invalidRequest('The request body must be a JSON object');
    const identity = this.identity(
      this.fingerprintOf(body.model),
      String(body.method),
      String(body.granularity ?? 'kv-head'),
    );
    const id = profileId(identity);
    if ((await this.store.get(identity)) !== null)
      return { id, object: 'profile.job', status: 'exists', job_id: null };
    const probeBody = isRecord(body.probe) ? body.probe : {};
    const job = await this.queue.add(
      'profile',
      {
        ...identity,
        probe: {
          maxLength: integerField(probeBody, 'max_length', DEFAULT_PROBE.max_length, 64),
          lengths: integerField(probeBody, 'lengths', DEFAULT_PROBE.lengths, 1),
          depths: integerField(probeBody, 'depths', DEFAULT_PROBE.depths, 1),
          seed: integerField(probeBody, 'seed', DEFAULT_PROBE.seed, 0),
          countAllTrials: probeBody.count_all_trials === true,
        },
      },
      { jobId: profileJobId(identity), removeOnFail: true },
    );
    return { id, object: 'profile.job', status: await job.getState(), job_id: job.id };
  }

  /** Imports a profile document, or reference-format scores ("layer-head": [trial scores]). */
  async import(identity: ProfileIdentity, body: unknown) {
    if (!isRecord(body))
      throw ApiError.invalidRequest('The request body must be a profile or reference-format scores');
    let profile: HeadProfile;
    try {
      if ('schema_version' in body) {
        profile = parseProfile(body, 'request body');
      } else {
        const worker = this.registry
          .live()
          .find((candidate) => candidate.model.fingerprint === identity.fingerprint);
        if (!worker) {
          throw ApiError.unprocessable(
            `Reference scores carry no model shape, and no live worker serves model ${identity.fingerprint}`,
            'fingerprint',
          );
        }
        profile = profileFromReference(parseReferenceScores(body, 'request body'), 'request body', {
          model: profileModelOf({ ...worker.model, fingerprint: identity.fingerprint }),
          method: identity.method,
          granularity: identity.granularity,
          engineVersion: 'imported',
          createdAt: new Date(),
        });
      }
    } catch (error) {
      if (error instanceof ProfileError)
        throw ApiError.unprocessable(error.message, 'body', 'invalid_profile');
      throw error;
    }
    const target = {
      fingerprint: profile.model.fingerprint,
      method: profile.method,
      granularity: profile.granularity,
    };
    if (profileId(target) !== profileId(identity)) {
      throw ApiError.unprocessable(
        `The profile is ${profileId(target)}, not ${profileId(identity)}`,
        'body',
        'profile_mismatch',
      );
    }
    await this.store.put(profile);
    return summaryOf(profile);
  }

  /** Removes a profile and its finished job, so that the next HeadKV request computes it anew. */
  async delete(identity: ProfileIdentity) {
    const removed = await this.store.delete(identity);
    if (!removed) throw ApiError.notFound(`No profile ${profileId(identity)}`, 'profile');
    const job = await this.queue.getJob(profileJobId(identity));
    if (job && (await job.isCompleted())) await job.remove();
    return { id: profileId(identity), object: 'profile', deleted: true };
  }
}
