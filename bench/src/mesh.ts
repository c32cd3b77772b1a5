/**
 * The bench's private mesh: a fresh namespace and temp database, the five services and one
 * demo-swarm process of no-op agents, started from the built dist/ through libs/testing.
 */
import { type ServiceName, SERVICE_NAMES } from '@swarm-mesh/contracts';
import { createTestDatabase, type RunningMesh, type ServiceProcess, startMesh, startServiceProcess } from '@swarm-mesh/testing';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TaskSubmitter } from './http';

export interface MeshSettings {
  namespace: string;
  agents: number;
  concurrency: number;
  trace: boolean;
  /** Processes to profile during the measured runs (cpu-profiler.ts), and where the profiles go. */
  profile: readonly string[];
  profileDir: string | undefined;
  log: (line: string) => void;
}

export interface StartedMesh {
  namespace: string;
  gatewayUrl: string;
  apiKey: string;
  databaseUrl: string;
  databaseName: string;
  /** Every process the bench started, by name. */
  processes: ServiceProcess[];
  /** Stops the processes (SIGTERM, in parallel, demo-swarm first); safe to call twice. */
  stopProcesses(): Promise<void>;
  /** Drops the temp database; safe to call twice. */
  dropDatabase(): Promise<void>;
  /** Starts (first call) or stops and writes (second call) the CPU profiles of the profiled processes. */
  toggleProfiles(): void;
}

/** The preload that profiles a process between two SIGUSR2 (see cpu-profiler.ts). */
const PROFILER_PRELOAD = join(__dirname, 'cpu-profiler.js');

function profileEnv(name: string, s: MeshSettings): Record<string, string> {
  if (!s.profile.includes(name) || !s.profileDir) return {};
  if (/\s/.test(PROFILER_PRELOAD)) throw new Error(`--profile: the repository path may not contain spaces (${PROFILER_PRELOAD})`);
  const inherited = process.env.NODE_OPTIONS ? `${process.env.NODE_OPTIONS} ` : '';
  return { NODE_OPTIONS: `${inherited}--require ${PROFILER_PRELOAD}`, BENCH_CPU_PROFILE: join(s.profileDir, `${name}.cpuprofile`) };
}

/**
 * Starts everything; on failure stops what was started, drops the database and rethrows.
 * `onCreated` is called with the cleanup as soon as there is something to clean, so Ctrl-C
 * during the start still cleans up.
 */
export async function startBenchMesh(s: MeshSettings, onCreated: (m: Partial<StartedMesh>) => void): Promise<StartedMesh> {
  const apiKey = `bench_${randomBytes(24).toString('hex')}`;
  if (s.profileDir) mkdirSync(s.profileDir, { recursive: true });
  const db = await createTestDatabase({ prefix: 'swarm_bench' });
  let mesh: RunningMesh | undefined;
  let demo: ServiceProcess | undefined;
  let stopped = false;
  const stopProcesses = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await demo?.stop(10_000).catch(() => undefined);
    await mesh?.stopAll().catch(() => undefined);
  };
  const dropDatabase = (): Promise<void> => db.drop();
  onCreated({ namespace: s.namespace, databaseUrl: db.url, databaseName: db.name, stopProcesses, dropDatabase });

  const common: Record<string, string> = {
    LOG_LEVEL: 'warn',
    SWARM_ADMIN_API_KEY: apiKey,
    SHUTDOWN_GRACE_MS: '3000',
    ...(s.trace ? {} : { OTEL_SDK_DISABLED: 'true' }),
  };
  try {
    const t0 = performance.now();
    const serviceEnv: Partial<Record<ServiceName, Record<string, string>>> = {};
    for (const name of SERVICE_NAMES) serviceEnv[name] = profileEnv(name, s);
    // the limiter stays in the path, with a per-key limit no run reaches (a 429 would end the run)
    serviceEnv.gateway = { ...serviceEnv.gateway, GATEWAY_RATE_LIMIT: '100000000' };
    mesh = await startMesh({ namespace: s.namespace, databaseUrl: db.url, env: common, serviceEnv, readyTimeoutMs: 90_000 });
    demo = await startServiceProcess('demo-swarm', {
      namespace: s.namespace,
      databaseUrl: db.url,
      readyTimeoutMs: 60_000,
      env: {
        ...common,
        DEMO_CAPABILITIES: 'infra.noop',
        DEMO_AGENTS_PER_CAPABILITY: String(s.agents),
        DEMO_CONCURRENCY: String(s.concurrency),
        DEMO_AGENT_PREFIX: 'bench',
        ...profileEnv('demo-swarm', s),
      },
    });
    s.log(`mesh processes ready in ${((performance.now() - t0) / 1000).toFixed(1)} s (namespace ${s.namespace}, database ${db.name})`);
    const processes = [...SERVICE_NAMES.map((n) => mesh!.services[n]).filter((p): p is ServiceProcess => p !== undefined), demo];
    return {
      namespace: s.namespace,
      gatewayUrl: mesh.gatewayUrl,
      apiKey,
      databaseUrl: db.url,
      databaseName: db.name,
      processes,
      stopProcesses,
      dropDatabase,
      toggleProfiles: () => {
        for (const p of processes) if (s.profile.includes(p.name) && !p.exited()) process.kill(p.pid, 'SIGUSR2');
      },
    };
  } catch (err) {
    await stopProcesses();
    await dropDatabase().catch(() => undefined);
    throw err;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits for `GET /health` 200 and for `agents` healthy agents with the infra.noop capability. */
export async function waitForMeshReady(client: TaskSubmitter, agents: number, timeoutMs: number): Promise<{ agentIds: string[] }> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const health = await client.getJson<{ status?: string }>('/health');
      if (health.status !== 200) {
        last = `health ${health.status} ${JSON.stringify(health.body)}`;
      } else {
        const list = await client.getJson<{ items?: Array<{ id: string; state: string; capabilities: string[] }> }>('/agents?limit=100');
        const ready = (list.body?.items ?? []).filter((a) => a.state === 'healthy' && a.capabilities.includes('infra.noop'));
        if (ready.length >= agents) return { agentIds: ready.map((a) => a.id) };
        last = `agents ${list.status}: ${ready.length}/${agents} healthy infra.noop agents`;
      }
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`mesh not ready within ${timeoutMs} ms: ${last}`);
}

/** `test-artifacts/bench-profiles/<time>` under the repo root. */
export function defaultProfileDir(repoRoot: string): string {
  return join(repoRoot, 'test-artifacts', 'bench-profiles', new Date().toISOString().replace(/[:.]/g, '-'));
}
