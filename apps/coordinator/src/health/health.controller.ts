import { Controller, Get, HttpCode, Res } from '@nestjs/common';
import type { Response } from 'express';
import { MetadataRedis } from '../redis/metadata-redis';

/** Liveness (the process answers) and readiness (Redis answers too). */
@Controller()
export class HealthController {
  constructor(private readonly redis: MetadataRedis) {}

  @Get('healthz')
  @HttpCode(200)
  health() {
    return { status: 'ok' };
  }

  @Get('readyz')
  async ready(@Res() response: Response): Promise<void> {
    try {
      await this.redis.ping();
      response.status(200).json({ status: 'ready' });
    } catch (error) {
      response.status(503).json({ status: 'not ready', reason: `redis: ${(error as Error).message}` });
    }
  }
}
