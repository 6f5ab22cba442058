// coordinator-services.ts: the coordinator services the dashboard reads, looked up in the whole
// application (ModuleRef, strict: false) because the coordinator module does not export them.
import { Injectable, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Request } from 'express';
import { ApiKeyRegistry, type Tenant } from '../auth/api-key-registry';
import { BatchesService } from '../batches/batches.service';
import { FleetRegistry } from '../fleet/fleet-registry.service';
import { ProfilesService } from '../profiles/profiles.service';

@Injectable()
export class CoordinatorServices implements OnModuleInit {
  private resolved: {
    keys: ApiKeyRegistry;
    batches: BatchesService;
    fleet: FleetRegistry;
    profiles: ProfilesService;
  } | null = null;

  constructor(private readonly moduleRef: ModuleRef) {}

  onModuleInit(): void {
    const get = <T>(type: new (...args: never[]) => T): T => this.moduleRef.get(type, { strict: false });
    this.resolved = {
      keys: get(ApiKeyRegistry),
      batches: get(BatchesService),
      fleet: get(FleetRegistry),
      profiles: get(ProfilesService),
    };
  }

  private get services() {
    if (this.resolved === null) throw new Error('the dashboard is used before the application started');
    return this.resolved;
  }

  /** The tenant of a request, by the same API keys and rules as the API (throws a 401). */
  authenticate(request: Request): Tenant {
    return this.services.keys.authenticate(request.headers.authorization, request.socket.remoteAddress);
  }

  get batches(): BatchesService {
    return this.services.batches;
  }

  get fleet(): FleetRegistry {
    return this.services.fleet;
  }

  get profiles(): ProfilesService {
    return this.services.profiles;
  }
}
