import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import type { BatchObject } from '@headkv/api';
import { currentTraceCarrier } from '@headkv/telemetry';
import { ApiKeyGuard } from '../auth/api-key.guard';
import { CurrentTenant } from '../auth/tenant.decorator';
import { IdempotencyService } from '../idempotency/idempotency.service';
import { parseLimit } from '../http/list-page';
import { BatchesService } from './batches.service';

/** OpenAI Batches API: /v1/batches. */
@Controller('v1/batches')
@UseGuards(ApiKeyGuard)
export class BatchesController {
  constructor(
    private readonly batches: BatchesService,
    private readonly idempotency: IdempotencyService,
  ) {}

  @Post()
  @HttpCode(200)
  create(
    @CurrentTenant() tenant: string,
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
  ): Promise<BatchObject> {
    return this.idempotency.run(
      tenant,
      'batches',
      idempotencyKey,
      async () => {
        const batch = await this.batches.create(tenant, body, currentTraceCarrier());
        return { id: batch.id, value: batch };
      },
      (id) => this.batches.get(tenant, id),
    );
  }

  @Get()
  list(@CurrentTenant() tenant: string, @Query('after') after?: string, @Query('limit') limit?: string) {
    return this.batches.list(tenant, { after, limit: parseLimit(limit) });
  }

  @Get(':id')
  get(@CurrentTenant() tenant: string, @Param('id') id: string): Promise<BatchObject> {
    return this.batches.get(tenant, id);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  cancel(@CurrentTenant() tenant: string, @Param('id') id: string): Promise<BatchObject> {
    return this.batches.cancel(tenant, id);
  }
}
