// dashboard.module.ts: the operator dashboard at /dashboard (batches, fleet, head profiles), built on
// the coordinator's own services and API keys.
import { Module } from '@nestjs/common';
import { CoordinatorServices } from './coordinator-services';
import { DashboardEventsController } from './dashboard-events.controller';
import { DashboardPageController } from './dashboard-page.controller';
import { ProfileAllocationController } from './profile-allocation.controller';

@Module({
  controllers: [DashboardPageController, DashboardEventsController, ProfileAllocationController],
  providers: [CoordinatorServices],
})
export class DashboardModule {}
