import type { ProfileJobData } from './job-payloads';

/** A profile is identified by the model's fingerprint, the HeadKV method and the granularity. */
export interface ProfileIdentity {
  fingerprint: string;
  method: ProfileJobData['method'];
  granularity: ProfileJobData['granularity'];
}

/** Public id of a profile: fingerprint/method/granularity, as in the /v1/profiles routes. */
export function profileId(identity: ProfileIdentity): string {
  return `${identity.fingerprint}/${identity.method}/${identity.granularity}`;
}

/**
 * The one BullMQ job id of a profile's computation. Every worker that misses the profile adds a
 * job with this id; BullMQ keeps the first and ignores the rest, so the fleet computes it once.
 */
export function profileJobId(identity: ProfileIdentity): string {
  return `profile-${identity.fingerprint}-${identity.method}-${identity.granularity}`;
}
