/**
 * Self-healing and timeouts end to end: start-to-close, heartbeat, schedule-to-start and
 * progress (stuck) timeouts, and the per-agent circuit breaker. Gateway and coordinator
 * processes with shrunk timings, SDK agents in this process, everything observed over REST.
 * Build first: `npx tsc -b tsconfig.build.json`.
 */
import { randomUUID } from 'node:crypto';
import { TaskError } from '@swarm-mesh/agent-sdk';
import { AgentProtocol, type AgentDto, type TaskDto } from '@swarm-mesh/contracts';
import { connectTestBus, eventually } from '@swarm-mesh/testing';
import { aborted, E2eMesh, gate } from './support/e2e-mesh';

jest.setTimeout(120_000);

const BREAKER_FAILURE_THRESHOLD = 3;

let mesh: E2eMesh;

beforeAll(async () => {
  mesh = await E2eMesh.start({
    coordinatorEnv: {
      // the heartbeat test blocks this process for longer than a heartbeat timeout, not for a dead-after period
      AGENT_DEAD_AFTER_MS: '10000',
      BREAKER_FAILURE_THRESHOLD: String(BREAKER_FAILURE_THRESHOLD),
      BREAKER_COOLDOWN_MS: '1000',
      DISPATCH_ACK_TIMEOUT_MS: '1000',
    },
  });
});

afterAll(async () => {
  await mesh?.stop();
});

