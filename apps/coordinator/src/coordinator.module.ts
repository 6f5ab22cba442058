import { Module, type DynamicModule } from '@nestjs/common';
import { BullModule } from '@nestjs/bullmq';
import { MulterModule } from '@nestjs/platform-express';
import { BATCHES_QUEUE, PROFILES_QUEUE, REQUESTS_QUEUE, redisOptionsFromUrl } from '@headkv/queue';
import type { FileStorage } from '@headkv/storage';
import { AdminKeyGuard } from './auth/admin-key.guard';
import { ApiKeyGuard } from './auth/api-key.guard';
import { ApiKeyRegistry } from './auth/api-key-registry';
import { RateLimiter } from './auth/rate-limiter.service';
import { BatchFinalizer } from './batches/batch-finalizer.service';
import { BatchJobsWorker } from './batches/batch-jobs.worker';
import { BatchRecordsService } from './batches/batch-records.service';
import { BatchesController } from './batches/batches.controller';
import { BatchesService } from './batches/batches.service';
import { BATCH_FLOW_PRODUCER, BatchValidator } from './batches/batch-validator.service';
import { CancelPublisher } from './batches/cancel-publisher.service';
import { ChatCompletionsController } from './chat/chat-completions.controller';
import { ChatCompletionsService } from './chat/chat-completions.service';
import { StreamSubscriber } from './chat/stream-subscriber.service';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from './config/coordinator-config';
import { FILE_STORAGE, FileRecordsService } from './files/file-records.service';
import { FilesController } from './files/files.controller';
import { FleetEventsController } from './fleet/fleet-events.controller';
import { FleetRegistry } from './fleet/fleet-registry.service';
import { ModelsController } from './fleet/models.controller';
import { WorkersController } from './fleet/workers.controller';
import { HealthController } from './health/health.controller';
import { IdempotencyService } from './idempotency/idempotency.service';
import { MetadataRedis } from './redis/metadata-redis';
import { FleetMetrics } from './metrics/fleet-metrics.service';
import { MetricsController } from './metrics/metrics.controller';
import { ProfilesController } from './profiles/profiles.controller';
import { ProfilesService } from './profiles/profiles.service';
import { DashboardModule } from './dashboard/dashboard.module';

@Module({})
export class CoordinatorModule {
  static forRoot(config: CoordinatorConfig, storage: FileStorage): DynamicModule {
    return {
      module: CoordinatorModule,
      imports: [
        BullModule.forRoot({ connection: redisOptionsFromUrl(config.redisUrl), prefix: config.queuePrefix }),
        BullModule.registerQueue({ name: REQUESTS_QUEUE }, { name: BATCHES_QUEUE }, { name: PROFILES_QUEUE }),
        BullModule.registerFlowProducer({ name: BATCH_FLOW_PRODUCER }),
        MulterModule.register({ limits: { fileSize: config.maxFileBytes, files: 1 } }),
        DashboardModule,
      ],
      controllers: [
        HealthController,
        FilesController,
        BatchesController,
        ChatCompletionsController,
        ModelsController,
        WorkersController,
        ProfilesController,
        MetricsController,
        FleetEventsController,
      ],
      providers: [
        { provide: COORDINATOR_CONFIG, useValue: config },
        { provide: FILE_STORAGE, useValue: storage },
        { provide: MetadataRedis, useFactory: () => new MetadataRedis(config.redisUrl) },
        { provide: ApiKeyRegistry, useValue: new ApiKeyRegistry(config.apiKeys, config.adminKeys) },
        RateLimiter,
        ApiKeyGuard,
        AdminKeyGuard,
        IdempotencyService,
        FileRecordsService,
        FleetRegistry,
        CancelPublisher,
        BatchRecordsService,
        BatchesService,
        BatchValidator,
        BatchFinalizer,
        BatchJobsWorker,
        StreamSubscriber,
        ChatCompletionsService,
        ProfilesService,
        FleetMetrics,
      ],
    };
  }
}
