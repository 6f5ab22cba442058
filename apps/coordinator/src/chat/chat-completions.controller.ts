import { Body, Controller, HttpCode, Post, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { ApiKeyGuard } from '../auth/api-key.guard';
import { CurrentTenant } from '../auth/tenant.decorator';
import { currentTraceCarrier } from '@headkv/telemetry';
import { ChatCompletionsService } from './chat-completions.service';

/** POST /v1/chat/completions */
@Controller('v1/chat/completions')
@UseGuards(ApiKeyGuard)
export class ChatCompletionsController {
  constructor(private readonly chat: ChatCompletionsService) {}

  @Post()
  @HttpCode(200)
  async create(
    @CurrentTenant() tenant: string,
    @Body() body: unknown,
    @Res() response: Response,
  ): Promise<void> {
    const validated = this.chat.validate(body);
    const trace = currentTraceCarrier();
    if (validated.stream) {
      await this.chat.stream(tenant, validated, trace, response);
    } else {
      response.status(200).json(await this.chat.complete(tenant, validated, trace, response));
    }
  }
}
