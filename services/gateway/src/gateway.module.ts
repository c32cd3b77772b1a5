import { Module } from '@nestjs/common';
import { APP_GUARD, APP_PIPE } from '@nestjs/core';
import { AdminModule } from './admin/admin.module';
import { AgentsModule } from './agents/agents.module';
import { AlertsModule } from './alerts/alerts.module';
import { AuthModule } from './auth/auth.module';
import { DashboardModule } from './dashboard/dashboard.module';
import { DeadLettersModule } from './dead-letters/dead-letters.module';
import { HealthController } from './health/health.controller';
import { MeshHealthService } from './health/mesh-health.service';
import { StrayQueryGuard } from './http/query-guard';
import { StrictValidationPipe } from './http/strict-validation.pipe';
import { PerformanceModule } from './performance/performance.module';
import { QueuesModule } from './queues/queues.module';
import { ResourcesModule } from './resources/resources.module';
import { StreamModule } from './stream/stream.module';
import { SwarmModule } from './swarm/swarm.module';
import { TasksModule } from './tasks/tasks.module';
import { WorkflowsModule } from './workflows/workflows.module';

/** Root feature module of the gateway. */
@Module({
  imports: [
    AuthModule,
    TasksModule,
    AgentsModule,
    DeadLettersModule,
    QueuesModule,
    AdminModule,
    StreamModule,
    AlertsModule,
    DashboardModule,
    PerformanceModule,
    SwarmModule,
    ResourcesModule,
    WorkflowsModule,
  ],
  controllers: [HealthController],
  providers: [MeshHealthService, { provide: APP_PIPE, useClass: StrictValidationPipe }, { provide: APP_GUARD, useClass: StrayQueryGuard }],
})
export class GatewayModule {}
