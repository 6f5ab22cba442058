import { JsonLogger, startTracing } from '@headkv/telemetry';
import { workerConfigFromEnv } from './config/worker-config';
import { startWorker } from './create-worker';

async function main(): Promise<void> {
  startTracing('headkv-worker');
  const logger = new JsonLogger('worker');
  const app = await startWorker(workerConfigFromEnv(), { logger });
  // SIGTERM/SIGINT: drain, then exit 0, so that an orchestrator can tell a clean stop from a crash.
  const stop = (signal: NodeJS.Signals) => {
    logger.log(`${signal}: shutting down`, 'worker');
    app.close().then(
      () => process.exit(0),
      (error: Error) => {
        logger.error(`shutdown failed: ${error.stack ?? error.message}`, 'worker');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: Error) => {
  process.stderr.write(`worker failed to start: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
