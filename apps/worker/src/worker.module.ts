import { Module, type DynamicModule } from '@nestjs/common';
import { ClientsModule, Transport } from '@nestjs/microservices';
import { fleetTransportOptions } from '@headkv/queue';
import { WORKER_CONFIG, type WorkerConfig } from './config/worker-config';
import { engineProvider } from './engine/engine.provider';
import { FLEET_CLIENT, HeartbeatService } from './fleet/heartbeat.service';
import { RequestWorker } from './processing/request-worker.service';
import { ProfileComputer } from './profiles/profile-computer.service';
import { ProfileResolver } from './profiles/profile-resolver.service';

@Module({})
export class WorkerModule {
  static forRoot(config: WorkerConfig): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        ClientsModule.register([
          {
            name: FLEET_CLIENT,
            transport: Transport.REDIS,
            options: fleetTransportOptions(config.redisUrl),
          },
        ]),
      ],
      providers: [
        { provide: WORKER_CONFIG, useValue: config },
        engineProvider,
        ProfileResolver,
        ProfileComputer,
        RequestWorker,
        HeartbeatService,
      ],
    };
  }
}
