/**
 * Deterministic child job ids let the batch finalizer map every child's value or failure back to
 * its input line without a lookup table, and make re-submission of a flow idempotent.
 */
export function batchLineJobId(batchId: string, line: number): string {
  return `${batchId}-line-${line}`;
}

export function batchParentJobId(batchId: string): string {
  return `${batchId}-finalize`;
}

/** The job that checks a batch's input lines and starts its flow (rerun after a coordinator crash). */
export function batchValidationJobId(batchId: string): string {
  return `${batchId}-validate`;
}

/** The delayed job that ends a batch still running when its completion window closes. */
export function batchExpiryJobId(batchId: string): string {
  return `${batchId}-expire`;
}

/** Parses the line number back out of a child job id; returns undefined for foreign ids. */
export function lineOfBatchJobId(batchId: string, jobId: string): number | undefined {
  const prefix = `${batchId}-line-`;
  if (!jobId.startsWith(prefix)) return undefined;
  const line = Number(jobId.slice(prefix.length));
  return Number.isInteger(line) ? line : undefined;
}
