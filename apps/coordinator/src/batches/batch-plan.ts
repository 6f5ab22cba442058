import type { InvalidBatchLine } from '@headkv/api';

/** What the finalizer needs to know about every input line, stored beside the batch record. */
export interface BatchPlan {
  /** Lines that became child jobs, in file order. */
  queued: Array<{ line: number; customId: string; requestId: string }>;
  /** Lines that could not run; they go straight to the error file. */
  invalid: InvalidBatchLine[];
}

/** A batch record: the public object plus the owning tenant. */
export interface StoredBatch {
  tenant: string;
  batch: import('@headkv/api').BatchObject;
}
