import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApiKeyGuard } from '../auth/api-key.guard';
import { FleetRegistry } from './fleet-registry.service';

/** GET /v1/workers: the live fleet as its heartbeats describe it. */
@Controller('v1/workers')
@UseGuards(ApiKeyGuard)
export class WorkersController {
  constructor(private readonly registry: FleetRegistry) {}

  @Get()
  list() {
    return { object: 'list', data: this.registry.live() };
  }
}
