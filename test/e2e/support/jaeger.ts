/**
 * A real Jaeger v2 for tests: the pinned binary (scripts/tools.sh builds it from the Go module
 * proxy once per machine), in-memory storage, OTLP/HTTP in and the query HTTP API out, on free
 * loopback ports, with its internal telemetry off (no fixed ports). Reads traces back through the
 * same HTTP API the Jaeger UI uses (`/api/traces`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, LineBuffer } from '@swarm-mesh/testing';
import { toolPath } from '../../deploy/support/tools';

/** A span as the Jaeger query API returns it. */
export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: Array<{ refType: 'CHILD_OF' | 'FOLLOWS_FROM'; traceID: string; spanID: string }>;
  tags: Array<{ key: string; type: string; value: unknown }>;
  processID: string;
  startTime: number;
  duration: number;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

export interface Jaeger {
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT (spans go to `/v1/traces`). */
  readonly otlpUrl: string;
  /** Base URL of the query service (UI and `/api/...`). */
  readonly queryUrl: string;
  readonly version: string;
  /** The trace, or undefined while Jaeger does not know it. */
  trace(traceId: string): Promise<JaegerTrace | undefined>;
  /** `/api/traces?service=…&tags=…`: traces with a span of `service` carrying every tag (all of its traces without tags). */
  search(service: string, tags?: Record<string, string>, limit?: number): Promise<JaegerTrace[]>;
  /** Names of the services Jaeger has seen. */
  services(): Promise<string[]>;
  logs(): string[];
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function config(p: { otlp: number; http: number; grpc: number; health: number }): string {
  return `service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: none
    logs:
      level: warn
extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:${p.health}
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:${p.http}
    grpc:
      endpoint: 127.0.0.1:${p.grpc}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${p.otlp}
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`;
}

async function getJson<T>(url: string): Promise<{ status: number; body: T | undefined }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as T };
  } catch {
    return { status: res.status, body: undefined };
  }
}

async function startOnce(bin: string, dir: string): Promise<Jaeger> {
  const ports = { otlp: await freePort(), http: await freePort(), grpc: await freePort(), health: await freePort() };
  const file = join(dir, 'config.yaml');
  writeFileSync(file, config(ports));
  const output = new LineBuffer(200);
  const child: ChildProcess = spawn(bin, ['--config', file], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', kill);
  output.attach(child.stdout);
  output.attach(child.stderr, undefined, '[stderr] ');
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const queryUrl = `http://127.0.0.1:${ports.http}`;
  try {
    await eventually(
      async () => {
        if (exited) throw new Error(`jaeger exited:\n${output.text()}`);
        const health = await fetch(`http://127.0.0.1:${ports.health}/status`, { signal: AbortSignal.timeout(1_000) });
        const services = await fetch(`${queryUrl}/api/services`, { signal: AbortSignal.timeout(1_000) });
        return health.status === 200 && services.status === 200;
      },
      { timeoutMs: 30_000, intervalMs: 100, description: 'jaeger healthy' },
    );
  } catch (err) {
    kill();
    await exit;
    throw err;
  }
  const versionLine = output.all().find((l) => l.includes('git-version=')) ?? '';
  return {
    otlpUrl: `http://127.0.0.1:${ports.otlp}`,
    queryUrl,
    version: /git-version=([^,\s]*)/.exec(versionLine)?.[1] ?? 'unknown',
    async trace(traceId) {
      const r = await getJson<{ data?: JaegerTrace[] }>(`${queryUrl}/api/traces/${traceId}`);
      if (r.status === 404) return undefined;
      if (r.status !== 200) throw new Error(`GET /api/traces/${traceId}: ${r.status}`);
      return r.body?.data?.[0];
    },
    async search(service, tags = {}, limit = 20) {
      const q = new URLSearchParams({ service, limit: String(limit), lookback: '1h' });
      if (Object.keys(tags).length > 0) q.set('tags', JSON.stringify(tags));
      const r = await getJson<{ data?: JaegerTrace[] }>(`${queryUrl}/api/traces?${q.toString()}`);
      if (r.status !== 200) throw new Error(`GET /api/traces?${q.toString()}: ${r.status}`);
      return r.body?.data ?? [];
    },
    async services() {
      const r = await getJson<{ data?: string[] }>(`${queryUrl}/api/services`);
      return r.body?.data ?? [];
    },
    logs: () => output.all(),
    async stop() {
      process.off('exit', kill);
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(kill, 5_000);
        await exit;
        clearTimeout(timer);
      }
    },
  };
}

/**
 * Starts Jaeger (installing the pinned binary first when this machine lacks it). Ports are picked
 * free just before the start; a lost race (another process took one) is retried with new ports.
 */
export async function startJaeger(): Promise<Jaeger> {
  const bin = toolPath('jaeger');
  const dir = mkdtempSync(join(tmpdir(), 'swarm-jaeger-'));
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      const j = await startOnce(bin, dir);
      const stop = j.stop;
      return {
        ...j,
        stop: async () => {
          await stop();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      lastError = err;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastError;
}

/** Service name of a span. */
export const serviceOf = (t: JaegerTrace, s: JaegerSpan): string => t.processes[s.processID]?.serviceName ?? '';

/** A span's tag value. */
export const tagOf = (s: JaegerSpan, key: string): unknown => s.tags.find((t) => t.key === key)?.value;

/** The CHILD_OF parent span id ('' for a root). */
export const parentOf = (s: JaegerSpan): string => s.references.find((r) => r.refType === 'CHILD_OF')?.spanID ?? '';
