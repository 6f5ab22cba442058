// serve.ts: `headkv serve`: the whole fleet on one machine (the embedded default): Redis (started
// from PATH when none answers), the coordinator on PORT (8080) and one worker with a model folder.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Command } from 'commander';
import type { INestApplicationContext } from '@nestjs/common';

import type { LocalRedisServer } from '../../../coordinator/src/embedded/local-redis-server';
import { CliError, cliAction } from '../cli-action';
import { parseNonNegativeInteger, parsePositiveInteger } from '../option-parsers';

interface ServeOptions {
  port?: number;
  host?: string;
  model?: string;
  maxSequences?: number;
  threads?: number;
}

// The bundled model: models/headkv-tiny (trained on the fidelity suite's tasks) at the root of the
// installed package.
function bundledModelDir(): string {
  for (let dir = __dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'models', 'headkv-tiny');
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(candidate)) return candidate;
  }
  throw new CliError('the bundled model models/headkv-tiny was not found: pass --model <dir>');
}

// Uses the Redis at REDIS_URL when it answers; starts redis-server for a local address that does not.
async function ensureRedis(redisUrl: string): Promise<LocalRedisServer | null> {
  const { redactRedisUrl, redisOptionsFromUrl } = await import('@headkv/queue');
  const { redisAnswers, startLocalRedisServer } =
    await import('../../../coordinator/src/embedded/local-redis-server');
  const { host, port } = redisOptionsFromUrl(redisUrl);
  if (await redisAnswers(host, port)) return null;
  if (!['127.0.0.1', 'localhost', '::1'].includes(host)) {
    throw new CliError(
      `no Redis answers at ${redactRedisUrl(redisUrl)}; start it or unset REDIS_URL to run a local one`,
    );
  }
  return startLocalRedisServer(port);
}

async function serve(options: ServeOptions): Promise<void> {
  // Loaded here, not at the top: every other headkv command starts without NestJS and the engine.
  const { coordinatorConfigFromEnv } = await import('../../../coordinator/src/config/coordinator-config');
  const { redactRedisUrl } = await import('@headkv/queue');
  const { startCoordinator } = await import('../../../coordinator/src/create-coordinator');
  const { workerConfigFromEnv } = await import('../../../worker/src/config/worker-config');
  const { startWorker } = await import('../../../worker/src/create-worker');
  const { JsonLogger, startTracing } = await import('@headkv/telemetry');
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (options.port !== undefined) env.PORT = String(options.port);
  if (options.host !== undefined) env.HOST = options.host;
  env.HEADKV_MODEL_DIR = path.resolve(options.model ?? env.HEADKV_MODEL_DIR ?? bundledModelDir());
  if (options.maxSequences !== undefined) env.HEADKV_MAX_SEQUENCES = String(options.maxSequences);
  if (options.threads !== undefined) env.HEADKV_THREADS = String(options.threads);
  const coordinatorConfig = coordinatorConfigFromEnv(env);
  const workerConfig = workerConfigFromEnv(env);
  if (!fs.existsSync(workerConfig.modelDir))
    throw new CliError(`${workerConfig.modelDir}: model folder does not exist`);

  startTracing('headkv-serve');
  const redis = await ensureRedis(coordinatorConfig.redisUrl);
  const logger = new JsonLogger('serve');
  if (redis !== null)
    logger.log(
      `started redis-server on port ${redis.port} (no Redis answered at ${redactRedisUrl(coordinatorConfig.redisUrl)})`,
      'serve',
    );
  const parts: { worker?: INestApplicationContext; coordinator?: { close(): Promise<void> } } = {};
  const stop = async () => {
    // Worker first (drains its jobs), then the API, then the Redis this command started.
    await parts.worker?.close();
    await parts.coordinator?.close();
    await redis?.stop();
  };
  try {
    parts.coordinator = await startCoordinator(coordinatorConfig, { logger, shutdownHooks: false });
    parts.worker = await startWorker(workerConfig, { logger });
  } catch (error) {
    await stop();
    throw error;
  }
  process.stderr.write(
    `headkv: serving ${workerConfig.modelId} at http://${coordinatorConfig.host}:${coordinatorConfig.port}/v1 (Ctrl-C to stop)\n`,
  );
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.stderr.write(`headkv: ${signal}: stopping (worker drains first)\n`);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      stop().then(resolve, (error: Error) => {
        process.stderr.write(`headkv: shutdown: ${error.message}\n`);
        resolve();
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      'run Redis (if none answers), the OpenAI-compatible coordinator and one worker on this machine',
    )
    .option('--port <n>', 'HTTP port (default: PORT or 8080)', parseNonNegativeInteger)
    .option('--host <address>', 'HTTP address to bind (default: HOST or 127.0.0.1)')
    .option('--model <dir>', 'model folder for the worker (default: the bundled models/headkv-tiny)')
    .option('--max-sequences <n>', 'sequences the worker batches together', parsePositiveInteger)
    .option('--threads <n>', 'CPU threads of the engine; 0 = all cores', parseNonNegativeInteger)
    .action(cliAction(serve));
}
