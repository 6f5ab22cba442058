import { JsonLogger, startTracing } from '@headkv/telemetry';
import { workerConfigFromEnv } from './config/worker-config';
import { startWorker } from './create-worker';

startTracing('headkv-worker');
startWorker(workerConfigFromEnv(), { logger: new JsonLogger('worker') }).catch((error: Error) => {
  process.stderr.write(`worker failed to start: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
