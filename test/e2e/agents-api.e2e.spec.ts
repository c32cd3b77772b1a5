/**
 * The agents REST API end to end: registry, health and error log, drain / resume / restart, and
 * an agent process that dies (SIGKILL) while running a task. Gateway and coordinator processes,
 * SDK agents in this process, the demo swarm as the process that is killed.
 * Build first: `npx tsc -b tsconfig.build.json`.
 */
import { type Agent, TaskError } from '@swarm-mesh/agent-sdk';
import type { AgentDto, AgentErrorsDto, AgentPageDto, TaskDto } from '@swarm-mesh/contracts';
import { eventually } from '@swarm-mesh/testing';
import { type ApiErrorBody, E2eMesh, gate } from './support/e2e-mesh';

jest.setTimeout(120_000);

let mesh: E2eMesh;

beforeAll(async () => {
  mesh = await E2eMesh.start();
});

afterAll(async () => {
  await mesh?.stop();
});

async function getAgent(id: string): Promise<AgentDto> {
  const r = await mesh.api<AgentDto>('GET', `/agents/${id}`);
  if (r.status !== 200) throw new Error(`GET /agents/${id}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

function waitAgent(id: string, pred: (a: AgentDto) => boolean, description: string, timeoutMs = 15_000): Promise<AgentDto> {
  let last: AgentDto | undefined;
  return eventually(
    async () => {
      last = await getAgent(id);
      return pred(last) ? last : undefined;
    },
    { timeoutMs, description: `agent ${id}: ${description} (last ${JSON.stringify(last?.state)})` },
  );
}

async function submit(capability: string, input: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<TaskDto> {
  const r = await mesh.api<TaskDto>('POST', '/tasks', { capability, input, ...extra });
  if (r.status !== 201) throw new Error(`POST /tasks: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

describe('the agent registry', () => {
  let alpha: Agent;
  let beta: Agent;

  beforeAll(async () => {
    const handler = (ctx: { input: Record<string, unknown>; agentId: string }): Record<string, unknown> => {
      if (ctx.input.fail) throw new TaskError('the input asked for a failure', { code: 'ASKED_TO_FAIL', retryable: false });
      return { by: ctx.agentId };
    };
    alpha = await mesh.agent(
      { id: 'alpha', domain: 'data', concurrency: 3, version: '1.2.3', metadata: { zone: 'a' } },
      { 'e2e.work': handler },
    );
    beta = await mesh.agent({ id: 'beta', domain: 'intel', concurrency: 2 }, { 'e2e.work': handler, 'e2e.intel': handler });
  });

  afterAll(async () => {
    await mesh.stopAgents([alpha, beta]);
  });

  it('GET /agents lists the registered SDK agents with state, capabilities, load and stats', async () => {
    const page = await eventually(async () => {
      const r = await mesh.api<AgentPageDto>('GET', '/agents');
      expect(r.status).toBe(200);
      const ids = r.body.items.map((a) => a.id);
      return ids.includes('alpha') && ids.includes('beta') && r.body.items.every((a) => a.lastHeartbeatAt) ? r.body : undefined;
    });
    expect(page.nextCursor).toBeNull();
    const a = page.items.find((x) => x.id === 'alpha')!;
    expect(a).toMatchObject({
      id: 'alpha',
      tenantId: 'default',
      name: 'alpha',
      domain: 'data',
      tier: 'specialist',
      capabilities: ['e2e.work'],
      concurrency: 3,
      state: 'healthy',
      instanceId: alpha.instanceId,
      version: '1.2.3',
      metadata: { zone: 'a' },
      load: { running: 0, freeSlots: 3 },
      stats: { succeeded: 0, failed: 0, consecutiveFailures: 0 },
      breaker: { state: 'closed' },
    });
    expect(Number.isNaN(Date.parse(a.registeredAt))).toBe(false);
    const b = page.items.find((x) => x.id === 'beta')!;
    expect(b.capabilities.sort()).toEqual(['e2e.intel', 'e2e.work']);

    // filters and pages
    const byCap = await mesh.api<AgentPageDto>('GET', '/agents?capability=e2e.intel');
    expect(byCap.body.items.map((x) => x.id)).toEqual(['beta']);
    const byDomain = await mesh.api<AgentPageDto>('GET', '/agents?domain=data');
    expect(byDomain.body.items.map((x) => x.id)).toEqual(['alpha']);
    const healthy = await mesh.api<AgentPageDto>('GET', '/agents?state=healthy');
    expect(healthy.body.items.map((x) => x.id)).toEqual(['alpha', 'beta']);
    const p1 = await mesh.api<AgentPageDto>('GET', '/agents?limit=1');
    expect(p1.body.items.map((x) => x.id)).toEqual(['alpha']);
    const p2 = await mesh.api<AgentPageDto>('GET', `/agents?limit=1&cursor=${p1.body.nextCursor}`);
    expect(p2.body).toMatchObject({ items: [{ id: 'beta' }], nextCursor: null });
    expect((await mesh.api<ApiErrorBody>('GET', '/agents?state=sleepy')).status).toBe(400);
  });

  it('GET /agents/{id}, /health and /errors (after a failure); unknown or malformed ids are 404 / 400', async () => {
    const ok = await submit('e2e.intel');
    const bad = await submit('e2e.intel', { fail: true });
    await mesh.waitState(ok.id, 'succeeded');
    await mesh.waitState(bad.id, 'dead_lettered');

    const b = await waitAgent('beta', (a) => a.stats.succeeded === 1 && a.stats.failed === 1, 'one success and one failure counted');
    expect(b.stats.cpuPercent).toEqual(expect.any(Number));
    expect(b.stats.memoryRssBytes).toBeGreaterThan(0);

    const health = await mesh.api<Record<string, unknown>>('GET', '/agents/beta/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({
      id: 'beta',
      state: 'healthy',
      lastHeartbeatAt: expect.any(String),
      load: { running: 0, freeSlots: 2 },
      stats: { succeeded: 1, failed: 1 },
      breaker: { state: 'closed' },
    });

    const errors = await mesh.api<AgentErrorsDto>('GET', '/agents/beta/errors');
    expect(errors.status).toBe(200);
    expect(errors.body.items).toHaveLength(1);
    expect(errors.body.items[0]).toMatchObject({
      taskId: bad.id,
      capability: 'e2e.intel',
      attempt: 1,
      outcome: 'failed',
      error: { code: 'ASKED_TO_FAIL', message: 'the input asked for a failure', retryable: false },
      at: expect.any(String),
    });
    expect((await mesh.api<AgentErrorsDto>('GET', '/agents/alpha/errors')).body.items).toEqual([]);

    const missing = await mesh.api<ApiErrorBody>('GET', '/agents/nobody');
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('AGENT_NOT_FOUND');
    expect((await mesh.api<ApiErrorBody>('GET', '/agents/nobody/health')).status).toBe(404);
    expect((await mesh.api<ApiErrorBody>('POST', '/agents/nobody/drain')).body.code).toBe('AGENT_NOT_FOUND');
    const malformed = await mesh.api<ApiErrorBody>('GET', '/agents/not%20valid!');
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe('VALIDATION_FAILED');
    // another tenant does not see these agents
    const otherKey = await mesh.createApiKey('globex');
    expect((await mesh.api<AgentPageDto>('GET', '/agents', undefined, { key: otherKey })).body.items).toEqual([]);
    expect((await mesh.api<ApiErrorBody>('GET', '/agents/alpha', undefined, { key: otherKey })).status).toBe(404);
    expect((await mesh.api<ApiErrorBody>('POST', '/agents/alpha/drain', undefined, { key: otherKey })).status).toBe(404);
    expect((await mesh.api<ApiErrorBody>('GET', '/agents', undefined, { key: null })).status).toBe(401);
  });

  it('POST /drain: state draining and no new work goes to it; POST /resume: it takes work again', async () => {
    const drained = await mesh.api<AgentDto>('POST', '/agents/alpha/drain');
    expect(drained.status).toBe(200);
    expect(drained.body).toMatchObject({ id: 'alpha', state: 'draining', load: { freeSlots: 0 } });
    await waitAgent('alpha', (a) => a.state === 'draining', 'draining');
    await eventually(() => alpha.mode === 'draining', { description: 'the SDK agent stopped pulling' });

    const tasks = await Promise.all(Array.from({ length: 6 }, (_, n) => submit('e2e.work', { n })));
    const done = await Promise.all(tasks.map((t) => mesh.waitState(t.id, 'succeeded')));
    for (const t of done) {
      expect(t.attempts.map((a) => a.agentId)).toEqual(['beta']);
      expect(t.result).toEqual({ by: 'beta' });
    }
    expect((await getAgent('alpha')).state).toBe('draining');

    // with beta drained too, new work waits
    await mesh.api('POST', '/agents/beta/drain');
    await waitAgent('beta', (a) => a.state === 'draining', 'draining');
    const waiting = await submit('e2e.work', { n: 'waits' });
    await eventually(async () => {
      const q = await mesh.api<{ items: Array<{ capability: string; totalQueued: number; availableAgents: number }> }>('GET', '/queues');
      const d = q.body.items.find((i) => i.capability === 'e2e.work');
      return d?.totalQueued === 1 && d.availableAgents === 0;
    });
    expect((await mesh.task(waiting.id)).state).toBe('queued');

    const resumed = await mesh.api<AgentDto>('POST', '/agents/alpha/resume');
    expect(resumed.status).toBe(200);
    // the answer shows the agent resumed, not the draining it reported before the resume reached it
    expect(resumed.body).toMatchObject({ id: 'alpha', state: 'healthy' });
    const ran = await mesh.waitState(waiting.id, 'succeeded');
    expect(ran.result).toEqual({ by: 'alpha' });
    expect((await waitAgent('alpha', (a) => a.state === 'healthy', 'healthy')).state).toBe('healthy');
    await mesh.api('POST', '/agents/beta/resume');
    await waitAgent('beta', (a) => a.state === 'healthy', 'healthy');
  });

  it('POST /restart: the SDK registers again with a new instanceId and keeps working', async () => {
    const before = await getAgent('alpha');
    expect(before.instanceId).toBe(alpha.instanceId);
    const res = await mesh.api<AgentDto>('POST', '/agents/alpha/restart');
    expect(res.status).toBe(200);
    expect(res.body.id).toBe('alpha');
    const after = await waitAgent('alpha', (a) => a.instanceId !== before.instanceId && a.state === 'healthy', 'a new instance');
    expect(after.instanceId).toBe(alpha.instanceId);
    expect(Date.parse(after.registeredAt)).toBeGreaterThanOrEqual(Date.parse(before.registeredAt));
    // keeps working: with beta drained, the work has to go to alpha
    await mesh.api('POST', '/agents/beta/drain');
    await waitAgent('beta', (a) => a.state === 'draining', 'draining');
    const t = await submit('e2e.work', { after: 'restart' });
    const done = await mesh.waitState(t.id, 'succeeded');
    expect(done.attempts.map((a) => a.agentId)).toEqual(['alpha']);
    await mesh.api('POST', '/agents/beta/resume');
  });
});

describe('an agent process that dies', () => {
  it('goes unresponsive, then dead; its running task is requeued and completed by another agent', async () => {
    const victimId = 'victim-data-fetch-1';
    const victim = await mesh.process('demo-swarm', {
      DEMO_CAPABILITIES: 'data.fetch',
      DEMO_AGENTS_PER_CAPABILITY: '1',
      DEMO_AGENT_PREFIX: 'victim',
      DEMO_CONCURRENCY: '2',
      SHUTDOWN_GRACE_MS: '500',
    });
    await waitAgent(victimId, (a) => a.state === 'healthy', 'healthy');
    const task = await submit('data.fetch', { simulate: { latencyMs: 120_000 } }, { retry: { maxAttempts: 3, backoffMs: [50] } });
    await mesh.waitTask(task.id, (t) => t.state === 'running' && t.agentId === victimId, `running on ${victimId}`);

    const rescued = gate();
    await mesh.agent(
      { id: 'rescuer', domain: 'data', concurrency: 2 },
      {
        'data.fetch': (ctx) => {
          rescued.open();
          return { rescuedBy: ctx.agentId, attempt: ctx.attempt };
        },
      },
    );
    await waitAgent('rescuer', (a) => a.state === 'healthy', 'healthy');
    await victim.kill();

    // follow the victim's state until it is dead, remembering each state seen
    const seen: string[] = [];
    await eventually(
      async () => {
        const a = await getAgent(victimId);
        if (seen[seen.length - 1] !== a.state) seen.push(a.state);
        return a.state === 'dead';
      },
      { timeoutMs: 20_000, intervalMs: 25, description: `${victimId} dead (seen ${seen.join(' → ')})` },
    );
    expect(seen).toContain('unresponsive');
    expect(seen.indexOf('unresponsive')).toBeLessThan(seen.indexOf('dead'));
    expect(seen.slice(seen.indexOf('unresponsive'))).toEqual(['unresponsive', 'dead']);

    const done = await mesh.waitState(task.id, 'succeeded');
    expect(rescued.opened).toBe(true);
    expect(done.result).toEqual({ rescuedBy: 'rescuer', attempt: 2 });
    expect(done.attempts).toHaveLength(2);
    expect(done.attempts[0]).toMatchObject({ agentId: victimId, outcome: 'lost', error: { code: 'AGENT_LOST', retryable: true } });
    expect(done.attempts[1]).toMatchObject({ agentId: 'rescuer', outcome: 'succeeded' });
    // the dead agent holds nothing and is listed as dead; the rescuer is healthy
    const dead = await getAgent(victimId);
    expect(dead.load).toEqual({ running: 0, freeSlots: 0 }); // a dead agent offers no slots
    // nothing to restart; a drain is still recorded (it holds if the agent comes back)
    const restart = await mesh.api<ApiErrorBody>('POST', `/agents/${victimId}/restart`);
    expect(restart.status).toBe(409);
    expect(restart.body.code).toBe('INVALID_STATE_TRANSITION');
    const list = await mesh.api<AgentPageDto>('GET', '/agents?state=dead');
    expect(list.body.items.map((a) => a.id)).toContain(victimId);
    expect(list.body.items.map((a) => a.id)).not.toContain('rescuer');
  });

  it('a frozen agent declared dead comes back: its old attempt is fenced off, the task keeps one result, and it takes work again', async () => {
    const zombieId = 'zombie-data-fetch-1';
    const zombie = await mesh.process('demo-swarm', {
      DEMO_CAPABILITIES: 'data.fetch',
      DEMO_AGENTS_PER_CAPABILITY: '1',
      DEMO_AGENT_PREFIX: 'zombie',
      DEMO_CONCURRENCY: '2',
      SHUTDOWN_GRACE_MS: '500',
    });
    await waitAgent(zombieId, (a) => a.state === 'healthy', 'healthy');
    // only the zombie may take this one
    await mesh.api('POST', '/agents/rescuer/drain');
    await waitAgent('rescuer', (a) => a.state === 'draining', 'draining');
    const task = await submit('data.fetch', { simulate: { latencyMs: 120_000 } }, { retry: { maxAttempts: 3, backoffMs: [50] } });
    await mesh.waitTask(task.id, (t) => t.state === 'running' && t.agentId === zombieId, `running on ${zombieId}`);

    process.kill(zombie.pid, 'SIGSTOP');
    try {
      await waitAgent(zombieId, (a) => a.state === 'dead', 'dead', 20_000);
      await mesh.api('POST', '/agents/rescuer/resume');
      const done = await mesh.waitState(task.id, 'succeeded');
      expect(done.attempts.map((a) => [a.agentId, a.outcome])).toEqual([
        [zombieId, 'lost'],
        ['rescuer', 'succeeded'],
      ]);
    } finally {
      process.kill(zombie.pid, 'SIGCONT');
    }
    // it heart-beats again: healthy, holding nothing of the old attempt
    const back = await waitAgent(zombieId, (a) => a.state === 'healthy' && a.load.running === 0, 'healthy again, holding nothing');
    expect(back.breaker.state).toBe('closed');
    // with the rescuer drained, new work goes to the zombie and succeeds there
    await mesh.api('POST', '/agents/rescuer/drain');
    await waitAgent('rescuer', (a) => a.state === 'draining', 'draining');
    const next = await submit('data.fetch', { simulate: { latencyMs: 10 } });
    const ok = await mesh.waitState(next.id, 'succeeded');
    expect(ok.attempts.map((a) => [a.agentId, a.outcome])).toEqual([[zombieId, 'succeeded']]);
    // the first task still has its one result
    const first = await mesh.task(task.id);
    expect(first.state).toBe('succeeded');
    expect(first.result).toEqual({ rescuedBy: 'rescuer', attempt: 2 });
    expect(first.attempts).toHaveLength(2);
    await mesh.api('POST', '/agents/rescuer/resume');
  });
});
