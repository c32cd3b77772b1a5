/**
 * Harness of the resource suites (issue #5): the E2eMesh (gateway + coordinator) plus a
 * resource allocator and a conflict resolver in the same namespace and database, with every
 * resource timing shrunk (leases, slack, snapshots, cooldowns) — no test waits for a default.
 */
import type { TaskDto } from '@swarm-mesh/contracts';
import { eventually } from '@swarm-mesh/testing';
import { E2eMesh } from './e2e-mesh';

export const FAST_RESOURCES_ENV: Record<string, string> = {
  RESOURCES_LEASE_TTL_MS: '300',
  RESOURCES_SLACK_MS: '200',
  RESOURCES_REPORT_INTERVAL_MS: '50',
  RESOURCES_HOLDER_TTL_MS: '3000',
  RESOURCES_SNAPSHOT_INTERVAL_MS: '100',
  RESOURCES_POLICY_REFRESH_MS: '500',
};

export const FAST_RESOLVER_ENV: Record<string, string> = {
  CONFLICTS_PREEMPT_COOLDOWN_MS: '500',
  CONFLICTS_DEDUPE_MS: '1000',
};

/** `otlpEndpoint`: the coordinator and the allocator export their spans there. */
export async function startResourcesMesh(otlpEndpoint?: string): Promise<E2eMesh> {
  const otel: Record<string, string> = otlpEndpoint ? { OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint } : {};
  const mesh = await E2eMesh.start({
    coordinatorEnv: {
      ...otel,
      // aging must not reorder LOW above CRITICAL during a test
      AGING_STEP_MS: '600000',
      RESOURCES_REPORT_INTERVAL_MS: '50',
      RESOURCES_IDLE_POLL_MS: '100',
    },
  });
  try {
    await Promise.all([
      mesh.process('resource-allocator', { ...FAST_RESOURCES_ENV, ...otel }),
      mesh.process('conflict-resolver', FAST_RESOLVER_ENV),
    ]);
  } catch (err) {
    await mesh.stop();
    throw err;
  }
  return mesh;
}

/** POST that must answer `status`; returns the body. */
export async function must<T>(mesh: E2eMesh, method: string, path: string, body: unknown, status: number, key?: string): Promise<T> {
  const r = await mesh.api<T>(method, path, body, key !== undefined ? { key } : {});
  if (r.status !== status) throw new Error(`${method} ${path}: expected ${status}, got ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Submits tasks for the key's tenant; returns their ids. */
export async function submit(mesh: E2eMesh, tasks: unknown[], key?: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < tasks.length; i += 500) {
    const r = await must<{ tasks: Array<{ id: string }> }>(mesh, 'POST', '/tasks/batch', { tasks: tasks.slice(i, i + 500) }, 201, key);
    ids.push(...r.tasks.map((t) => t.id));
  }
  return ids;
}

/**
 * Waits until every task is terminal (polling the coordinator's table: per-key REST rate limits
 * would throttle a poll of many tasks), then reads each once through the API.
 */
export async function settle(mesh: E2eMesh, ids: string[], key?: string, timeoutMs = 60_000): Promise<TaskDto[]> {
  let done = 0;
  await eventually(
    async () => {
      const r = await mesh.pg.query<{ n: string }>(
        `SELECT count(*) AS n FROM coordinator.tasks WHERE id = ANY($1::uuid[]) AND state IN ('succeeded', 'failed', 'cancelled', 'dead_lettered', 'timed_out')`,
        [ids],
      );
      done = Number(r.rows[0]!.n);
      return done === ids.length;
    },
    { timeoutMs, intervalMs: 100, description: `${ids.length} tasks to finish (${done} did)` },
  );
  const out: TaskDto[] = [];
  for (const id of ids) {
    const r = await mesh.api<TaskDto>('GET', `/tasks/${id}`, undefined, key !== undefined ? { key } : {});
    if (r.status !== 200) throw new Error(`GET /tasks/${id}: ${r.status} ${JSON.stringify(r.body)}`);
    out.push(r.body);
  }
  return out;
}

/** Reads one counter of a Prometheus text exposition. */
export function metric(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${want}}`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

export function sleepMs(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(new Error('aborted'));
      },
      { once: true },
    );
  });
}