async function submit(body: Record<string, unknown>): Promise<TaskDto> {
  const r = await mesh.api<TaskDto>('POST', '/tasks', body);
  if (r.status !== 201) throw new Error(`POST /tasks: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

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
    { timeoutMs, description: `agent ${id}: ${description} (last ${last?.state}, breaker ${last?.breaker.state})` },
  );
}

/** Blocks this process (and so every heartbeat of its agents) for `ms`. */
function blockEventLoop(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    /* busy: no timer, no I/O */
  }
}

describe('start-to-close timeout', () => {
  it('a handler that honours its abort signal: the attempt times out with START_TO_CLOSE_TIMEOUT and is retried', async () => {
    const agent = await mesh.agent(
      { id: 'stc-polite', domain: 'data', concurrency: 2 },
      {
        'e2e.stc.polite': async (ctx) => {
          if (ctx.attempt === 1) {
            await aborted(ctx.signal); // the SDK fires it at startToCloseMs
            throw ctx.signal.reason;
          }
          return { attempt: ctx.attempt };
        },
      },
    );
    const task = await submit({
      capability: 'e2e.stc.polite',
      timeouts: { startToCloseMs: 300 },
      retry: { maxAttempts: 3, backoffMs: [50] },
    });
    const done = await mesh.waitState(task.id, 'succeeded');
    expect(done.result).toEqual({ attempt: 2 });
    expect(done.attempts).toHaveLength(2);
    expect(done.attempts[0]).toMatchObject({
      agentId: 'stc-polite',
      outcome: 'timed_out',
      error: { code: 'START_TO_CLOSE_TIMEOUT', retryable: true },
    });
    expect(done.attempts[1]).toMatchObject({ outcome: 'succeeded' });
    await mesh.stopAgents([agent]);
  });

  it('a handler that ignores its abort signal: the coordinator times the attempt out, fences it and retries', async () => {
    const release = gate();
    const agent = await mesh.agent(
      { id: 'stc-stubborn', domain: 'data', concurrency: 2 },
      {
        'e2e.stc.stubborn': async (ctx) => {
          if (ctx.attempt === 1) await release.promise; // deaf to the abort signal
          return { attempt: ctx.attempt };
        },
      },
    );
    const task = await submit({
      capability: 'e2e.stc.stubborn',
      timeouts: { startToCloseMs: 300 },
      retry: { maxAttempts: 3, backoffMs: [50] },
    });
    const done = await mesh.waitState(task.id, 'succeeded');
    release.open();
    expect(done.result).toEqual({ attempt: 2 });
    expect(done.attempts.map((a) => a.outcome)).toEqual(['timed_out', 'succeeded']);
    expect(done.attempts[0]!.error).toMatchObject({ code: 'START_TO_CLOSE_TIMEOUT', retryable: true });
    // the late result of the first attempt changes nothing
    await waitAgent('stc-stubborn', (a) => a.load.running === 0, 'no attempt held');
    expect(await mesh.task(task.id)).toMatchObject({ state: 'succeeded', result: { attempt: 2 } });
    await mesh.stopAgents([agent]);
  });

  it('the last attempt timing out dead-letters the task with the timeout in its history', async () => {
    const agent = await mesh.agent(
      { id: 'stc-always', domain: 'data', concurrency: 1 },
      {
        'e2e.stc.always': async (ctx) => {
          await aborted(ctx.signal);
          throw ctx.signal.reason;
        },
      },
    );
    const task = await submit({ capability: 'e2e.stc.always', timeouts: { startToCloseMs: 200 }, retry: { maxAttempts: 1 } });
    const dead = await mesh.waitState(task.id, 'dead_lettered');
    expect(dead.attempts).toHaveLength(1);
    expect(dead.attempts[0]).toMatchObject({ outcome: 'timed_out', error: { code: 'START_TO_CLOSE_TIMEOUT' } });
    await mesh.stopAgents([agent]);
  });
});

describe('heartbeat timeout', () => {
  it('an attempt whose agent stops heart-beating for longer than heartbeatMs times out with HEARTBEAT_TIMEOUT and is retried', async () => {
    const running = gate();
    const proceed = gate();
    const agent = await mesh.agent(
      { id: 'hb-1', domain: 'infra', concurrency: 1 },
      {
        'e2e.hb': async (ctx) => {
          if (ctx.attempt === 1) {
            running.open();
            await proceed.promise;
            blockEventLoop(1500); // a CPU-bound handler starving the agent's heartbeats
          }
          return { attempt: ctx.attempt };
        },
      },
    );
    const task = await submit({ capability: 'e2e.hb', timeouts: { heartbeatMs: 300 }, retry: { maxAttempts: 3, backoffMs: [50] } });
    await running.promise;
    await mesh.waitState(task.id, 'running');
    proceed.open();
    const done = await mesh.waitState(task.id, 'succeeded');
    expect(done.result).toEqual({ attempt: 2 });
    expect(done.attempts.map((a) => a.outcome)).toEqual(['timed_out', 'succeeded']);
    expect(done.attempts[0]).toMatchObject({ agentId: 'hb-1', error: { code: 'HEARTBEAT_TIMEOUT', retryable: true } });
    await mesh.stopAgents([agent]);
  });
});

describe('schedule-to-start timeout', () => {
  it('a task no agent starts within scheduleToStartMs ends timed_out with SCHEDULE_TO_START_TIMEOUT and never runs', async () => {
    const release = gate();
    const ran: string[] = [];
    const agent = await mesh.agent(
      { id: 'sts-1', domain: 'infra', concurrency: 1 },
      {
        'e2e.sts': async (ctx) => {
          ran.push(String(ctx.input.label));
          if (ctx.input.label === 'blocker') await release.promise;
          return {};
        },
      },
    );
    const blocker = await submit({ capability: 'e2e.sts', input: { label: 'blocker' } });
    await mesh.waitState(blocker.id, 'running');
    const late = await submit({ capability: 'e2e.sts', input: { label: 'late' }, timeouts: { scheduleToStartMs: 300 } });
    const timedOut = await mesh.waitState(late.id, 'timed_out');
    expect(timedOut.attempts).toEqual([]);
    expect(timedOut.error).toMatchObject({ code: 'SCHEDULE_TO_START_TIMEOUT', retryable: false });
    expect(timedOut.finishedAt).toEqual(expect.any(String));
    release.open();
    await mesh.waitState(blocker.id, 'succeeded');
    // a task that does start in time is not affected by its schedule-to-start timeout
    const inTime = await submit({ capability: 'e2e.sts', input: { label: 'in-time' }, timeouts: { scheduleToStartMs: 30_000 } });
    await mesh.waitState(inTime.id, 'succeeded');
    expect(ran).toEqual(['blocker', 'in-time']);
    await mesh.stopAgents([agent]);
  });
});

describe('stuck detection', () => {
  it('a handler that heart-beats but makes no progress for progressMs is STUCK and retried on another agent', async () => {
    const release = gate();
    const stuckAgent = await mesh.agent(
      { id: 'stuck-a', domain: 'intel', concurrency: 1 },
      {
        'e2e.stuck': async () => {
          await release.promise; // alive (the SDK keeps heart-beating) but going nowhere, deaf to aborts
          return { by: 'stuck-a' };
        },
      },
    );
    const task = await submit({ capability: 'e2e.stuck', timeouts: { progressMs: 500 }, retry: { maxAttempts: 3, backoffMs: [50] } });
    await mesh.waitTask(task.id, (t) => t.state === 'running' && t.agentId === 'stuck-a', 'running on stuck-a');
    const healthyAgent = await mesh.agent(
      { id: 'stuck-b', domain: 'intel', concurrency: 1 },
      { 'e2e.stuck': (ctx) => ({ by: ctx.agentId, attempt: ctx.attempt }) },
    );
    const done = await mesh.waitState(task.id, 'succeeded');
    expect(done.result).toEqual({ by: 'stuck-b', attempt: 2 });
    expect(done.attempts).toHaveLength(2);
    expect(done.attempts[0]).toMatchObject({ agentId: 'stuck-a', outcome: 'timed_out', error: { code: 'STUCK', retryable: true } });
    expect(done.attempts[1]).toMatchObject({ agentId: 'stuck-b', outcome: 'succeeded' });
    // the stuck agent stayed healthy the whole time: it was heart-beating
    expect((await getAgent('stuck-a')).state).toBe('healthy');
    release.open();
    await mesh.stopAgents([stuckAgent, healthyAgent]);
  });

  it('a handler reporting progress runs past progressMs without being called stuck', async () => {
    const agent = await mesh.agent(
      { id: 'progress-1', domain: 'intel', concurrency: 1 },
      {
        'e2e.progress': async (ctx) => {
          for (let i = 1; i <= 12; i++) {
            await new Promise((r) => setTimeout(r, 100)); // simulated work
            ctx.progress(i / 12, `step ${i}`);
          }
          return { steps: 12 };
        },
      },
    );
    const task = await submit({ capability: 'e2e.progress', timeouts: { progressMs: 800 }, retry: { maxAttempts: 1 } });
    const done = await mesh.waitState(task.id, 'succeeded');
    expect(done.attempts).toHaveLength(1);
    // the progress shown is one the handler reported (the very last report may be dropped once the attempt ended)
    expect(done.progress?.message).toMatch(/^step (11|12)$/);
    expect(done.progress?.percent).toBeGreaterThanOrEqual(11 / 12);
    await mesh.stopAgents([agent]);
  });
});

describe('dispatch acknowledgement timeout', () => {
  it('an attempt dispatched to an agent that never takes it is requeued with DISPATCH_NOT_ACKED and run elsewhere', async () => {
    // a "ghost" agent process: registers and heart-beats (alive, free slots) but never pulls its dispatches
    const bus = await connectTestBus({ namespace: mesh.namespace, identity: 'agent:ghost' });
    const instanceId = randomUUID();
    let seq = 0;
    let timer: NodeJS.Timeout | undefined;
    try {
      await bus.request(
        AgentProtocol.register,
        {
          agentId: 'ghost',
          instanceId,
          tenantId: 'default',
          name: 'ghost',
          domain: 'infra',
          tier: 'specialist',
          capabilities: ['e2e.ghost'],
          concurrency: 1,
        },
        { params: ['ghost'] },
      );
      const beat = (): void =>
        bus.publish(
          AgentProtocol.heartbeat,
          { agentId: 'ghost', instanceId, seq: seq++, mode: 'ready', freeSlots: 1, running: [] },
          { params: ['ghost'] },
        );
      beat();
      timer = setInterval(beat, 100);
      await waitAgent('ghost', (a) => a.state === 'healthy', 'healthy');
      const task = await submit({ capability: 'e2e.ghost', retry: { maxAttempts: 2, backoffMs: [50] } });
      await mesh.waitTask(task.id, (t) => t.state === 'dispatched' && t.agentId === 'ghost', 'dispatched to the ghost');
      const real = await mesh.agent(
        { id: 'ghost-buster', domain: 'infra', concurrency: 1 },
        { 'e2e.ghost': (ctx) => ({ by: ctx.agentId }) },
      );
      const done = await mesh.waitState(task.id, 'succeeded');
      expect(done.result).toEqual({ by: 'ghost-buster' });
      expect(done.attempts).toHaveLength(2);
      expect(done.attempts[0]).toMatchObject({
        agentId: 'ghost',
        startedAt: null,
        outcome: 'lost',
        error: { code: 'DISPATCH_NOT_ACKED', retryable: true },
      });
      expect(done.attempts[1]).toMatchObject({ agentId: 'ghost-buster', outcome: 'succeeded' });
      // a lost attempt is not the task's failure: it does not use up the attempt budget
      expect(done.maxAttempts).toBe(2);
      // the ghost holds nothing any more
      expect((await waitAgent('ghost', (a) => a.load.running === 0, 'holding nothing')).state).toBe('healthy');
      await mesh.stopAgents([real]);
    } finally {
      if (timer) clearInterval(timer);
      await bus.close();
    }
  });
});

describe('circuit breaker', () => {
  it('quarantines an agent after consecutive retryable failures while a healthy one takes the work, then half-opens after the cooldown', async () => {
    let broken = true;
    const trial = gate();
    let trialStarted = false;
    const bad = await mesh.agent(
      { id: 'breaker-bad', domain: 'quality', concurrency: 1 },
      {
        'e2e.breaker': async (ctx) => {
          if (broken) throw new TaskError('upstream 503', { code: 'UPSTREAM_UNAVAILABLE', retryable: true });
          trialStarted = true;
          await trial.promise;
          return { by: ctx.agentId };
        },
      },
    );
    const tasks = await Promise.all(
      Array.from({ length: BREAKER_FAILURE_THRESHOLD }, (_, n) =>
        submit({ capability: 'e2e.breaker', input: { n }, retry: { maxAttempts: 10, backoffMs: [50] } }),
      ),
    );
    const quarantined = await waitAgent(
      'breaker-bad',
      (a) => a.state === 'quarantined' && a.breaker.state === 'open',
      'quarantined with an open breaker',
    );
    expect(quarantined.stats.consecutiveFailures).toBeGreaterThanOrEqual(BREAKER_FAILURE_THRESHOLD);
    expect(quarantined.breaker.openedAt).toEqual(expect.any(String));
    expect(Date.parse(quarantined.breaker.retryAt!)).toBeGreaterThan(Date.parse(quarantined.breaker.openedAt!));
    const errors = await mesh.api<{ items: Array<{ error: { code: string } }> }>('GET', '/agents/breaker-bad/errors');
    expect(errors.body.items.length).toBeGreaterThanOrEqual(BREAKER_FAILURE_THRESHOLD);
    expect(errors.body.items.every((e) => e.error.code === 'UPSTREAM_UNAVAILABLE')).toBe(true);

    // a healthy agent takes the work; every task succeeds there
    const good = await mesh.agent(
      { id: 'breaker-good', domain: 'quality', concurrency: 4 },
      { 'e2e.breaker': (ctx) => ({ by: ctx.agentId }) },
    );
    const done = await Promise.all(tasks.map((t) => mesh.waitState(t.id, 'succeeded')));
    for (const t of done) {
      expect(t.result).toEqual({ by: 'breaker-good' });
      expect(t.attempts.filter((a) => a.outcome === 'succeeded').map((a) => a.agentId)).toEqual(['breaker-good']);
      expect(t.attempts.filter((a) => a.agentId === 'breaker-bad').every((a) => a.outcome === 'failed')).toBe(true);
    }
    const more = await Promise.all(Array.from({ length: 4 }, (_, n) => submit({ capability: 'e2e.breaker', input: { more: n } })));
    for (const t of more) expect((await mesh.waitState(t.id, 'succeeded')).result).toEqual({ by: 'breaker-good' });

    // after the cooldown the breaker half-opens and lets one trial task through; its success closes it
    broken = false;
    await mesh.api('POST', '/agents/breaker-good/drain');
    await waitAgent('breaker-good', (a) => a.state === 'draining', 'draining');
    const probe = await submit({ capability: 'e2e.breaker', input: { probe: true } });
    await mesh.waitTask(probe.id, (t) => t.state === 'running' && t.agentId === 'breaker-bad', 'trial running on breaker-bad');
    expect(trialStarted).toBe(true);
    const halfOpen = await getAgent('breaker-bad');
    expect(halfOpen.breaker.state).toBe('half_open');
    expect(halfOpen.state).not.toBe('quarantined');
    trial.open();
    expect((await mesh.waitState(probe.id, 'succeeded')).result).toEqual({ by: 'breaker-bad' });
    const closed = await waitAgent('breaker-bad', (a) => a.breaker.state === 'closed' && a.state === 'healthy', 'breaker closed');
    expect(closed.stats.consecutiveFailures).toBe(0);
    await mesh.stopAgents([bad, good]);
  });
});
