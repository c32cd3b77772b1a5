import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SINGLETON_SERVICES } from '@swarm-mesh/contracts';
import { BASE_ENV_SPEC } from '@swarm-mesh/service-kit';
import { conflictResolverDefinition } from '../../services/conflict-resolver/src/conflict-resolver.definition';
import { coordinatorDefinition } from '../../services/coordinator/src/coordinator.definition';
import { gatewayDefinition } from '../../services/gateway/src/gateway.definition';
import { performanceOptimizerDefinition } from '../../services/performance-optimizer/src/performance-optimizer.definition';
import { resourceAllocatorDefinition } from '../../services/resource-allocator/src/resource-allocator.definition';

/** .env.example documents every variable a service validates at start (scripts/env-example.mjs writes it). */
describe('.env.example', () => {
  const example = readFileSync(join(__dirname, '..', '..', '.env.example'), 'utf8');
  const documented = new Set([...example.matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));
  const specs = {
    base: BASE_ENV_SPEC,
    gateway: gatewayDefinition.env ?? {},
    coordinator: coordinatorDefinition.env ?? {},
    'resource-allocator': resourceAllocatorDefinition.env ?? {},
    'conflict-resolver': conflictResolverDefinition.env ?? {},
    'performance-optimizer': performanceOptimizerDefinition.env ?? {},
  };

  it.each(Object.entries(specs))('documents every variable of %s', (_name, spec) => {
    expect(Object.keys(spec).filter((v) => !documented.has(v))).toEqual([]);
  });

  it('documents every service port', () => {
    for (const v of [
      'GATEWAY_PORT',
      'COORDINATOR_PORT',
      'RESOURCE_ALLOCATOR_PORT',
      'CONFLICT_RESOLVER_PORT',
      'PERFORMANCE_OPTIMIZER_PORT',
    ]) {
      expect(documented.has(v)).toBe(true);
    }
  });
});

describe('singleton services', () => {
  it('the services that run one active replica are exactly SINGLETON_SERVICES (callers wait for their standby to take over)', () => {
    const definitions = [
      gatewayDefinition,
      coordinatorDefinition,
      resourceAllocatorDefinition,
      conflictResolverDefinition,
      performanceOptimizerDefinition,
    ];
    expect(definitions.filter((d) => d.singleton === true).map((d) => d.service)).toEqual([...SINGLETON_SERVICES]);
  });
});
