import type { AgentDomain } from '@swarm-mesh/agent-sdk';
import { PROVIDER_RE } from './providers';

/** The capabilities the demo can simulate, with their domain. */
export const DEMO_CAPABILITIES = {
  'data.fetch': 'data',
  'content.generate': 'content',
  'intel.analyze': 'intel',
  'quality.review': 'quality',
  'infra.noop': 'infra',
  'content.publish': 'content',
} as const satisfies Record<string, AgentDomain>;

export type DemoCapability = keyof typeof DEMO_CAPABILITIES;

export const ALL_DEMO_CAPABILITIES = Object.keys(DEMO_CAPABILITIES) as DemoCapability[];

/** One agent of the demo. */
export interface DemoAgentSpec {
  id: string;
  capability: DemoCapability;
  domain: AgentDomain;
  /** The simulated provider it reports in its usage (DEMO_PROVIDERS); default `sim-<domain>`. */
  provider?: string;
}

/** The demo's configuration, read from the environment. */
export interface DemoConfig {
  /** DEMO_AGENTS_PER_CAPABILITY (1–100). Default 2. */
  agentsPerCapability: number;
  /** DEMO_CONCURRENCY: slots per agent (1–10 000). Default 8. */
  concurrency: number;
  /** DEMO_CAPABILITIES: comma list. Default all six. */
  capabilities: DemoCapability[];
  /** DEMO_LATENCY_MS: mean simulated latency (0–3 600 000). Default 100. */
  latencyMs: number;
  /** DEMO_LATENCY_JITTER_MS: ± spread (0–3 600 000). Default half the mean. */
  jitterMs: number;
  /** DEMO_FAILURE_RATE: 0..1 chance an attempt without `simulate` fails. Default 0. */
  failureRate: number;
  /** DEMO_AGENT_PREFIX: prefix of agent ids (`<prefix>-data-fetch-1`). Default none. */
  agentPrefix: string;
  /** DEMO_PROCESS_PER_AGENT: one child process per agent. Default false (all agents in this process). */
  processPerAgent: boolean;
  /** DEMO_TENANT_ID. Default `default`. */
  tenantId: string;
  /** DEMO_SEED: seed of the random generator (reproducible runs). Default random. */
  seed: number | undefined;
  /** SHUTDOWN_GRACE_MS: how long agents finish running work on SIGTERM. Default 10 000. */
  shutdownGraceMs: number;
  /** HTTP_HOST. Default 0.0.0.0. */
  httpHost: string;
  /** HTTP_PORT, else DEMO_SWARM_PORT; 0 picks a free port. Default 3005. */
  httpPort: number;
  /** DEMO_PROVIDERS: simulated providers, assigned round-robin to the agents of each capability. Default none. */
  providers: string[];
  /** DEMO_AGENT_ID (set by the supervisor for its children): run only this agent, no HTTP. */
  onlyAgentId: string | undefined;
  /** The agents to run. */
  agents: DemoAgentSpec[];
}

