import { TaskError } from '@swarm-mesh/agent-sdk';
import { DeadLetterCommands, TaskCommands } from '@swarm-mesh/contracts';
import { eventually } from '@swarm-mesh/testing';
import { TaskMesh } from './support/task-mesh';

/** Resolvable gate for handlers that must wait for the test. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

describe('task lifecycle (coordinator process, SDK agents, real NATS and Postgres)', () => {
  let mesh: TaskMesh;

  beforeAll(async () => {
    mesh = await TaskMesh.start();
  });

  afterAll(async () => {
    await mesh?.stop();
  });

  it('runs 1,000 tasks over 3 capabilities and 5 agents, each exactly once in final state', async () => {
    const runs = new Map<string, number>();
    const handler = (cap: string) => (ctx: { taskId: string; input: Record<string, unknown> }) => {
      runs.set(ctx.taskId, (runs.get(ctx.taskId) ?? 0) + 1);
      return { cap, echo: ctx.input.n };
    };
    const caps = ['alpha.work', 'beta.work', 'gamma.work'];
    await mesh.agent(
      { id: 'multi-1', domain: 'data', concurrency: 20 },
      { 'alpha.work': handler('alpha.work'), 'beta.work': handler('beta.work') },
    );
    await mesh.agent(
      { id: 'multi-2', domain: 'data', concurrency: 20 },
      { 'beta.work': handler('beta.work'), 'gamma.work': handler('gamma.work') },
    );
    await mesh.agent({ id: 'alpha-1', domain: 'data', concurrency: 10 }, { 'alpha.work': handler('alpha.work') });
    await mesh.agent({ id: 'beta-1', domain: 'data', concurrency: 10 }, { 'beta.work': handler('beta.work') });
    await mesh.agent({ id: 'gamma-1', domain: 'data', concurrency: 10 }, { 'gamma.work': handler('gamma.work') });

    const tasks = Array.from({ length: 1000 }, (_, n) => ({ capability: caps[n % 3]!, input: { n } }));
    const submitted = await mesh.submit(tasks);
    expect(submitted).toHaveLength(1000);
    const done = await mesh.waitFor(submitted.map((t) => t.id));

    for (const [i, t] of done.entries()) {
      expect(t.state).toBe('succeeded');
      expect(t.capability).toBe(caps[i % 3]);
      expect(t.result).toEqual({ cap: caps[i % 3], echo: i });
      expect(t.attempts.filter((a) => a.outcome === 'succeeded')).toHaveLength(1);
    }
    // every task ran (the agents saw it) and was completed exactly once (one success event each)
    expect(runs.size).toBe(1000);
    const succeededEvents = new Map<string, number>();
    await eventually(
      async () => {
        const events = await mesh.taskEvents();
        succeededEvents.clear();
        for (const e of events)
          if (e.type === 'task.succeeded')
            succeededEvents.set(String(e.data.taskId), (succeededEvents.get(String(e.data.taskId)) ?? 0) + 1);
        return succeededEvents.size === 1000;
      },
      { timeoutMs: 20_000, description: 'a task.succeeded event per task' },
    );
    expect([...succeededEvents.values()].every((n) => n === 1)).toBe(true);
    // work was spread over all five agents
    const byAgent = new Set(done.map((t) => t.agentId));
    expect(byAgent.size).toBe(5);
    await Promise.all(mesh.agents.splice(0).map((a) => a.stop()));
  });

  it('starts CRITICAL tasks submitted later before LOW ones submitted earlier, and still finishes every LOW task', async () => {
    const order: string[] = [];
    const release = gate();
    let first = true;
    await mesh.agent(
      { id: 'prio-1', domain: 'content', concurrency: 1 },
      {
        'prio.work': async (ctx) => {
          order.push(String(ctx.input.label));
          if (first) {
            first = false;
            await release.promise; // keep the only slot busy while the backlog builds up
          }
          return {};
        },
      },
    );
    const blocker = await mesh.submit([{ capability: 'prio.work', input: { label: 'blocker' } }]);
    await eventually(async () => (await mesh.get(blocker[0]!.id)).state === 'running', { description: 'blocker running' });
    const lows = await mesh.submit(
      Array.from({ length: 10 }, (_, i) => ({ capability: 'prio.work', priority: 'LOW' as const, input: { label: `low-${i}` } })),
    );
    const crits = await mesh.submit(
      Array.from({ length: 5 }, (_, i) => ({ capability: 'prio.work', priority: 'CRITICAL' as const, input: { label: `crit-${i}` } })),
    );
    release.open();
    await mesh.waitFor([...lows, ...crits].map((t) => t.id));
    expect(order[0]).toBe('blocker');
    expect(order.slice(1, 6).sort()).toEqual(['crit-0', 'crit-1', 'crit-2', 'crit-3', 'crit-4']);
    expect(order.slice(6)).toEqual(Array.from({ length: 10 }, (_, i) => `low-${i}`));
    // events name the priority as REST does (CONTRACT.md's enumeration), not its rank
    const events = await mesh.taskEvents();
    const priorityOf = (id: string): unknown => events.find((e) => e.type === 'task.succeeded' && e.data.taskId === id)?.data.priority;
    expect(priorityOf(crits[0]!.id)).toBe('CRITICAL');
    expect(priorityOf(lows[0]!.id)).toBe('LOW');
    expect(priorityOf(blocker[0]!.id)).toBe('MEDIUM');
    await Promise.all(mesh.agents.splice(0).map((a) => a.stop()));
  });

  it('retries a failing task with backoff, dead-letters it after the last attempt, and replays it once fixed', async () => {
    let broken = true;
    await mesh.agent(
      { id: 'flaky-1', domain: 'quality', concurrency: 2 },
      {
        'flaky.work': (ctx) => {
          if (broken) throw new TaskError(`still broken (attempt ${ctx.attempt})`, { code: 'BROKEN' });
          return { fixed: true, attempt: ctx.attempt };
        },
      },
    );
    const [task] = await mesh.submit([{ capability: 'flaky.work', retry: { maxAttempts: 3, backoffMs: [300, 600], jitter: 0 } }]);
    const [dead] = await mesh.waitFor([task!.id], ['dead_lettered']);
    expect(dead!.attempts).toHaveLength(3);
    expect(dead!.attempts.map((a) => a.outcome)).toEqual(['failed', 'failed', 'failed']);
    expect(dead!.attempts.map((a) => a.error?.code)).toEqual(['BROKEN', 'BROKEN', 'BROKEN']);
    // the recorded times show the backoff: ≥ 300 ms before attempt 2, ≥ 600 ms before attempt 3
    const [a1, a2, a3] = dead!.attempts.map((a) => ({ dispatched: Date.parse(a.dispatchedAt), finished: Date.parse(a.finishedAt!) }));
    expect(a2!.dispatched - a1!.finished).toBeGreaterThanOrEqual(300);
    expect(a3!.dispatched - a2!.finished).toBeGreaterThanOrEqual(600);

    const dls = await mesh.bus.request(DeadLetterCommands.list, { tenantId: 'default' });
    const dl = dls.items.find((d) => d.taskId === task!.id);
    expect(dl).toBeDefined();
    expect(dl!.errors).toHaveLength(3);
    expect(dl!.errors.every((e) => e.message.startsWith('still broken'))).toBe(true);

    broken = false;
    const replayed = await mesh.bus.request(DeadLetterCommands.replay, { tenantId: 'default', deadLetterId: dl!.id, actor: 'test' });
    expect(['queued', 'dispatched', 'running']).toContain(replayed.state);
    const [ok] = await mesh.waitFor([task!.id]);
    expect(ok!.result).toEqual({ fixed: true, attempt: 4 });
    expect(ok!.attempts).toHaveLength(4);
    // a replayed dead letter cannot be replayed twice
    await expect(mesh.bus.request(DeadLetterCommands.replay, { tenantId: 'default', deadLetterId: dl!.id })).rejects.toMatchObject({
      code: 'INVALID_STATE_TRANSITION',
    });
    await Promise.all(mesh.agents.splice(0).map((a) => a.stop()));
  });

  it('cancels a running task: the handler sees its abort signal fire and the task ends cancelled', async () => {
    let aborted: unknown = null;
    const started = gate();
    await mesh.agent(
      { id: 'cancel-1', domain: 'intel', concurrency: 1 },
      {
        'slow.work': async (ctx) => {
          started.open();
          await new Promise<void>((resolve) => {
            ctx.signal.addEventListener('abort', () => {
              aborted = ctx.signal.reason;
              resolve();
            });
          });
          throw ctx.signal.reason;
        },
      },
    );
    const [task] = await mesh.submit([{ capability: 'slow.work' }]);
    await started.promise;
    await eventually(async () => (await mesh.get(task!.id)).state === 'running', { description: 'task running' });
    const cancelled = await mesh.bus.request(TaskCommands.cancel, {
      tenantId: 'default',
      taskId: task!.id,
      reason: 'user changed their mind',
    });
    expect(cancelled.state).toBe('cancelled');
    await eventually(() => aborted !== null, { description: 'abort signal fired in the handler' });
    const final = await mesh.get(task!.id);
    expect(final.state).toBe('cancelled');
    expect(final.attempts[0]!.outcome).toBe('cancelled');
    expect(final.error?.message).toBe('user changed their mind');
    // cancelling again is a clear conflict
    await expect(mesh.bus.request(TaskCommands.cancel, { tenantId: 'default', taskId: task!.id })).rejects.toMatchObject({
      code: 'INVALID_STATE_TRANSITION',
    });
    // the agent's slot came back: a new task runs
    await mesh.agents[0]!.stop();
    mesh.agents.splice(0);
    await mesh.agent({ id: 'cancel-1', domain: 'intel', concurrency: 1 }, { 'slow.work': () => ({ ok: true }) });
    const [next] = await mesh.submit([{ capability: 'slow.work' }]);
    await mesh.waitFor([next!.id]);
    await Promise.all(mesh.agents.splice(0).map((a) => a.stop()));
  });

  it('hands a retried attempt the last checkpoint and the previous errors', async () => {
    const seen: Array<{ attempt: number; checkpoint: unknown; errors: number }> = [];
    await mesh.agent(
      { id: 'ckpt-1', domain: 'data', concurrency: 1 },
      {
        'ckpt.work': async (ctx) => {
          seen.push({ attempt: ctx.attempt, checkpoint: ctx.checkpointData, errors: ctx.previousErrors.length });
          if (ctx.attempt === 1) {
            await ctx.checkpoint({ page: 7 });
            throw new TaskError('crashed after page 7');
          }
          return { resumedFrom: ctx.checkpointData?.page };
        },
      },
    );
    const [task] = await mesh.submit([{ capability: 'ckpt.work', retry: { maxAttempts: 2, backoffMs: [10], jitter: 0 } }]);
    const [done] = await mesh.waitFor([task!.id]);
    expect(done!.result).toEqual({ resumedFrom: 7 });
    expect(seen).toEqual([
      { attempt: 1, checkpoint: undefined, errors: 0 },
      { attempt: 2, checkpoint: { page: 7 }, errors: 1 },
    ]);
    await Promise.all(mesh.agents.splice(0).map((a) => a.stop()));
  });

  it('announces a missed deadline once, while the task still runs, with where the time went', async () => {
    const release = gate();
    await mesh.agent(
      { id: 'sla-1', domain: 'data', concurrency: 1 },
      {
        'sla.work': async () => {
          await release.promise;
          return { done: true };
        },
      },
    );
    const [task] = await mesh.submit([{ capability: 'sla.work', deadline: new Date(Date.now() + 300).toISOString() }]);
    const missed = await eventually(
      async () => (await mesh.taskEvents()).find((e) => e.type === 'task.sla_missed' && e.data.taskId === task!.id),
      {
        description: 'a task.sla_missed event while the task runs',
      },
    );
    expect(missed.data.state).toBe('running');
    expect(missed.data.runMs as number).toBeGreaterThan(0);
    expect(typeof missed.data.waitingMs).toBe('number');
    release.open();
    await mesh.waitFor([task!.id]);
    const all = (await mesh.taskEvents()).filter((e) => e.type === 'task.sla_missed' && e.data.taskId === task!.id);
    expect(all).toHaveLength(1);
    await Promise.all(mesh.agents.splice(0).map((a) => a.stop()));
  });

  it('rejects unknown capabilities and duplicate idempotency keys without writing anything', async () => {
    await expect(mesh.submit([{ capability: 'never.registered' }])).rejects.toMatchObject({ code: 'UNKNOWN_CAPABILITY' });
    const [first] = await mesh.submit([{ capability: 'alpha.work', idempotencyKey: 'order-42', priority: 'LOW' }]);
    await expect(mesh.submit([{ capability: 'alpha.work', idempotencyKey: 'order-42' }])).rejects.toMatchObject({
      code: 'DUPLICATE_IDEMPOTENCY_KEY',
      details: expect.objectContaining({ existingTaskId: first!.id }),
    });
    // all-or-nothing: a batch with one duplicate writes none of its tasks
    const before = await mesh.bus.request(TaskCommands.list, { tenantId: 'default', limit: 500, capability: 'alpha.work' });
    await expect(
      mesh.submit([
        { capability: 'alpha.work', idempotencyKey: 'fresh-1' },
        { capability: 'alpha.work', idempotencyKey: 'order-42' },
      ]),
    ).rejects.toMatchObject({
      code: 'DUPLICATE_IDEMPOTENCY_KEY',
    });
    const after = await mesh.bus.request(TaskCommands.list, { tenantId: 'default', limit: 500, capability: 'alpha.work' });
    expect(after.items.length).toBe(before.items.length);
    // another tenant cannot see the task
    await expect(mesh.get(first!.id, 'other-tenant')).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' });
  });

  it('answers gathered single submits (tasks.create_many) item by item: one refused item fails alone', async () => {
    await mesh.agent({ id: 'many-1', domain: 'data', concurrency: 10 }, { 'many.work': (ctx) => ({ n: ctx.input.n }) });
    const [taken] = await mesh.submit([{ capability: 'many.work', idempotencyKey: 'many-taken', input: { n: -1 } }]);
    const reply = await mesh.bus.request(TaskCommands.createMany, {
      items: [
        { tenantId: 'default', task: { capability: 'many.work', input: { n: 1 } } },
        { tenantId: 'default', task: { capability: 'many.work', idempotencyKey: 'many-taken' } },
        { tenantId: 'default', task: { capability: 'never.registered' } },
        { tenantId: 'acme', task: { capability: 'many.work', input: { n: 2 } } },
        { tenantId: 'default', task: { capability: 'many.work', input: { n: 3 }, priority: 'HIGH', labels: { via: 'many' } } },
      ],
    });
    expect(reply.items).toHaveLength(5);
    const [one, dup, unknown, otherTenant, three] = reply.items;
    expect(one!.error).toBeUndefined();
    expect(one!.task).toMatchObject({ tenantId: 'default', capability: 'many.work', input: { n: 1 } });
    expect(dup).toEqual({
      error: expect.objectContaining({
        code: 'DUPLICATE_IDEMPOTENCY_KEY',
        details: expect.objectContaining({ existingTaskId: taken!.id }),
      }),
    });
    expect(unknown).toEqual({ error: expect.objectContaining({ code: 'UNKNOWN_CAPABILITY', retryable: false }) });
    // capabilities are per tenant: nobody serves many.work for acme
    expect(otherTenant!.error?.code).toBe('UNKNOWN_CAPABILITY');
    expect(three!.task).toMatchObject({ priority: 'HIGH', labels: { via: 'many' } });
    // the created ones run like any other task
    const done = await mesh.waitFor([one!.task!.id, three!.task!.id]);
    expect(done.map((t) => [t.state, t.result])).toEqual([
      ['succeeded', { n: 1 }],
      ['succeeded', { n: 3 }],
    ]);
    await expect(mesh.bus.request(TaskCommands.createMany, { items: [] })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await Promise.all(mesh.agents.splice(0).map((a) => a.stop()));
  });
});
