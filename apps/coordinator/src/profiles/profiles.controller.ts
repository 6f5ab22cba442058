import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, UseGuards } from '@nestjs/common';
import { AdminKeyGuard } from '../auth/admin-key.guard';
import { ApiKeyGuard } from '../auth/api-key.guard';
import { ProfilesService } from './profiles.service';

/**
 * /v1/profiles: list, compute, import (profile JSON or reference format) and remove head profiles.
 * Profiles are shared by every tenant of the fleet, so the writes take an admin key when
 * HEADKV_ADMIN_KEYS is set (AdminKeyGuard, after the class-level ApiKeyGuard); reads take any key.
 */
@Controller('v1/profiles')
@UseGuards(ApiKeyGuard)
export class ProfilesController {
  constructor(private readonly profiles: ProfilesService) {}

  @Get()
  list() {
    return this.profiles.list();
  }

  @Post()
  @UseGuards(AdminKeyGuard)
  @HttpCode(202)
  compute(@Body() body: unknown) {
    return this.profiles.compute(body);
  }

  @Get(':fingerprint/:method/:granularity')
  get(
    @Param('fingerprint') fingerprint: string,
    @Param('method') method: string,
    @Param('granularity') granularity: string,
  ) {
    return this.profiles.get(this.profiles.identity(fingerprint, method, granularity));
  }

  @Put(':fingerprint/:method/:granularity')
  @UseGuards(AdminKeyGuard)
  import(
    @Param('fingerprint') fingerprint: string,
    @Param('method') method: string,
    @Param('granularity') granularity: string,
    @Body() body: unknown,
  ) {
    return this.profiles.import(this.profiles.identity(fingerprint, method, granularity), body);
  }

  @Delete(':fingerprint/:method/:granularity')
  @UseGuards(AdminKeyGuard)
  delete(
    @Param('fingerprint') fingerprint: string,
    @Param('method') method: string,
    @Param('granularity') granularity: string,
  ) {
    return this.profiles.delete(this.profiles.identity(fingerprint, method, granularity));
  }
}
