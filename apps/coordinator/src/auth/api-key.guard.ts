import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { ApiKeyRegistry, type Tenant } from './api-key-registry';

/** Request with the tenant the guard resolved. */
export interface TenantRequest extends Request {
  tenant: Tenant;
}

@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(private readonly registry: ApiKeyRegistry) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<TenantRequest>();
    request.tenant = this.registry.authenticate(request.headers.authorization, request.socket.remoteAddress);
    return true;
  }
}
