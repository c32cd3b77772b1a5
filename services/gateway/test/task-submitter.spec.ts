import { type CommandDefinition, ServiceUnavailableError, TaskCommands, type TaskDto, TimeoutError } from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import type { ServiceConfig } from '@swarm-mesh/service-kit';
import { silentLogger } from '@swarm-mesh/telemetry';
import type { GatewayEnv } from '../src/gateway.env';
import { TaskSubmitter } from '../src/tasks/task-submitter';

type Sent = { command: string; body: Record<string, unknown> };

/** A bus that answers like a coordinator (or like an older one that does not know create_many). */
function fakeBus(opts: { knowsCreateMany: boolean; fail?: Error; maxItems?: number }): { bus: MeshBus; sent: Sent[] } {
  const sent: Sent[] = [];
  const task = (n: unknown): Partial<TaskDto> => ({ id: `t-${String(n)}`, state: 'queued' });
  const bus = {
    request: async (def: CommandDefinition<object, object>, body: Record<string, unknown>) => {
      sent.push({ command: def.name, body });
      await new Promise((r) => setTimeout(r, 5));
      if (opts.fail) throw opts.fail;
      if (def === TaskCommands.createMany) {
        if (!opts.knowsCreateMany) throw new ServiceUnavailableError(def.name, { reason: 'no responders' });
        const items = body.items as Array<{ task: { input: { n: number } } }>;
        // what nats.js reports for a message over max_payload (nothing is sent)
        if (items.length > (opts.maxItems ?? Infinity)) throw new ServiceUnavailableError(def.name, { reason: 'MAX_PAYLOAD_EXCEEDED' });
        return { items: items.map((i) => ({ task: task(i.task.input.n) })) };
      }
      return task((body.task as { input: { n: number } }).input.n);
    },
  } as unknown as MeshBus;
  return { bus, sent };
}

const config = (inflight: number): ServiceConfig<GatewayEnv> =>
  ({ extra: { GATEWAY_SUBMIT_INFLIGHT: inflight } }) as unknown as ServiceConfig<GatewayEnv>;

const submitAll = (s: TaskSubmitter, n: number): Promise<Array<Partial<TaskDto>>> =>
  Promise.all(Array.from({ length: n }, (_, i) => s.create('default', { capability: 'data.fetch', input: { n: i } }, 10)));

describe('TaskSubmitter (single submits to the coordinator)', () => {
  it('sends what arrives while a message is in flight together, and answers each caller with its own task', async () => {
    const { bus, sent } = fakeBus({ knowsCreateMany: true });
    const s = new TaskSubmitter(bus, config(1), silentLogger);
    const tasks = await submitAll(s, 10);
    expect(tasks.map((t) => t.id)).toEqual(Array.from({ length: 10 }, (_, i) => `t-${i}`));
    expect(sent.every((m) => m.command === TaskCommands.createMany.name)).toBe(true);
    expect(sent.length).toBeLessThan(10);
    await s.onModuleDestroy();
  });

  it('GATEWAY_SUBMIT_INFLIGHT=0 sends every submit alone with tasks.create', async () => {
    const { bus, sent } = fakeBus({ knowsCreateMany: true });
    const s = new TaskSubmitter(bus, config(0), silentLogger);
    await submitAll(s, 3);
    expect(sent.map((m) => m.command)).toEqual(Array(3).fill(TaskCommands.create.name));
    await s.onModuleDestroy();
  });

  it('falls back to tasks.create when no coordinator answers create_many (an older release), and stays there', async () => {
    const { bus, sent } = fakeBus({ knowsCreateMany: false });
    const s = new TaskSubmitter(bus, config(2), silentLogger);
    const tasks = await submitAll(s, 4);
    expect(tasks.map((t) => t.id)).toEqual(['t-0', 't-1', 't-2', 't-3']);
    const later = await submitAll(s, 2);
    expect(later.map((t) => t.id)).toEqual(['t-0', 't-1']);
    // after the first refusal, nothing more is tried with create_many (until the recheck interval)
    const manyAfter = sent
      .slice(sent.findIndex((m) => m.command === TaskCommands.create.name))
      .filter((m) => m.command === TaskCommands.createMany.name);
    expect(manyAfter.length).toBeLessThanOrEqual(1);
    expect(sent.slice(-2).map((m) => m.command)).toEqual([TaskCommands.create.name, TaskCommands.create.name]);
    await s.onModuleDestroy();
  });

  it('a gathered message NATS refuses as too large goes again in halves; every caller gets its task', async () => {
    const { bus, sent } = fakeBus({ knowsCreateMany: true, maxItems: 3 });
    const s = new TaskSubmitter(bus, config(1), silentLogger);
    const first = s.create('default', { capability: 'data.fetch', input: { n: 0 } }, 10);
    const rest = submitAll(s, 10);
    await first;
    const tasks = await rest;
    expect(tasks.map((t) => t.id)).toEqual(Array.from({ length: 10 }, (_, i) => `t-${i}`));
    const sizes = sent.map((m) => (m.body.items as unknown[]).length);
    expect(Math.max(...sizes)).toBeGreaterThan(3); // the refused one
    await s.onModuleDestroy();
  });

  it('a failed message fails each of its callers with the same coded error', async () => {
    const { bus } = fakeBus({ knowsCreateMany: true, fail: new TimeoutError(TaskCommands.createMany.name, 30_000) });
    const s = new TaskSubmitter(bus, config(2), silentLogger);
    const outcomes = await Promise.allSettled(Array.from({ length: 3 }, () => s.create('default', { capability: 'data.fetch' }, 2)));
    expect(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as { code: string }).code : 'ok'))).toEqual([
      'TIMEOUT',
      'TIMEOUT',
      'TIMEOUT',
    ]);
    await s.onModuleDestroy();
  });
});
