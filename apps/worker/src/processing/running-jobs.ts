/** Why a running generation was aborted. */
export type AbortReason = 'cancelled' | 'handed-back';

interface RunningJob {
  controller: AbortController;
  batchId: string | undefined;
  reason: AbortReason | null;
}

/** The generations this worker is running now, so that cancel messages and shutdown can stop them. */
export class RunningJobs {
  private readonly jobs = new Map<string, RunningJob>();

  start(jobId: string, batchId: string | undefined): RunningJob {
    const job: RunningJob = { controller: new AbortController(), batchId, reason: null };
    this.jobs.set(jobId, job);
    return job;
  }

  finish(jobId: string): void {
    this.jobs.delete(jobId);
  }

  get size(): number {
    return this.jobs.size;
  }

  /** Aborts the listed jobs and the jobs of the batch; returns how many were running here. */
  cancel(jobIds: readonly string[], batchId: string | undefined): number {
    let count = 0;
    for (const [jobId, job] of this.jobs) {
      if (jobIds.includes(jobId) || (batchId !== undefined && job.batchId === batchId)) {
        this.abort(job, 'cancelled');
        count++;
      }
    }
    return count;
  }

  /** Aborts everything so that the jobs go back to the queue (shutdown deadline). */
  handBackAll(): void {
    for (const job of this.jobs.values()) this.abort(job, 'handed-back');
  }

  private abort(job: RunningJob, reason: AbortReason): void {
    if (job.reason !== null) return;
    job.reason = reason;
    job.controller.abort(new Error(reason));
  }
}
