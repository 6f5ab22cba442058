import type Redis from 'ioredis';
import { parseProfile, type HeadProfile } from '@headkv/profiles';
import { metadataKeys } from './metadata-keys';
import { profileId, type ProfileIdentity } from './profile-keys';

/** Head profiles in Redis, shared by every worker and coordinator of the fleet. */
export class ProfileStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async get(identity: ProfileIdentity): Promise<HeadProfile | null> {
    const raw = await this.redis.get(metadataKeys.profile(this.prefix, profileId(identity)));
    return raw === null ? null : parseProfile(JSON.parse(raw), `redis profile ${profileId(identity)}`);
  }

  async put(profile: HeadProfile): Promise<void> {
    const id = profileId({
      fingerprint: profile.model.fingerprint,
      method: profile.method,
      granularity: profile.granularity,
    });
    await this.redis
      .multi()
      .set(metadataKeys.profile(this.prefix, id), JSON.stringify(profile))
      .sadd(metadataKeys.profileIndex(this.prefix), id)
      .exec();
  }

  async delete(identity: ProfileIdentity): Promise<boolean> {
    const id = profileId(identity);
    const [[, removed]] = (await this.redis
      .multi()
      .del(metadataKeys.profile(this.prefix, id))
      .srem(metadataKeys.profileIndex(this.prefix), id)
      .exec()) as [[Error | null, number], [Error | null, number]];
    return removed === 1;
  }

  async list(): Promise<HeadProfile[]> {
    const ids = (await this.redis.smembers(metadataKeys.profileIndex(this.prefix))).sort();
    const profiles: HeadProfile[] = [];
    for (const id of ids) {
      const raw = await this.redis.get(metadataKeys.profile(this.prefix, id));
      if (raw !== null) profiles.push(parseProfile(JSON.parse(raw), `redis profile ${id}`));
    }
    return profiles;
  }
}
