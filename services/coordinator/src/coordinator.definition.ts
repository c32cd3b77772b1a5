import type { ServiceDefinition } from '@swarm-mesh/service-kit';
import { COORDINATOR_ENV } from './config/coordinator-options';
import { CoordinatorModule } from './coordinator.module';
import { COORDINATOR_MIGRATIONS } from './migrations';

/** The coordinator service: what runService needs to start it. */
export const coordinatorDefinition: ServiceDefinition<typeof COORDINATOR_ENV> = {
  service: 'coordinator',
  module: CoordinatorModule,
  entities: [],
  migrations: COORDINATOR_MIGRATIONS,
  env: COORDINATOR_ENV,
  singleton: true,
};
