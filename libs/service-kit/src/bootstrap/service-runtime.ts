import type { FlagStore, MeshBus } from '@swarm-mesh/messaging';
import type { Logger } from '@swarm-mesh/telemetry';
import type { DataSource } from 'typeorm';
import type { ServiceConfig } from '../config/service-config';
import type { Leadership } from '../leadership/service-leadership';
import type { HealthService } from '../ops/health.service';
import type { MetricsRegistry } from '../ops/metrics.registry';

/** Everything a service process holds before NestJS starts; provided to every module. */
export interface ServiceRuntime<X = unknown> {
  config: ServiceConfig<X>;
  bus: MeshBus;
  dataSource: DataSource;
  logger: Logger;
  metrics: MetricsRegistry;
  health: HealthService;
  flags: FlagStore;
  leadership: Leadership;
}
