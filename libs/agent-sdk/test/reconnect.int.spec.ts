import { deferred, eventually, type PrivateNats, randomNamespace, startPrivateNats } from '@swarm-mesh/testing';
import { connectMesh, MeshBus } from '@swarm-mesh/messaging';
import { AgentPool } from './support/helpers';
import { makeTask, StubCoordinator } from './support/stub-coordinator';

const namespace = randomNamespace('sdkrc');
let nats: PrivateNats;
let bus: MeshBus;
let stub: StubCoordinator;
let pool: AgentPool;

beforeAll(async () => {
  nats = await startPrivateNats();
  const nc = await connectMesh({ servers: nats.url, name: 'stub-coordinator', reconnectTimeWaitMs: 50 });
  bus = new MeshBus({ nc, identity: 'coordinator', namespace });
  stub = new StubCoordinator(bus, { heartbeatIntervalMs: 100 });
  await stub.start();
  pool = new AgentPool(namespace, nats.url);
});

afterAll(async () => {
  await pool?.stopAll();
  await stub?.stop();
  await bus?.close();
  await nats?.close();
});

it('re-registers with the same instance after NATS restarts, keeping the attempts the coordinator keeps', async () => {
  const agent = pool.make({ id: 'rc-agent', concurrency: 4 });
  const gate = deferred();
  agent.handle('test.wait', async (ctx) => {
    await Promise.race([gate.promise, new Promise((r) => ctx.signal.addEventListener('abort', r))]);
    if (ctx.signal.aborted) throw ctx.signal.reason;
    return { done: true };
  });
  agent.handle('test.noop', () => ({}));
  await agent.start();
  const instanceId = agent.instanceId;
  expect(stub.registrations.filter((r) => r.agentId === 'rc-agent')).toHaveLength(1);

  const kept = makeTask('test.wait');
  const dropped = makeTask('test.wait');
  await stub.dispatch('rc-agent', [kept, dropped]);
  await eventually(() => agent.runningCount === 2, { description: 'both attempts running' });
  stub.keep = () => [{ taskId: kept.taskId, epoch: 1 }];
  const outcomes = new Map<string, string>();
  agent.on('task:finished', (e) => outcomes.set(e.taskId, e.outcome));

  await nats.restart();

  await eventually(() => stub.registrations.filter((r) => r.agentId === 'rc-agent').length >= 2, {
    timeoutMs: 20_000,
    description: 're-registration after the restart',
  });
  const again = stub.registrations.filter((r) => r.agentId === 'rc-agent').at(-1)!;
  expect(again.instanceId).toBe(instanceId);
  await eventually(() => outcomes.get(dropped.taskId) === 'superseded', { description: 'the dropped attempt aborted' });
  expect(agent.runningCount).toBe(1);

  gate.resolve();
  const after = makeTask('test.noop');
  await stub.dispatch('rc-agent', [after]);
  await eventually(() => stub.resultOf(kept.taskId) && stub.resultOf(after.taskId), {
    timeoutMs: 20_000,
    description: 'results after the restart',
  });
  expect(stub.resultOf(kept.taskId)).toMatchObject({ outcome: 'succeeded', result: { done: true } });
  expect(stub.resultOf(dropped.taskId)).toBeUndefined();
});
