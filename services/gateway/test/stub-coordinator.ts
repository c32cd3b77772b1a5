import {
  AgentCommands,
  type CommandDefinition,
  DeadLetterCommands,
  NotFoundError,
  type Priority,
  QueueCommands,
  type SubmitTaskDto,
  type SwarmError,
  TaskCommands,
  type TaskDto,
  type TaskState,
} from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import { traceIdOf } from '@swarm-mesh/telemetry';
import { agentFixture, deadLetterFixture, queueFixture, taskFixture } from './fixtures';

/** One command the stub received (validated by the real contract classes). */
export interface StubCall {
  command: string;
  body: Record<string, unknown>;
  traceId: string | undefined;
}

/** The union of the fields the stub reads from coordinator commands. */
export interface StubRequest {
  tenantId: string;
  taskId: string;
  agentId: string;
  deadLetterId: string;
  tasks: SubmitTaskDto[];
  task: SubmitTaskDto;
  state?: TaskState;
  priority: Priority;
  action: string;
}
type Handler = (req: StubRequest) => unknown;
type AnyCommand = CommandDefinition<object, object>;

/**
 * A fake coordinator on the real broker: answers every task, agent, dead-letter and queue command
 * of its namespace with canned data derived from the request, and records what it received.
 * Tasks and agents of tenant `default` exist; any other tenant gets *_NOT_FOUND, as the real
 * coordinator answers for another tenant's ids.
 */
export class StubCoordinator {
  readonly calls: StubCall[] = [];
  /** Item counts of the tasks.create_many messages received (single submits a gateway gathered). */
  readonly gathered: number[] = [];
  private readonly overrides = new Map<string, Handler>();
  private running = false;

  constructor(private readonly bus: MeshBus) {}

  private readonly defaults: Array<[AnyCommand, Handler]> = [
    [
      TaskCommands.submit,
      (r) => ({
        tasks: r.tasks.map((t) => {
          const f = taskFixture(r.tenantId, {}, t);
          return {
            id: f.id,
            state: f.state,
            capability: f.capability,
            priority: f.priority,
            idempotencyKey: f.idempotencyKey ?? null,
            traceId: f.traceId ?? null,
            createdAt: f.createdAt,
          };
        }),
      }),
    ],
    [TaskCommands.create, (r) => taskFixture(r.tenantId, {}, r.task)],
    [TaskCommands.get, (r) => this.ownTask(r, {})],
    [TaskCommands.list, (r) => ({ items: [taskFixture(r.tenantId, r.state ? { state: r.state } : {})], nextCursor: 'c2' })],
    [TaskCommands.cancel, (r) => this.ownTask(r, { state: 'cancelled' })],
    [TaskCommands.setPriority, (r) => this.ownTask(r, { priority: r.priority })],
    [AgentCommands.list, (r) => ({ items: [agentFixture(r.tenantId, 'fetcher-1')], nextCursor: null })],
    [AgentCommands.get, (r) => this.ownAgent(r, {})],
    [
      AgentCommands.errors,
      (r) => {
        this.ownAgent(r, {});
        return {
          items: [
            {
              taskId: '5d7f1a2e-8c1b-4c59-9b1e-0a6a3c2b1d10',
              capability: 'data.fetch',
              attempt: 1,
              outcome: 'failed',
              error: { message: 'boom', retryable: true },
              at: '2025-01-01T00:00:00.000Z',
            },
          ],
        };
      },
    ],
    [AgentCommands.control, (r) => this.ownAgent(r, { state: r.action === 'drain' ? 'draining' : 'healthy' })],
    [
      DeadLetterCommands.list,
      (r) => ({ items: [deadLetterFixture(r.tenantId, '9b2f0c4e-1d5a-4e8b-a7c3-2f6d8e0b1a92')], nextCursor: null }),
    ],
    [
      DeadLetterCommands.get,
      (r) => {
        if (r.tenantId !== 'default') throw new NotFoundError('dead-letter', r.deadLetterId);
        return deadLetterFixture(r.tenantId, r.deadLetterId);
      },
    ],
    [
      DeadLetterCommands.replay,
      (r) => {
        if (r.tenantId !== 'default') throw new NotFoundError('dead-letter', r.deadLetterId);
        return taskFixture(r.tenantId, { state: 'queued' });
      },
    ],
    [QueueCommands.depths, () => ({ items: [queueFixture('data.fetch'), queueFixture('content.write')] })],
  ];

  start(): void {
    if (this.running) return;
    this.running = true;
    // single submits a gateway gathers: each item is answered like its own tasks.create
    this.bus.handle(TaskCommands.createMany, async (req, ctx) => {
      this.gathered.push(req.items.length);
      const items = await Promise.all(
        req.items.map(async (item) => {
          try {
            const traceId = traceIdOf(item.traceparent) ?? ctx.traceId;
            return { task: (await this.answer(TaskCommands.create, item as unknown as StubRequest, traceId)) as TaskDto };
          } catch (err) {
            return { error: (err as SwarmError).toWire() };
          }
        }),
      );
      return { items };
    });
    for (const [def] of this.defaults) {
      this.bus.handle(def, (raw, ctx) => this.answer(def, raw as StubRequest, ctx.traceId));
    }
  }

  private async answer(def: AnyCommand, req: StubRequest, traceId: string | undefined): Promise<object> {
    this.calls.push({ command: def.name, body: JSON.parse(JSON.stringify(req)) as Record<string, unknown>, traceId });
    const override = this.overrides.get(def.name);
    if (override) {
      this.overrides.delete(def.name);
      return (await override(req)) as object;
    }
    const fallback = this.defaults.find(([d]) => d === def)![1];
    return fallback(req) as object;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.bus.stopHandling();
  }

  /** The next request of `def` is answered by `handler` (which may throw a SwarmError). */
  once(def: AnyCommand, handler: Handler): void {
    this.overrides.set(def.name, handler);
  }

  last(): StubCall | undefined {
    return this.calls[this.calls.length - 1];
  }

  private ownTask(r: StubRequest, overrides: Record<string, unknown>): unknown {
    if (r.tenantId !== 'default') throw new NotFoundError('task', r.taskId);
    return taskFixture(r.tenantId, { id: r.taskId, ...overrides });
  }

  private ownAgent(r: StubRequest, overrides: Record<string, unknown>): unknown {
    if (r.tenantId !== 'default') throw new NotFoundError('agent', r.agentId);
    return agentFixture(r.tenantId, r.agentId, overrides);
  }
}
