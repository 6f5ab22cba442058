import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { WORKER_HEARTBEAT_EVENT, WORKER_LEAVING_EVENT, type WorkerHeartbeat } from '@headkv/queue';
import { FleetRegistry } from './fleet-registry.service';

/** Worker registration and heartbeats, received over the @nestjs/microservices Redis transport. */
@Controller()
export class FleetEventsController {
  constructor(private readonly registry: FleetRegistry) {}

  @EventPattern(WORKER_HEARTBEAT_EVENT)
  heartbeat(@Payload() heartbeat: WorkerHeartbeat): void {
    this.registry.record(heartbeat);
  }

  @EventPattern(WORKER_LEAVING_EVENT)
  leaving(@Payload() message: { workerId: string; queuePrefix: string }): void {
    this.registry.remove(message.workerId, message.queuePrefix);
  }
}
