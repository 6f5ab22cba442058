import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import { ApiError } from '@headkv/api';
import { ApiKeyGuard } from '../auth/api-key.guard';
import { FleetRegistry } from './fleet-registry.service';

function modelObject(id: string) {
  return { id, object: 'model' as const, created: 0, owned_by: 'headkv' };
}

/** GET /v1/models: the models served by live workers. */
@Controller('v1/models')
@UseGuards(ApiKeyGuard)
export class ModelsController {
  constructor(private readonly registry: FleetRegistry) {}

  @Get()
  list() {
    return { object: 'list', data: [...this.registry.models().keys()].map(modelObject) };
  }

  @Get(':id')
  get(@Param('id') id: string) {
    if (!this.registry.models().has(id)) throw ApiError.notFound(`The model '${id}' does not exist`, 'model');
    return modelObject(id);
  }
}
