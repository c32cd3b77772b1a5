import type { ServiceDefinition } from '@swarm-mesh/service-kit';
import { OPTIMIZER_ENV } from './config/optimizer-options';
import { PerformanceOptimizerModule } from './performance-optimizer.module';
import { PerformanceInit1730000000000 } from './migrations/1730000000000-performance-init';
import { PerformanceAnalytics1730000001000 } from './migrations/1730000001000-performance-analytics';

/** The performance-optimizer service: what runService needs to start it. */
export const performanceOptimizerDefinition: ServiceDefinition<typeof OPTIMIZER_ENV> = {
  service: 'performance-optimizer',
  module: PerformanceOptimizerModule,
  entities: [],
  migrations: [PerformanceInit1730000000000, PerformanceAnalytics1730000001000],
  env: OPTIMIZER_ENV,
};
