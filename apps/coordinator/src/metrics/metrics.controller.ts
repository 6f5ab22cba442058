import { Controller, Get, Res } from '@nestjs/common';
import type { Response } from 'express';
import { FleetMetrics } from './fleet-metrics.service';

/** GET /metrics in the Prometheus text format (unauthenticated, for the scraper). */
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: FleetMetrics) {}

  @Get()
  async scrape(@Res() response: Response): Promise<void> {
    response.setHeader('Content-Type', this.metrics.registry.contentType);
    response.send(await this.metrics.registry.metrics());
  }
}
