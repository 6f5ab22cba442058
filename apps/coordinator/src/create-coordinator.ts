import 'reflect-metadata';
import { Logger, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { checkRedisConnection, fleetTransportOptions } from '@headkv/queue';
import {
  LocalDirectoryStorage,
  STALE_PARTIAL_AGE_MS,
  storageFromEnv,
  type FileStorage,
} from '@headkv/storage';
import { ApiKeyRegistry } from './auth/api-key-registry';
import type { CoordinatorConfig } from './config/coordinator-config';
import { CoordinatorModule } from './coordinator.module';
import { ApiErrorFilter } from './http/api-error.filter';
import { httpTracing } from './http/http-tracing.middleware';
import { jsonBody } from './http/json-body.middleware';

/** Builds and starts a coordinator: HTTP API, batch finalizer and the fleet's heartbeat listener. */
export async function startCoordinator(
  config: CoordinatorConfig,
  options: {
    storage?: FileStorage;
    logger?: LoggerService | false;
    /** false when the caller owns signal handling (headkv serve stops its parts in order). */
    shutdownHooks?: boolean;
  } = {},
): Promise<NestExpressApplication> {
  // Wrong credentials, ACL permissions or TLS settings stop the start here, with a clear message.
  await checkRedisConnection(config.redisUrl, config.queuePrefix);
  const storage = options.storage ?? storageFromEnv();
  const app = await NestFactory.create<NestExpressApplication>(CoordinatorModule.forRoot(config, storage), {
    bodyParser: false,
    logger: options.logger,
    abortOnError: false,
  });
  // Body first: the request span's context must wrap the route handler, and the body parser's
  // stream callbacks would run outside it.
  app.use(jsonBody(config.maxBodyBytes));
  app.use(httpTracing);
  app.useGlobalFilters(new ApiErrorFilter());
  app.connectMicroservice<MicroserviceOptions>({
    transport: Transport.REDIS,
    options: fleetTransportOptions(config.redisUrl),
  });
  if (options.shutdownHooks !== false) app.enableShutdownHooks();
  await app.startAllMicroservices();
  await app.listen(config.port, config.host);
  const logger = new Logger('coordinator');
  const keys = app.get(ApiKeyRegistry);
  if (keys.embeddedMode) {
    logger.warn('HEADKV_API_KEYS is not set: accepting any API key, from localhost only (embedded mode)');
  } else if (!keys.adminKeysConfigured) {
    logger.warn(
      'HEADKV_ADMIN_KEYS is not set: every API key may compute, import and delete the head profiles all tenants share',
    );
  }
  if (storage instanceof LocalDirectoryStorage) {
    // Housekeeping: a failure here is reported, and the files it could not remove stay harmless.
    try {
      const sweep = await storage.removeStalePartialFiles();
      logger.log(
        `removed ${sweep.files} partial files (${sweep.bytes} bytes) older than ${STALE_PARTIAL_AGE_MS / 60000} minutes, left by interrupted writes`,
      );
    } catch (error) {
      logger.warn(`could not remove stale partial files: ${(error as Error).message}`);
    }
  }
  logger.log(
    `listening on http://${config.host}:${config.port} (queue prefix ${config.queuePrefix}, files in ${storage.description})`,
  );
  return app;
}