/** Thrown when the environment holds invalid DEMO_* values; `problems` lists each one. */
export class DemoConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid demo-swarm configuration: ${problems.join('; ')}`);
    this.name = 'DemoConfigError';
  }
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/** Reads and validates the demo configuration; throws DemoConfigError listing every problem. */
export function loadDemoConfig(env: NodeJS.ProcessEnv = process.env): DemoConfig {
  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const num = (name: string, dflt: number, min: number, max: number, integer: boolean): number => {
    const raw = get(name);
    if (raw === undefined) return dflt;
    const v = Number(raw);
    if (!Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
      problems.push(`${name} must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max} (got "${raw}")`);
      return dflt;
    }
    return v;
  };
  const bool = (name: string, dflt: boolean): boolean => {
    const raw = get(name);
    if (raw === undefined) return dflt;
    if (TRUE.has(raw.toLowerCase())) return true;
    if (FALSE.has(raw.toLowerCase())) return false;
    problems.push(`${name} must be true or false (got "${raw}")`);
    return dflt;
  };

  const agentsPerCapability = num('DEMO_AGENTS_PER_CAPABILITY', 2, 1, 100, true);
  const concurrency = num('DEMO_CONCURRENCY', 8, 1, 10_000, true);
  let capabilities = ALL_DEMO_CAPABILITIES;
  const rawCaps = get('DEMO_CAPABILITIES');
  if (rawCaps !== undefined) {
    const list = rawCaps
      .split(',')
      .map((c) => c.trim())
      .filter((c) => c.length > 0);
    const unknown = list.filter((c) => !(c in DEMO_CAPABILITIES));
    if (unknown.length > 0)
      problems.push(`DEMO_CAPABILITIES has unknown capabilities ${unknown.join(', ')} (known: ${ALL_DEMO_CAPABILITIES.join(', ')})`);
    else if (list.length === 0) problems.push('DEMO_CAPABILITIES must name at least one capability');
    else capabilities = [...new Set(list)] as DemoCapability[];
  }
  const latencyMs = num('DEMO_LATENCY_MS', 100, 0, 3_600_000, false);
  const jitterMs = num('DEMO_LATENCY_JITTER_MS', Math.round(latencyMs / 2), 0, 3_600_000, false);
  const failureRate = num('DEMO_FAILURE_RATE', 0, 0, 1, false);
  const agentPrefix = get('DEMO_AGENT_PREFIX') ?? '';
  if (agentPrefix && !/^[A-Za-z0-9_-]{1,64}$/.test(agentPrefix))
    problems.push(`DEMO_AGENT_PREFIX must match ^[A-Za-z0-9_-]{1,64}$ (got "${agentPrefix}")`);
  const processPerAgent = bool('DEMO_PROCESS_PER_AGENT', false);
  const tenantId = get('DEMO_TENANT_ID') ?? 'default';
  if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(tenantId))
    problems.push(`DEMO_TENANT_ID must match ^[a-z0-9][a-z0-9_-]{0,63}$ (got "${tenantId}")`);
  const seedRaw = get('DEMO_SEED');
  const seed = seedRaw === undefined ? undefined : num('DEMO_SEED', 0, 0, 2 ** 32 - 1, true);
  const shutdownGraceMs = num('SHUTDOWN_GRACE_MS', 10_000, 0, 3_600_000, true);
  const httpHost = get('HTTP_HOST') ?? '0.0.0.0';
  const httpPort = get('HTTP_PORT') !== undefined ? num('HTTP_PORT', 3005, 0, 65_535, true) : num('DEMO_SWARM_PORT', 3005, 0, 65_535, true);

  const providers = (get('DEMO_PROVIDERS') ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  const badProviders = providers.filter((p) => !PROVIDER_RE.test(p));
  if (badProviders.length > 0)
    problems.push(`DEMO_PROVIDERS has invalid names ${badProviders.join(', ')} (expected ${PROVIDER_RE.source})`);

  const agents: DemoAgentSpec[] = [];
  for (const capability of capabilities) {
    for (let i = 1; i <= agentsPerCapability; i++) {
      const base = `${capability.replace(/\./g, '-')}-${i}`;
      const provider = providers.length > 0 ? providers[(i - 1) % providers.length] : undefined;
      agents.push({
        id: agentPrefix ? `${agentPrefix}-${base}` : base,
        capability,
        domain: DEMO_CAPABILITIES[capability],
        ...(provider !== undefined ? { provider } : {}),
      });
    }
  }
  const onlyAgentId = get('DEMO_AGENT_ID');
  if (onlyAgentId !== undefined && !agents.some((a) => a.id === onlyAgentId)) {
    problems.push(`DEMO_AGENT_ID "${onlyAgentId}" is not one of the configured agents`);
  }
  if (problems.length > 0) throw new DemoConfigError(problems);
  return {
    agentsPerCapability,
    concurrency,
    capabilities,
    latencyMs,
    jitterMs,
    failureRate,
    agentPrefix,
    processPerAgent,
    tenantId,
    seed,
    shutdownGraceMs,
    httpHost,
    httpPort,
    onlyAgentId,
    providers: [...new Set(providers)],
    agents: onlyAgentId ? agents.filter((a) => a.id === onlyAgentId) : agents,
  };
}
