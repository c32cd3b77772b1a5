/**
 * Harness of the REST end-to-end suites: a gateway and a coordinator process (built `dist/`) in a
 * fresh namespace and temporary database, SDK agents in this process, and small helpers to call
 * the public REST API as a black-box user would (raw `fetch`, or the SDK's SwarmClient).
 * Build first: `npx tsc -b tsconfig.build.json`.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Agent, type AgentOptions, createLogger, SwarmClient, type TaskContext } from '@swarm-mesh/agent-sdk';
import type { TaskDto } from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import {
  cleanupNamespace,
  connectTestBus,
  createTestDatabase,
  eventually,
  randomNamespace,
  type ServiceProcess,
  startServiceProcess,
  type TestDatabase,
} from '@swarm-mesh/testing';
import { Client } from 'pg';

/** The bootstrap admin key given to the gateway (SWARM_ADMIN_API_KEY); tenant `default`. */
export const ADMIN_KEY = 'sm_e2e_admin_key_for_end_to_end_tests_only_0123456789';

/** Coordinator timings shrunk for tests (each is an env override in ms). */
export const FAST_COORDINATOR_ENV: Record<string, string> = {
  AGENT_HEARTBEAT_INTERVAL_MS: '100',
  AGENT_DEAD_AFTER_MS: '3000',
  DISPATCH_ACK_TIMEOUT_MS: '3000',
  SWEEP_INTERVAL_MS: '20',
  DEFAULT_BACKOFF_MS: '50,100,200',
  DEFAULT_BACKOFF_JITTER: '0',
  AGENT_FLUSH_INTERVAL_MS: '200',
  BREAKER_COOLDOWN_MS: '500',
};

export type Handler = (ctx: TaskContext) => Promise<Record<string, unknown>> | Record<string, unknown>;

export interface E2eMeshOptions {
  /** Extra coordinator env (wins over FAST_COORDINATOR_ENV). */
  coordinatorEnv?: Record<string, string>;
  gatewayEnv?: Record<string, string>;
  /** Also start resource-allocator, conflict-resolver and performance-optimizer (for a fully `ok` health report). */
  allServices?: boolean;
}

/** An HTTP answer: status, parsed JSON body (undefined when empty or not JSON), headers. */
export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

/** The error body every 4xx/5xx carries. */
export interface ApiErrorBody {
  code: string;
  message: string;
  details: Record<string, unknown> & { violations?: Array<{ path: string; message: string }> };
}

export interface RequestOptions {
  /** API key; default ADMIN_KEY; `null` sends none. */
  key?: string | null;
  /** Raw body text (sent as is with content-type application/json). */
  raw?: string;
  headers?: Record<string, string>;
}

/** A gateway + coordinator in their own namespace and database, with agents run in this process. */
export class E2eMesh {
  gateway!: ServiceProcess;
  coordinator!: ServiceProcess;
  /** Admin connection to the test database (to prove what was, or was not, written). */
  pg!: Client;
  /** SwarmClient with the admin key. */
  client!: SwarmClient;
  readonly agents: Agent[] = [];
  private bus!: MeshBus;
  private db!: TestDatabase;
  private readonly extraProcesses: ServiceProcess[] = [];

  private constructor(readonly namespace: string) {}

