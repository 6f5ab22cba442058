// load-download-thread.ts: runs a real coordinator (HTTP API, Redis records, local storage) inside
// a worker thread, so that load-download-memory.test.ts can give it a heap limit of its own and
// measure the memory its own isolate holds while it serves a download: a coordinator that read a
// file whole before sending it holds the file's bytes there.
import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import { LocalDirectoryStorage } from '@headkv/storage';
import { coordinatorConfigFromEnv } from '../../apps/coordinator/src/config/coordinator-config';
import { startCoordinator } from '../../apps/coordinator/src/create-coordinator';
import { fastFleetEnv } from '../fleet/fleet-harness';

/** What the test passes to the thread. */
export interface DownloadThreadInput {
  redisUrl: string;
  prefix: string;
  storageDir: string;
  apiKeys: string[];
}

/** Test to thread: measure the memory now, or stop the coordinator. */
export type DownloadThreadRequest = 'measure' | 'stop';

/** Thread to test: the port once listening, a measurement, or that the coordinator stopped. */
export type DownloadThreadMessage =
  | { kind: 'listening'; port: number }
  | { kind: 'measured'; arrayBuffers: number; heapUsed: number }
  | { kind: 'stopped' };

// A measurement after full collections counts the buffers still referenced, not chunks already
// sent and waiting to be collected, so it does not depend on when V8 last collected. Two: V8 frees
// dead buffers' memory (and updates the count) on a background thread after a collection, and
// the next collection waits for that to finish.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

async function serveInThread({ redisUrl, prefix, storageDir, apiKeys }: DownloadThreadInput): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('load-download-thread.js must run as a worker thread');
  const config = coordinatorConfigFromEnv({
    ...fastFleetEnv(redisUrl, prefix),
    PORT: '0',
    HEADKV_API_KEYS: apiKeys.join(','),
  });
  const app = await startCoordinator(config, {
    storage: new LocalDirectoryStorage(storageDir),
    logger: false,
  });
  const send = (message: DownloadThreadMessage) => port.postMessage(message);
  port.on('message', (request: DownloadThreadRequest) => {
    if (request === 'measure') {
      collectGarbage();
      collectGarbage();
      const { arrayBuffers, heapUsed } = process.memoryUsage();
      send({ kind: 'measured', arrayBuffers, heapUsed });
    } else {
      void app.close().then(() => {
        send({ kind: 'stopped' });
        port.close();
      });
    }
  });
  send({ kind: 'listening', port: (app.getHttpServer().address() as AddressInfo).port });
}

void serveInThread(workerData as DownloadThreadInput);
