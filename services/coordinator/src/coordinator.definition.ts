import type { ServiceDefinition } from '@swarm-mesh/service-kit';
import { COORDINATOR_ENV } from './config/coordinator-options';
import { CoordinatorModule } from './coordinator.module';
import { CoordinatorInit1730000000000 } from './migrations/1730000000000-coordinator-init';
import { CoordinatorHotUpdates1730000001000 } from './migrations/1730000001000-coordinator-hot-updates';
import { CoordinatorGenerations1730000002000 } from './migrations/1730000002000-coordinator-generations';
import { CoordinatorWorkflows1731100000000 } from './migrations/1731100000000-coordinator-workflows';

/** The coordinator service: what runService needs to start it. */
export const coordinatorDefinition: ServiceDefinition<typeof COORDINATOR_ENV> = {
  service: 'coordinator',
  module: CoordinatorModule,
  entities: [],
  migrations: [
    CoordinatorInit1730000000000,
    CoordinatorHotUpdates1730000001000,
    CoordinatorGenerations1730000002000,
    CoordinatorWorkflows1731100000000,
  ],
  env: COORDINATOR_ENV,
  singleton: true,
};
