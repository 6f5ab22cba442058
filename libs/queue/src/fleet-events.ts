/** Event patterns of the @nestjs/microservices Redis transport between workers and coordinators. */
export const WORKER_HEARTBEAT_EVENT = 'headkv.worker.heartbeat';
export const WORKER_LEAVING_EVENT = 'headkv.worker.leaving';

/** What a worker announces about itself every heartbeat interval. */
export interface WorkerHeartbeat {
  workerId: string;
  /** Queue prefix the worker consumes; coordinators of other fleets on the same Redis ignore it. */
  queuePrefix: string;
  hostname: string;
  pid: number;
  device: { kind: string; name: string; memoryBytes: number };
  model: {
    id: string;
    fingerprint: string;
    maxContext: number;
    architecture: string;
    nLayers: number;
    nHeads: number;
    nKvHeads: number;
  };
  slots: { total: number; free: number };
  kvBytesHeld: number;
  /** What the held sequences would take with a full cache (the saving is the difference). */
  kvBytesFull: number;
  /** Tokens generated since the worker started; rates come from consecutive heartbeats. */
  tokensGenerated: number;
  runningJobs: number;
  startedAt: number;
  sentAt: number;
}

/** A worker that misses this many heartbeat intervals is dropped from the fleet view. */
export const HEARTBEAT_MISSES_BEFORE_DROP = 3;
