import 'reflect-metadata';
import type { INestApplicationContext, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { checkRedisConnection } from '@headkv/queue';
import type { WorkerConfig } from './config/worker-config';
import { WorkerModule } from './worker.module';

/**
 * Builds and starts a worker: engine, request consumer, profiling, heartbeats. The caller owns
 * the signals: `app.close()` drains it (see RequestWorker.beforeApplicationShutdown).
 */
export async function startWorker(
  config: WorkerConfig,
  options: { logger?: LoggerService | false } = {},
): Promise<INestApplicationContext> {
  // Wrong credentials, ACL permissions or TLS settings stop the start here, with a clear message.
  await checkRedisConnection(config.redisUrl, config.queuePrefix);
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), {
    logger: options.logger,
    // Report start-up failures (no model, no addon) to the caller instead of exiting the process.
    abortOnError: false,
  });
  await app.init();
  return app;
}
