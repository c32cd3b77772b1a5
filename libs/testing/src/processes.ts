import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { SERVICE_NAMES, type ServiceName } from '@swarm-mesh/contracts';
import { testNatsUrl } from './bus';
import { trackChild } from './children';
import { LineBuffer } from './lines';

/** Root of the repository (this file lives in libs/testing/{src,dist}). */
export const REPO_ROOT = resolve(__dirname, '../../..');

/** A service name, `demo-swarm`, or a path to a script (absolute or relative to the repo root). */
export type ServiceProcessName = ServiceName | 'demo-swarm' | (string & {});

/** Options of `startServiceProcess`. */
export interface ServiceProcessOptions {
  /** SWARM_NAMESPACE. Required (tests never share the empty namespace). */
  namespace: string;
  /** DATABASE_URL, usually `createTestDatabase().url`. */
  databaseUrl?: string;
  /** OTEL_EXPORTER_OTLP_ENDPOINT (e.g. `startOtlpReceiver().url`); unset = nothing exported. */
  otlpEndpoint?: string;
  /** NATS_URL. Default `testNatsUrl()`. */
  natsUrl?: string;
  /** Extra variables; they win over everything above. `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  /** Deadline for the ready line. Default 60 000 ms. */
  readyTimeoutMs?: number;
  /** Output lines kept for logs() and error messages. Default 300. */
  keepLines?: number;
}

/** A running service process. */
export interface ServiceProcess {
  readonly name: string;
  readonly pid: number;
  /** HTTP port from the ready line. */
  readonly port: number;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The last stdout/stderr lines (stderr ones prefixed `[stderr] `). */
  logs(): string[];
  /** True once the process has exited. */
  exited(): boolean;
  /** SIGTERM, then waits for exit (SIGKILL after `graceMs`, default 15 000). */
  stop(graceMs?: number): Promise<ProcessExit>;
  /** SIGKILL and waits for exit. */
  kill(): Promise<ProcessExit>;
  waitForExit(): Promise<ProcessExit>;
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A process that exited or missed its deadline before it was ready. */
export class ServiceStartError extends Error {
  constructor(
    message: string,
    readonly output: string,
    readonly exit: ProcessExit | null,
  ) {
    super(`${message}\n--- output ---\n${output}`);
    this.name = 'ServiceStartError';
  }
}

/** Path of the entry script for a service name, `demo-swarm`, or a script path. */
export function serviceScript(name: ServiceProcessName): string {
  if ((SERVICE_NAMES as readonly string[]).includes(name)) return resolve(REPO_ROOT, 'services', name, 'dist', 'main.js');
  if (name === 'demo-swarm') return resolve(REPO_ROOT, 'agents', 'demo-swarm', 'dist', 'main.js');
  return isAbsolute(name) ? name : resolve(REPO_ROOT, name);
}

function buildEnv(opts: ServiceProcessOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // nothing from the developer's shell may point the child at a shared collector or namespace
  for (const k of Object.keys(env)) if (k.startsWith('OTEL_')) delete env[k];
  for (const s of SERVICE_NAMES) delete env[`${s.toUpperCase().replace(/-/g, '_')}_PORT`];
  Object.assign(env, {
    HTTP_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    SWARM_NAMESPACE: opts.namespace,
    NATS_URL: opts.natsUrl ?? testNatsUrl(),
    LOG_LEVEL: 'warn',
    SHUTDOWN_GRACE_MS: '2000',
    // a killed singleton (coordinator, allocator, resolver) is replaced after 1 s, not 3
    LEADER_LEASE_TTL_MS: '1000',
  });
  if (opts.databaseUrl !== undefined) env.DATABASE_URL = opts.databaseUrl;
  if (opts.otlpEndpoint !== undefined) env.OTEL_EXPORTER_OTLP_ENDPOINT = opts.otlpEndpoint;
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/**
 * Spawns `node <script>` for a service with HTTP_PORT=0, HTTP_HOST=127.0.0.1, the namespace,
 * database and NATS of the test, and LOG_LEVEL=warn (overridable through `env`). Resolves
 * once the process logs its `"event":"ready"` JSON line; rejects with the captured output when
 * it exits first or misses the deadline (the process is then killed).
 */
export async function startServiceProcess(name: ServiceProcessName, opts: ServiceProcessOptions): Promise<ServiceProcess> {
  const script = serviceScript(name);
  if (!existsSync(script)) {
    throw new ServiceStartError(`${name}: ${script} does not exist; build first (npx tsc -b tsconfig.build.json)`, '', null);
  }
  const child: ChildProcess = spawn(process.execPath, [script], {
    cwd: REPO_ROOT,
    env: buildEnv(opts),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackChild(child);
  const output = new LineBuffer(opts.keepLines ?? 300);
  let exit: ProcessExit | null = null;
  const exitWaiters: Array<(e: ProcessExit) => void> = [];
  const exited = new Promise<ProcessExit>((res) => exitWaiters.push(res));
  child.on('exit', (code, signal) => {
    exit = { code, signal };
    for (const w of exitWaiters) w(exit);
  });

  const ready = new Promise<{ port: number; url: string }>((resolveReady, rejectReady) => {
    const timeoutMs = opts.readyTimeoutMs ?? 60_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rejectReady(new ServiceStartError(`${name}: not ready within ${timeoutMs} ms`, output.text(), null));
    }, timeoutMs);
    output.attach(child.stdout, (line) => {
      if (!line.startsWith('{')) return;
      try {
        const rec = JSON.parse(line) as { event?: unknown; port?: unknown; url?: unknown };
        if (rec.event === 'ready' && typeof rec.port === 'number') {
          clearTimeout(timer);
          resolveReady({ port: rec.port, url: typeof rec.url === 'string' ? rec.url : `http://127.0.0.1:${rec.port}` });
        }
      } catch {
        /* not a JSON log line */
      }
    });
    output.attach(child.stderr, undefined, '[stderr] ');
    child.on('error', (err) => {
      clearTimeout(timer);
      rejectReady(new ServiceStartError(`${name}: could not spawn: ${err.message}`, output.text(), null));
    });
    void exited.then((e) => {
      clearTimeout(timer);
      // let the pipes flush the last lines before reporting them
      setImmediate(() =>
        rejectReady(new ServiceStartError(`${name}: exited before ready (code ${e.code}, signal ${e.signal})`, output.text(), e)),
      );
    });
  });

  const { port, url } = await ready;
  const waitForExit = (): Promise<ProcessExit> => exited;
  const signalAndWait = async (signal: NodeJS.Signals, graceMs: number): Promise<ProcessExit> => {
    if (exit) return exit;
    child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const forced = new Promise<void>((r) => {
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        r();
      }, graceMs);
    });
    await Promise.race([exited, forced]);
    clearTimeout(timer);
    return exited;
  };
  return {
    name,
    pid: child.pid!,
    port,
    url,
    logs: () => output.all(),
    exited: () => exit !== null,
    stop: (graceMs = 15_000) => signalAndWait('SIGTERM', graceMs),
    kill: () => signalAndWait('SIGKILL', 10_000),
    waitForExit,
  };
}

