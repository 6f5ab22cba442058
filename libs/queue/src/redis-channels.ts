/**
 * Plain Redis pub/sub channels for the data plane (token streams and cancellation). They carry the
 * queue prefix so that fleets sharing one Redis server never see each other's messages.
 */
export function streamChannel(prefix: string, jobId: string): string {
  return `${prefix}:stream:${jobId}`;
}

export function cancelChannel(prefix: string): string {
  return `${prefix}:cancel`;
}

/** A message on the cancel channel: running jobs whose id is listed, or which belong to the batch, stop. */
export interface CancelMessage {
  jobIds?: string[];
  batchId?: string;
}

/** A message on a stream channel. */
export type StreamMessage =
  { kind: 'token'; text: string } | { kind: 'done' } | { kind: 'error'; statusCode: number; message: string };
