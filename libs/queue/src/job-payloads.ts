import type { ChatCompletionRequest, ChatCompletion } from '@headkv/api';

/** W3C trace-context carrier copied from the HTTP request span into the job, read back by the worker. */
export type TraceCarrier = Record<string, string>;

/** Data of a job on the REQUESTS queue. */
export interface RequestJobData {
  tenant: string;
  /** Identifier returned to the client (chatcmpl-... / batch_req_...). */
  requestId: string;
  request: ChatCompletionRequest;
  /** Set for batch lines; absent for interactive requests. */
  batch?: { batchId: string; customId: string; line: number };
  /** Interactive streaming: tokens are published on the stream channel of this job. */
  stream: boolean;
  trace: TraceCarrier;
}

/** Return value of a completed REQUESTS job. */
export interface RequestJobResult {
  statusCode: 200;
  body: ChatCompletion;
  /** Time in the queue before a worker took it, and time the worker ran it (last attempt). */
  timing: { queuedMs: number; runMs: number };
}

/**
 * Failure reason written by a worker for a request the model server rejects (an HTTP-style error,
 * not an infrastructure failure): stored as the job's failedReason in JSON so that the batch
 * finalizer can turn it into an error-file line with the same status code and error object.
 */
export interface RequestRejection {
  statusCode: number;
  error: { message: string; type: string; param: string | null; code: string | null };
}

/**
 * Failure reason written by a worker for a server-side failure it can name (the engine ran out of
 * memory or failed, the request was quarantined): stored as the job's failedReason in JSON so that
 * the batch finalizer writes an error-file line with this code and message.
 */
export interface RequestFailure {
  code: string;
  message: string;
}

/** Data of a parent job on the BATCHES queue. */
export interface BatchJobData {
  tenant: string;
  batchId: string;
  trace: TraceCarrier;
}

/** Probe settings of a profiling job (HEADKV.md section 2). */
export interface ProfileProbeSettings {
  maxLength: number;
  lengths: number;
  depths: number;
  seed: number;
  /** Average every trial, not only those answered correctly (for models too small to answer). */
  countAllTrials: boolean;
}

/** Data of a job on the PROFILES queue. */
export interface ProfileJobData {
  fingerprint: string;
  method: 'headkv-r' | 'headkv-r2';
  granularity: 'kv-head' | 'query-head';
  probe: ProfileProbeSettings;
}
