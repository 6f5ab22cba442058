// dashboard-coordinator.ts: a coordinator started like startCoordinator (apps/coordinator), with
// DashboardModule added to the coordinator module's imports (the registration the coordinator
// module itself is to carry), for the dashboard's tests.
import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { NestFactory } from '@nestjs/core';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { redisOptionsFromUrl } from '@headkv/queue';
import { LocalDirectoryStorage } from '@headkv/storage';
import { coordinatorConfigFromEnv } from '../../apps/coordinator/src/config/coordinator-config';
import { CoordinatorModule } from '../../apps/coordinator/src/coordinator.module';
import { DashboardModule } from '../../apps/coordinator/src/dashboard/dashboard.module';
import { ApiErrorFilter } from '../../apps/coordinator/src/http/api-error.filter';
import { jsonBody } from '../../apps/coordinator/src/http/json-body.middleware';
import { fastFleetEnv, type TestCoordinator } from '../fleet/fleet-harness';

export async function startDashboardCoordinator(
  redisUrl: string,
  prefix: string,
  env: Record<string, string>,
): Promise<TestCoordinator> {
  const directory = await mkdtemp(path.join(tmpdir(), 'headkv-dashboard-files-'));
  const config = coordinatorConfigFromEnv({ ...fastFleetEnv(redisUrl, prefix), PORT: '0', ...env });
  const root = CoordinatorModule.forRoot(config, new LocalDirectoryStorage(directory));
  if (!root.imports?.includes(DashboardModule)) root.imports = [...(root.imports ?? []), DashboardModule];
  const app = await NestFactory.create<NestExpressApplication>(root, { bodyParser: false, logger: false });
  app.use(jsonBody(config.maxBodyBytes));
  app.useGlobalFilters(new ApiErrorFilter());
  const redis = redisOptionsFromUrl(config.redisUrl);
  app.connectMicroservice<MicroserviceOptions>({
    transport: Transport.REDIS,
    options: {
      host: redis.host,
      port: redis.port,
      db: redis.db,
      username: redis.username,
      password: redis.password,
    },
  });
  await app.startAllMicroservices();
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    app,
    baseUrl: `http://127.0.0.1:${port}`,
    async close() {
      await app.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
