import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { ApiError } from '@headkv/api';
import type { TenantRequest } from './api-key.guard';
import { ApiKeyRegistry } from './api-key-registry';

/**
 * Lets a request through only when its tenant may write the fleet's head profiles (one of
 * HEADKV_ADMIN_KEYS, or any key when none are configured); 403 otherwise. Runs after ApiKeyGuard,
 * which authenticates the key and sets the tenant.
 */
@Injectable()
export class AdminKeyGuard implements CanActivate {
  constructor(private readonly registry: ApiKeyRegistry) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<TenantRequest>();
    if (!this.registry.mayWriteProfiles(request.tenant)) {
      throw ApiError.forbidden(
        'Computing, importing and deleting head profiles needs an admin API key (one of HEADKV_ADMIN_KEYS); this key may only read them',
        'admin_key_required',
      );
    }
    return true;
  }
}
