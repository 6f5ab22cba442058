import 'reflect-metadata';
import type { INestApplicationContext, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { WorkerConfig } from './config/worker-config';
import { WorkerModule } from './worker.module';

/** Builds and starts a worker: engine, request consumer, heartbeats; SIGTERM drains it. */
export async function startWorker(
  config: WorkerConfig,
  options: {
    logger?: LoggerService | false;
    /** false when the caller owns signal handling (headkv serve stops its parts in order). */
    shutdownHooks?: boolean;
  } = {},
): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), {
    logger: options.logger,
    // Report start-up failures (no model, no addon) to the caller instead of exiting the process.
    abortOnError: false,
  });
  if (options.shutdownHooks !== false) app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  await app.init();
  return app;
}