  static async start(opts: E2eMeshOptions = {}): Promise<E2eMesh> {
    const mesh = new E2eMesh(randomNamespace('e'));
    mesh.db = await createTestDatabase();
    mesh.pg = new Client({ connectionString: mesh.db.url });
    await mesh.pg.connect();
    mesh.bus = await connectTestBus({ namespace: mesh.namespace, identity: 'client:e2e' });
    const common = { namespace: mesh.namespace, databaseUrl: mesh.db.url };
    const others = opts.allServices ? (['resource-allocator', 'conflict-resolver', 'performance-optimizer'] as const) : [];
    const started = await Promise.allSettled([
      startServiceProcess('coordinator', { ...common, env: { ...FAST_COORDINATOR_ENV, ...opts.coordinatorEnv } }),
      startServiceProcess('gateway', { ...common, env: { SWARM_ADMIN_API_KEY: ADMIN_KEY, ...opts.gatewayEnv } }),
      ...others.map((name) => startServiceProcess(name, common)),
    ]);
    const [coordinator, gateway, ...rest] = started.map((r) => (r.status === 'fulfilled' ? r.value : undefined));
    mesh.extraProcesses.push(...rest.filter((p): p is ServiceProcess => p !== undefined));
    if (coordinator) mesh.coordinator = coordinator;
    if (gateway) mesh.gateway = gateway;
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await mesh.stop();
      throw failed.reason;
    }
    mesh.client = new SwarmClient({ url: mesh.url, apiKey: ADMIN_KEY, retries: 0, env: {} });
    return mesh;
  }

  /** `http://127.0.0.1:<gateway port>` */
  get url(): string {
    return this.gateway.url;
  }

  get databaseUrl(): string {
    return this.db.url;
  }

  /** Starts an SDK agent in this process (namespace of the mesh, short grace period). */
  async agent(options: Omit<AgentOptions, 'namespace'>, handlers: Record<string, Handler>): Promise<Agent> {
    const agent = new Agent({
      shutdownGraceMs: 1000,
      logger: createLogger({ service: `agent:${options.id}`, level: 'error' }),
      ...options,
      namespace: this.namespace,
    });
    for (const [cap, h] of Object.entries(handlers)) agent.handle(cap, h);
    await agent.start();
    this.agents.push(agent);
    return agent;
  }

  /** Stops agents (all by default) and forgets them. */
  async stopAgents(agents: Agent[] = [...this.agents]): Promise<void> {
    for (const a of agents) {
      const i = this.agents.indexOf(a);
      if (i >= 0) this.agents.splice(i, 1);
    }
    await Promise.all(agents.map((a) => a.stop().catch(() => {})));
  }

  /** Starts another process (e.g. `demo-swarm`) in this mesh's namespace; stopped in stop(). */
  async process(name: string, env: Record<string, string> = {}): Promise<ServiceProcess> {
    const p = await startServiceProcess(name, { namespace: this.namespace, databaseUrl: this.db.url, env });
    this.extraProcesses.push(p);
    return p;
  }

  /** One REST call under /api/v1 (or an absolute path starting with /api). */
  async api<T = unknown>(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
    const key = opts.key === undefined ? ADMIN_KEY : opts.key;
    if (key !== null) headers.authorization = `Bearer ${key}`;
    let payload: string | undefined;
    if (opts.raw !== undefined) payload = opts.raw;
    else if (body !== undefined) payload = JSON.stringify(body);
    if (payload !== undefined) headers['content-type'] ??= 'application/json';
    const url = `${this.url}${path.startsWith('/api') ? path : `/api/v1${path}`}`;
    const res = await fetch(url, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  /** GET /tasks/{id} (throws on a non-200). */
  async task(id: string): Promise<TaskDto> {
    const r = await this.api<TaskDto>('GET', `/tasks/${id}`);
    if (r.status !== 200) throw new Error(`GET /tasks/${id}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  /** Polls GET /tasks/{id} until `pred` holds; returns the task. */
  async waitTask(id: string, pred: (t: TaskDto) => boolean, description: string, timeoutMs = 20_000): Promise<TaskDto> {
    let last: TaskDto | undefined;
    return eventually(
      async () => {
        last = await this.task(id);
        return pred(last) ? last : undefined;
      },
      { timeoutMs, intervalMs: 50, description: `task ${id}: ${description} (last state ${last?.state})` },
    );
  }

  /** Polls until the task is in `state`. */
  waitState(id: string, state: string, timeoutMs = 20_000): Promise<TaskDto> {
    return this.waitTask(id, (t) => t.state === state, `state ${state}`, timeoutMs);
  }

  /** Rows of coordinator.tasks (all tenants). */
  async taskRows(): Promise<number> {
    const r = await this.pg.query<{ n: string }>('SELECT count(*) AS n FROM coordinator.tasks');
    return Number(r.rows[0]!.n);
  }

  /** Rows of coordinator.dead_letters. */
  async deadLetterRows(): Promise<number> {
    const r = await this.pg.query<{ n: string }>('SELECT count(*) AS n FROM coordinator.dead_letters');
    return Number(r.rows[0]!.n);
  }

  /**
   * Stores an API key for `tenantId` in gateway.api_keys the way key management does
   * (`sm_<8-char prefix>_<secret>`, `sha256:<hex>` hash) and returns the key.
   */
  async createApiKey(tenantId: string, role: 'viewer' | 'operator' | 'admin' = 'admin'): Promise<string> {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
    const prefix = [...randomBytes(8)].map((b) => alphabet[b % alphabet.length]).join('');
    const key = `sm_${prefix}_${randomBytes(24).toString('base64url')}`;
    const hash = `sha256:${createHash('sha256').update(key).digest('hex')}`;
    await this.pg.query(
      'INSERT INTO gateway.api_keys (id, tenant_id, name, role, prefix, key_hash, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [randomUUID(), tenantId, `e2e ${tenantId}`, role, prefix, hash, 'e2e'],
    );
    return key;
  }

  async stop(): Promise<void> {
    await this.stopAgents();
    await Promise.all(this.extraProcesses.map((p) => p.stop(5_000).catch(() => {})));
    await Promise.all([this.gateway?.stop().catch(() => {}), this.coordinator?.stop().catch(() => {})]);
    if (this.bus) {
      await cleanupNamespace(this.bus).catch(() => {});
      await this.bus.close().catch(() => {});
    }
    await this.pg?.end().catch(() => {});
    await this.db?.drop().catch(() => {});
  }
}

/** A gate a handler waits on until the test opens it. */
export interface Gate {
  promise: Promise<void>;
  open(): void;
  readonly opened: boolean;
}

export function gate(): Gate {
  let open!: () => void;
  let opened = false;
  const promise = new Promise<void>((r) => (open = r));
  return {
    promise,
    open: () => {
      opened = true;
      open();
    },
    get opened() {
      return opened;
    },
  };
}

/** Resolves when the signal fires (or at once if it already has). */
export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
