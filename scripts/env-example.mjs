#!/usr/bin/env node
// Writes .env.example from the environment specs the services validate at start
// (libs/service-kit BASE_ENV_SPEC + each service definition's `env`), so the example documents
// every variable and cannot drift. Run after `npm run build`: node scripts/env-example.mjs
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const kit = require(path.join(root, 'libs/service-kit/dist'));
const SERVICES = [
  ['gateway', 'gatewayDefinition'],
  ['coordinator', 'coordinatorDefinition'],
  ['resource-allocator', 'resourceAllocatorDefinition'],
  ['conflict-resolver', 'conflictResolverDefinition'],
  ['performance-optimizer', 'performanceOptimizerDefinition'],
];

const ports = {
  GATEWAY_PORT: 3000,
  COORDINATOR_PORT: 3001,
  RESOURCE_ALLOCATOR_PORT: 3002,
  CONFLICT_RESOLVER_PORT: 3003,
  PERFORMANCE_OPTIMIZER_PORT: 3004,
};
const sections = [
  `# Swarm Mesh settings. Copy to .env (git-ignored) and edit: \`npm start\` and \`docker compose\`
# read it; variables already set in the environment win. Blank or commented = default.
# Generated from the specs every service validates at start (node scripts/env-example.mjs);
# a bad value stops a service with a message naming the variable.`,
  `# ── every service ─────────────────────────────────────────────────────────\n\n${kit.describeEnv(kit.BASE_ENV_SPEC)}`,
  `# HTTP port of each service (HTTP_PORT, when set, overrides these; npm start ignores HTTP_PORT)\n${Object.entries(ports)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}`,
];
for (const [service, exported] of SERVICES) {
  const def = require(path.join(root, 'services', service, 'dist', `${service}.definition.js`))[exported];
  if (def.env && Object.keys(def.env).length > 0)
    sections.push(`# ── ${service} ${'─'.repeat(60 - service.length)}\n\n${kit.describeEnv(def.env)}`);
}
sections.push(`# ── local runner, demo swarm, tracing ─────────────────────────────────────

# First admin API key (tenant "default"; Authorization: Bearer <key>), ≥ 16 characters, no spaces.
# Unset: npm start generates one into .data/admin-api-key and prints it; docker compose requires it.
# SWARM_ADMIN_API_KEY=

# Demo swarm (agents simulating providers): HTTP port of its /health and /metrics, agents per
# capability, capabilities, slots per agent, mean simulated latency and failure rate of attempts
# without input.simulate, simulated providers (see agents/demo-swarm/README.md)
DEMO_SWARM_PORT=3005
# DEMO_AGENTS_PER_CAPABILITY=2
# DEMO_CAPABILITIES=data.fetch,content.generate,intel.analyze,quality.review,content.publish,infra.noop
# DEMO_CONCURRENCY=8
# DEMO_LATENCY_MS=100
# DEMO_FAILURE_RATE=0
# DEMO_PROVIDERS=

# OTLP/HTTP endpoint for traces, e.g. http://127.0.0.1:4318 (Jaeger); unset = spans created but not exported
# OTEL_EXPORTER_OTLP_ENDPOINT=
# true = turn OpenTelemetry off entirely
# OTEL_SDK_DISABLED=
# Trace sampler (OpenTelemetry standard), e.g. parentbased_traceidratio with OTEL_TRACES_SAMPLER_ARG=0.1
# OTEL_TRACES_SAMPLER=`);
writeFileSync(path.join(root, '.env.example'), `${sections.join('\n\n')}\n`);
console.log('wrote .env.example');
