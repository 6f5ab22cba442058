import type { Readable } from 'node:stream';
import type { Response } from 'express';

/**
 * Pipes `source` into the HTTP response at the pace the client reads (backpressure), so the
 * coordinator holds a few chunks of a file, not the file. Resolves when the response is complete
 * or the client has gone; in every case `source` ends up closed (a client gone mid-download must
 * not leave a file handle or an object-store connection open).
 *
 * A storage error rejects. Before the headers are out the caller can still answer with an error;
 * after them the connection is cut here, so the client sees fewer bytes than Content-Length
 * rather than a file that silently ends early.
 */
export function sendStream(source: Readable, response: Response): Promise<void> {
  if (response.destroyed || response.req.method === 'HEAD') {
    // The client left while the file was being opened (no 'close' is coming), or asked for the
    // headers only: nothing of the file is read.
    source.destroy();
    if (!response.destroyed) response.end();
    return Promise.resolve();
  }
  return new Promise((resolve, reject) => {
    let settled = false;
    source.on('error', (error) => {
      source.unpipe(response);
      if (response.headersSent) response.destroy();
      if (!settled) reject(error);
      settled = true;
    });
    response.once('close', () => {
      source.destroy();
      if (!settled) resolve();
      settled = true;
    });
    source.pipe(response);
  });
}
