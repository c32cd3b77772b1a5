import type { ServiceDefinition } from '@swarm-mesh/service-kit';
import { ConflictResolverModule } from './conflict-resolver.module';
import { ConflictsInit1730000000000 } from './migrations/1730000000000-conflicts-init';
import { ConflictsPolicies1730000002000 } from './migrations/1730000002000-conflicts-policies';
import { RESOLVER_ENV } from './resolver.host';

/** The conflict-resolver service: what runService needs to start it. */
export const conflictResolverDefinition: ServiceDefinition<typeof RESOLVER_ENV> = {
  service: 'conflict-resolver',
  module: ConflictResolverModule,
  entities: [],
  migrations: [ConflictsInit1730000000000, ConflictsPolicies1730000002000],
  env: RESOLVER_ENV,
  singleton: true,
};
