import { JsonLogger, startTracing } from '@headkv/telemetry';
import { coordinatorConfigFromEnv } from './config/coordinator-config';
import { startCoordinator } from './create-coordinator';

startTracing('headkv-coordinator');
startCoordinator(coordinatorConfigFromEnv(), { logger: new JsonLogger('coordinator') }).catch(
  (error: Error) => {
    process.stderr.write(`coordinator failed to start: ${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);
