import { randomBytes } from 'node:crypto';

/** OpenAI-looking identifiers: file-..., batch_..., chatcmpl-... */
export function newId(prefix: 'file-' | 'batch_' | 'chatcmpl-' | 'batch_req_'): string {
  return `${prefix}${randomBytes(12).toString('hex')}`;
}

export function unixSeconds(ms: number = Date.now()): number {
  return Math.floor(ms / 1000);
}
