import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ApiKeyRegistry, type Tenant } from './api-key-registry';
import { rateLimitError, setRateLimitHeaders } from './rate-limit-response';
import { RateLimiter } from './rate-limiter.service';

/** Request with the tenant the guard resolved. */
export interface TenantRequest extends Request {
  tenant: Tenant;
}

/** Authenticates the API key (401 otherwise), then takes a token of its tenant's rate limit (429 otherwise). */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly registry: ApiKeyRegistry,
    private readonly limiter: RateLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<TenantRequest>();
    request.tenant = this.registry.authenticate(request.headers.authorization, request.socket.remoteAddress);
    const decision = await this.limiter.take(request.tenant);
    if (decision !== null) {
      setRateLimitHeaders(context.switchToHttp().getResponse<Response>(), decision);
      if (!decision.allowed) throw rateLimitError(decision);
    }
    return true;
  }
}
