import { Agent, type AgentOptions, type TaskContext } from '@swarm-mesh/agent-sdk';
import {
  EventMessages,
  type MeshEventDto,
  STREAMS,
  type SubmitTaskDto,
  type SubmittedTaskDto,
  TaskCommands,
  type TaskDto,
} from '@swarm-mesh/contracts';
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
import { AckPolicy, DeliverPolicy, type NatsConnection } from 'nats';

/** Timings shrunk for tests (TESTING.md: no test waits for a default of seconds). */
export const FAST_COORDINATOR_ENV: Record<string, string> = {
  AGENT_HEARTBEAT_INTERVAL_MS: '100',
  AGENT_DEAD_AFTER_MS: '1500',
  DISPATCH_ACK_TIMEOUT_MS: '3000',
  SWEEP_INTERVAL_MS: '20',
  DEFAULT_BACKOFF_MS: '50,100,200',
  AGENT_FLUSH_INTERVAL_MS: '200',
  BREAKER_COOLDOWN_MS: '500',
  RESULTS_ACK_WAIT_MS: '1000',
};

export interface TaskMeshOptions {
  natsUrl?: string;
  coordinatorEnv?: Record<string, string>;
  withGateway?: boolean;
  gatewayEnv?: Record<string, string>;
}

/**
 * A coordinator process (and optionally a gateway) in a fresh namespace and database, a test
 * bus to talk to it, and helpers to run SDK agents in this process.
 */
export class TaskMesh {
  coordinator!: ServiceProcess;
  gateway: ServiceProcess | undefined;
  bus!: MeshBus;
  readonly agents: Agent[] = [];
  private db!: TestDatabase;
  private constructor(
    readonly namespace: string,
    private readonly opts: TaskMeshOptions,
  ) {}

  static async start(opts: TaskMeshOptions = {}): Promise<TaskMesh> {
    const mesh = new TaskMesh(randomNamespace(), opts);
    mesh.db = await createTestDatabase();
    mesh.bus = await connectTestBus({
      namespace: mesh.namespace,
      identity: 'gateway',
      // as the gateway does: the coordinator serves commands a moment after its ready line (once it holds its lease)
      awaitResponderMs: 5000,
      ...(opts.natsUrl ? { servers: opts.natsUrl } : {}),
    });
    await mesh.startCoordinator();
    if (opts.withGateway) {
      mesh.gateway = await startServiceProcess('gateway', {
        namespace: mesh.namespace,
        databaseUrl: mesh.db.url,
        ...(opts.natsUrl ? { natsUrl: opts.natsUrl } : {}),
        env: { SWARM_ADMIN_API_KEY: ADMIN_KEY, ...(opts.gatewayEnv ?? {}) },
      });
    }
    return mesh;
  }

  get databaseUrl(): string {
    return this.db.url;
  }

  async startCoordinator(): Promise<ServiceProcess> {
    this.coordinator = await startServiceProcess('coordinator', {
      namespace: this.namespace,
      databaseUrl: this.db.url,
      ...(this.opts.natsUrl ? { natsUrl: this.opts.natsUrl } : {}),
      env: { ...FAST_COORDINATOR_ENV, ...(this.opts.coordinatorEnv ?? {}) },
    });
    return this.coordinator;
  }

  /** Starts an SDK agent in this process with the mesh's namespace. */
  async agent(
    options: Omit<AgentOptions, 'namespace' | 'natsUrl'>,
    handlers: Record<string, (ctx: TaskContext) => Promise<Record<string, unknown>> | Record<string, unknown>>,
  ): Promise<Agent> {
    const agent = new Agent({
      ...options,
      namespace: this.namespace,
      ...(this.opts.natsUrl ? { natsUrl: this.opts.natsUrl } : {}),
      shutdownGraceMs: options.shutdownGraceMs ?? 2000,
    });
    for (const [cap, h] of Object.entries(handlers)) agent.handle(cap, h);
    await agent.start();
    this.agents.push(agent);
    return agent;
  }

  async submit(tasks: SubmitTaskDto[], tenantId = 'default'): Promise<SubmittedTaskDto[]> {
    const out: SubmittedTaskDto[] = [];
    for (let i = 0; i < tasks.length; i += 1000) {
      const r = await this.bus.request(TaskCommands.submit, { tenantId, tasks: tasks.slice(i, i + 1000) }, { timeoutMs: 30_000 });
      out.push(...r.tasks);
    }
    return out;
  }

  get(taskId: string, tenantId = 'default'): Promise<TaskDto> {
    return this.bus.request(TaskCommands.get, { tenantId, taskId });
  }

  /** Waits until every task is in one of `states`; returns them. */
  async waitFor(ids: string[], states: string[] = ['succeeded'], timeoutMs = 60_000): Promise<TaskDto[]> {
    const done = new Map<string, TaskDto>();
    await eventually(
      async () => {
        const pending = ids.filter((id) => !done.has(id));
        for (let i = 0; i < pending.length; i += 50) {
          const chunk = await Promise.all(pending.slice(i, i + 50).map((id) => this.get(id)));
          for (const t of chunk) if (states.includes(t.state)) done.set(t.id, t);
        }
        return done.size === ids.length;
      },
      { timeoutMs, intervalMs: 100, description: `${ids.length} tasks to reach ${states.join('|')} (${done.size} did)` },
    );
    return ids.map((id) => done.get(id)!);
  }

  /** Every task event published on the EVENTS stream so far. */
  async taskEvents(): Promise<MeshEventDto[]> {
    const nc: NatsConnection = this.bus.nc;
    const jsm = await this.bus.jsm();
    const stream = this.bus.name(STREAMS.EVENTS);
    const info = await jsm.streams.info(stream);
    const total = info.state.messages;
    const consumer = await jsm.consumers.add(stream, {
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.All,
      filter_subject: this.bus.subject(EventMessages.tasks.subject),
      inactive_threshold: 30_000_000_000,
    });
    const c = await nc.jetstream().consumers.get(stream, consumer.name);
    const events: MeshEventDto[] = [];
    let seen = 0;
    while (seen < total) {
      const batch = await c.fetch({ max_messages: 500, expires: 1000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        seen = Math.max(seen, m.info.streamSequence);
        const { body } = this.bus.decodeMessage(EventMessages.tasks, m);
        events.push(...body.events);
      }
      if (got === 0) break;
    }
    await jsm.consumers.delete(stream, consumer.name).catch(() => {});
    return events;
  }

  async stop(): Promise<void> {
    await Promise.all(this.agents.splice(0).map((a) => a.stop().catch(() => {})));
    await this.gateway?.stop().catch(() => {});
    await this.coordinator?.stop().catch(() => {});
    await cleanupNamespace(this.bus).catch(() => {});
    await this.bus.close().catch(() => {});
    await this.db.drop().catch(() => {});
  }
}

export const ADMIN_KEY = 'sm_test_admin_key_for_integration_tests_only_0123456789';
