// dashboard-page.controller.ts: GET /dashboard, its scripts and the npm modules it imports. The
// page itself holds no data; everything it shows comes from authenticated API calls.
import { Controller, Get, Param, Res } from '@nestjs/common';
import type { Response } from 'express';
import { ApiError } from '@headkv/api';
import { locateDashboardAssets, type DashboardAssets } from './dashboard-assets';

@Controller('dashboard')
export class DashboardPageController {
  private readonly assets: DashboardAssets = locateDashboardAssets();

  @Get()
  page(@Res() response: Response): void {
    response.setHeader('Cache-Control', 'no-store');
    response.sendFile(this.assets.indexHtml);
  }

  @Get('assets/:name')
  asset(@Param('name') name: string, @Res() response: Response): void {
    const file = this.assets.page(name);
    if (file === null) throw ApiError.notFound(`No dashboard asset ${name}`);
    response.setHeader('Cache-Control', 'no-cache');
    response.sendFile(file);
  }

  @Get('vendor/:name')
  vendor(@Param('name') name: string, @Res() response: Response): void {
    const file = this.assets.vendor(name);
    if (file === null) throw ApiError.notFound(`No dashboard module ${name}`);
    response.type('text/javascript');
    response.setHeader('Cache-Control', 'public, max-age=3600');
    response.sendFile(file);
  }
}
