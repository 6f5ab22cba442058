import 'reflect-metadata';
import type { INestApplicationContext, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { WorkerConfig } from './config/worker-config';
import { WorkerModule } from './worker.module';

/** Builds and starts a worker: engine, request consumer, heartbeats; SIGTERM drains it. */
export async function startWorker(
  config: WorkerConfig,
  logger?: LoggerService | false,
): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), { logger });
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  await app.init();
  return app;
}
