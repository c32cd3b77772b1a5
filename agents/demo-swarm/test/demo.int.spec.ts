/**
 * The built demo swarm process (agents/demo-swarm/dist/main.js) against a stub coordinator on
 * the real NATS server: registration, `input.simulate`, intel → content insight sharing,
 * health/metrics, and a graceful SIGTERM. Build first: `npx tsc -b libs/agent-sdk agents/demo-swarm`.
 */
import type { MeshBus } from '@swarm-mesh/messaging';
import {
  cleanupNamespace,
  connectTestBus,
  eventually,
  randomNamespace,
  type ServiceProcess,
  startServiceProcess,
} from '@swarm-mesh/testing';
import { makeTask, StubCoordinator } from '../../../libs/agent-sdk/test/support/stub-coordinator';

const namespace = randomNamespace('demo');
let bus: MeshBus;
let stub: StubCoordinator;
let demo: ServiceProcess | undefined;

const AGENTS = ['data-fetch-1', 'content-generate-1', 'intel-analyze-1', 'quality-review-1', 'infra-noop-1', 'content-publish-1'];

beforeAll(async () => {
  bus = await connectTestBus({ namespace, identity: 'coordinator' });
  stub = new StubCoordinator(bus, { heartbeatIntervalMs: 200 });
  await stub.start();
  demo = await startServiceProcess('demo-swarm', {
    namespace,
    env: {
      DEMO_AGENTS_PER_CAPABILITY: '1',
      DEMO_CONCURRENCY: '4',
      DEMO_LATENCY_MS: '5',
      DEMO_LATENCY_JITTER_MS: '0',
      LOG_LEVEL: 'debug',
      SHUTDOWN_GRACE_MS: '5000',
    },
  });
});

afterAll(async () => {
  if (demo && !demo.exited()) await demo.stop();
  await stub?.stop();
  if (bus) {
    await cleanupNamespace(bus);
    await bus.close();
  }
});

it('registers one agent per capability before logging ready', () => {
  const regs = stub.registrations.map((r) => [r.agentId, r.domain, r.capabilities.join(',')]);
  expect(regs).toEqual(
    expect.arrayContaining([
      ['data-fetch-1', 'data', 'data.fetch'],
      ['content-generate-1', 'content', 'content.generate'],
      ['intel-analyze-1', 'intel', 'intel.analyze'],
      ['quality-review-1', 'quality', 'quality.review'],
      ['infra-noop-1', 'infra', 'infra.noop'],
    ]),
  );
  expect(stub.registrations.every((r) => r.concurrency === 4 && r.tenantId === 'default')).toBe(true);
});

it('obeys input.simulate: failTimes, tokens and placeholder', async () => {
  const simulate = { latencyMs: 10, failTimes: 1, tokensIn: 500, tokensOut: 200 };
  const caps: Record<string, string> = {
    'data-fetch-1': 'data.fetch',
    'content-generate-1': 'content.generate',
    'intel-analyze-1': 'intel.analyze',
    'quality-review-1': 'quality.review',
    'infra-noop-1': 'infra.noop',
    'content-publish-1': 'content.publish',
  };
  const first = AGENTS.map((id) => ({ id, task: makeTask(caps[id]!, { input: { simulate }, attempt: 1 }) }));
  const second = AGENTS.map((id) => ({
    id,
    task: makeTask(caps[id]!, { input: { simulate: { ...simulate, placeholder: true } }, attempt: 2 }),
  }));
  for (const { id, task } of [...first, ...second]) await stub.dispatch(id, [task]);
  await eventually(() => [...first, ...second].every(({ task }) => stub.resultOf(task.taskId)), { description: 'all results' });
  for (const { task } of first) {
    expect(stub.resultOf(task.taskId)).toMatchObject({
      outcome: 'failed',
      attempt: 1,
      error: { code: 'SIMULATED_FAILURE', retryable: true },
    });
  }
  for (const { task } of second) {
    const r = stub.resultOf(task.taskId)!;
    expect(r).toMatchObject({ outcome: 'succeeded', attempt: 2, usage: { tokensIn: 500, tokensOut: 200 } });
    expect(JSON.stringify(r.result)).toMatch(/TODO: lorem ipsum/);
  }
});

it('shares intel insights with the content agent over swarm.intel.insights', async () => {
  const analyze = makeTask('intel.analyze', { input: { subject: 'pricing', count: 2, simulate: { latencyMs: 0 } } });
  await stub.dispatch('intel-analyze-1', [analyze]);
  await eventually(() => stub.resultOf(analyze.taskId), { description: 'analysis result' });
  await eventually(() => demo!.logs().some((l) => l.includes('"msg":"insight received"') && l.includes(analyze.taskId)), {
    description: 'content agent received the insight',
  });
  const topics = (stub.resultOf(analyze.taskId)!.result as { insights: Array<{ topic: string }> }).insights.map((i) => i.topic);
  const generate = makeTask('content.generate', { input: { topic: 'pricing', simulate: { latencyMs: 0 } } });
  await stub.dispatch('content-generate-1', [generate]);
  await eventually(() => stub.resultOf(generate.taskId), { description: 'article' });
  const article = stub.resultOf(generate.taskId)!.result as { relatedInsights: string[] };
  expect(article.relatedInsights).toEqual(expect.arrayContaining(topics));
});

it('serves health and metrics', async () => {
  const health = await fetch(`${demo!.url}/health`);
  expect(health.status).toBe(200);
  const body = (await health.json()) as { status: string; agents: Array<{ id: string; registered: boolean }> };
  expect(body.status).toBe('ok');
  expect(body.agents.map((a) => a.id).sort()).toEqual([...AGENTS].sort());
  const metrics = await (await fetch(`${demo!.url}/metrics`)).text();
  expect(metrics).toMatch(/demo_agent_attempts_total\{agent="infra-noop-1",capability="infra.noop",outcome="succeeded"\} [1-9]/);
});

it('drains on SIGTERM: running work finishes, then the process exits 0', async () => {
  const task = makeTask('data.fetch', { input: { simulate: { latencyMs: 300 } } });
  await stub.dispatch('data-fetch-1', [task]);
  await eventually(() => stub.heartbeatsOf('data-fetch-1').some((h) => h.running.some((r) => r.taskId === task.taskId)), {
    description: 'task running',
  });
  const exit = await demo!.stop(15_000);
  expect(exit).toEqual({ code: 0, signal: null });
  await eventually(() => stub.resultOf(task.taskId), { description: 'result flushed before exit' });
  expect(stub.resultOf(task.taskId)!.outcome).toBe('succeeded');
  for (const id of AGENTS) {
    const last = stub.heartbeatsOf(id).at(-1)!;
    expect(last).toMatchObject({ mode: 'draining', running: [] });
  }
});
