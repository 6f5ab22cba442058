import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { DynamicModule, Provider } from '@nestjs/common';
import { Engine } from '@headkv/engine';
import { workerConfigFromEnv } from '../../apps/worker/src/config/worker-config';
import { WorkerModule } from '../../apps/worker/src/worker.module';
import { InstantEngine } from './queue-overhead-engine';

/**
 * Worker entry of tools/bench/queue-overhead: the production WorkerModule with its Engine
 * provider overridden by the instant engine (dependency injection, no flag in production code).
 */
function isEngineProvider(provider: Provider): boolean {
  return typeof provider === 'object' && 'provide' in provider && provider.provide === Engine;
}

async function main(): Promise<void> {
  const config = workerConfigFromEnv();
  const production = WorkerModule.forRoot(config);
  const module: DynamicModule = {
    ...production,
    providers: [
      ...(production.providers ?? []).filter((provider) => !isEngineProvider(provider)),
      { provide: Engine, useValue: new InstantEngine(config.maxSequences) },
    ],
  };
  const app = await NestFactory.createApplicationContext(module, { logger: ['error', 'warn'] });
  await app.init();
  process.once('SIGTERM', () => {
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

main().catch((error: Error) => {
  process.stderr.write(`benchmark worker failed to start: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
