/** DEMO_PROCESS_PER_AGENT=true: a supervisor with one child process per agent. Needs the built dist/. */
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

const namespace = randomNamespace('demop');
let bus: MeshBus;
let stub: StubCoordinator;
let demo: ServiceProcess | undefined;

beforeAll(async () => {
  bus = await connectTestBus({ namespace, identity: 'coordinator' });
  stub = new StubCoordinator(bus, { heartbeatIntervalMs: 200 });
  await stub.start();
});

afterAll(async () => {
  if (demo && !demo.exited()) await demo.stop();
  await stub?.stop();
  if (bus) {
    await cleanupNamespace(bus);
    await bus.close();
  }
});

it('runs each agent in its own process and stops them all on SIGTERM', async () => {
  demo = await startServiceProcess('demo-swarm', {
    namespace,
    env: {
      DEMO_PROCESS_PER_AGENT: 'true',
      DEMO_CAPABILITIES: 'infra.noop,quality.review',
      DEMO_AGENTS_PER_CAPABILITY: '1',
      SHUTDOWN_GRACE_MS: '3000',
    },
  });
  expect(stub.registrations.map((r) => r.agentId).sort()).toEqual(['infra-noop-1', 'quality-review-1']);
  const health = (await (await fetch(`${demo.url}/health`)).json()) as { status: string; agents: Array<{ id: string; pid: number }> };
  expect(health.status).toBe('ok');
  expect(new Set(health.agents.map((a) => a.pid)).size).toBe(2);
  expect(health.agents.every((a) => a.pid !== demo!.pid)).toBe(true);

  const task = makeTask('quality.review', {
    input: { content: 'A fine article about pricing trends this week.', simulate: { latencyMs: 5 } },
  });
  await stub.dispatch('quality-review-1', [task]);
  await eventually(() => stub.resultOf(task.taskId), { description: 'review result' });
  expect(stub.resultOf(task.taskId)!.outcome).toBe('succeeded');

  expect(await demo.stop(20_000)).toEqual({ code: 0, signal: null });
  for (const id of ['infra-noop-1', 'quality-review-1']) {
    await eventually(() => stub.heartbeatsOf(id).at(-1)?.mode === 'draining', { description: `${id} drained` });
  }
});
