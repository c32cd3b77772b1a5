import type { ServiceDefinition } from '@swarm-mesh/service-kit';
import { ALLOCATOR_ENV } from './allocator.host';
import { ResourcesInit1730000000000 } from './migrations/1730000000000-resources-init';
import { ResourcesCredits1730000002000 } from './migrations/1730000002000-resources-credits';
import { ResourceAllocatorModule } from './resource-allocator.module';

/** The resource-allocator service: what runService needs to start it. */
export const resourceAllocatorDefinition: ServiceDefinition<typeof ALLOCATOR_ENV> = {
  service: 'resource-allocator',
  module: ResourceAllocatorModule,
  entities: [],
  migrations: [ResourcesInit1730000000000, ResourcesCredits1730000002000],
  env: ALLOCATOR_ENV,
  singleton: true,
};