/** Options of `startMesh`: those of `startServiceProcess`, plus per-service extras. */
export interface MeshOptions extends ServiceProcessOptions {
  /** Which services to start. Default all five. */
  services?: readonly ServiceName[];
  /** Extra env per service (wins over `env`). */
  serviceEnv?: Partial<Record<ServiceName, Record<string, string | undefined>>>;
}

export interface RunningMesh {
  services: Partial<Record<ServiceName, ServiceProcess>>;
  /** `http://127.0.0.1:<gateway port>` (undefined when the gateway was not started). */
  gatewayUrl: string;
  /** Stops every process (SIGTERM, in parallel). */
  stopAll(): Promise<void>;
}

/**
 * Starts the services (default all five) in parallel against one namespace and database.
 * When one fails, the others are stopped and the first failure is thrown.
 */
export async function startMesh(opts: MeshOptions): Promise<RunningMesh> {
  const names = opts.services ?? SERVICE_NAMES;
  const results = await Promise.allSettled(
    names.map((n) => startServiceProcess(n, { ...opts, env: { ...opts.env, ...opts.serviceEnv?.[n] } })),
  );
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  const stopAll = async (): Promise<void> => {
    await Promise.all(started.map((p) => p.stop()));
  };
  if (failed) {
    await stopAll();
    throw failed.reason;
  }
  const services: Partial<Record<ServiceName, ServiceProcess>> = {};
  for (const p of started) services[p.name as ServiceName] = p;
  return { services, gatewayUrl: services.gateway?.url ?? '', stopAll };
}
