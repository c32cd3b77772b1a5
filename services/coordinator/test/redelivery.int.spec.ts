import { randomUUID } from 'node:crypto';
import { AgentProtocol, createEnvelope, encodeEnvelope, type ResultBatch } from '@swarm-mesh/contracts';
import { eventually } from '@swarm-mesh/testing';
import { TaskMesh } from './support/task-mesh';

/**
 * A consumer that did the work but crashed before acking gets the same message again: the second
 * delivery must change nothing. Here the "redelivery" is the same result batch published again
 * under new message ids (so JetStream cannot de-duplicate it), after the task finished.
 */
describe('redelivered results change nothing', () => {
  let mesh: TaskMesh;

  beforeAll(async () => {
    mesh = await TaskMesh.start();
  });

  afterAll(async () => {
    await mesh?.stop();
  });

  it('applies a result once, however often it is delivered', async () => {
    let captured: ResultBatch | undefined;
    const agent = await mesh.agent({ id: 'redeliver-1', domain: 'infra', concurrency: 2 }, { 'echo.work': (ctx) => ({ n: ctx.input.n }) });
    // capture the batch the agent publishes
    const sub = mesh.bus.subscribe(AgentProtocol.results, (body) => {
      captured ??= body;
    });
    const [task] = await mesh.submit([{ capability: 'echo.work', input: { n: 7 } }]);
    const [done] = await mesh.waitFor([task!.id]);
    await eventually(() => captured !== undefined, { description: 'the result batch seen on the wire' });
    sub.unsubscribe();
    const instanceId = captured!.instanceId;

    // the same result, delivered twice more; and a conflicting one for the same (task, epoch)
    for (let i = 0; i < 2; i++) {
      await mesh.bus.publishDurable(AgentProtocol.results, captured!, { params: ['redeliver-1'], msgId: randomUUID() });
    }
    const forged: ResultBatch = {
      agentId: 'redeliver-1',
      instanceId,
      results: captured!.results.map((r) => ({ ...r, result: { n: 999 } })),
    };
    await mesh.bus.publishDurable(AgentProtocol.results, forged, { params: ['redeliver-1'], msgId: randomUUID() });

    // the coordinator has consumed all three (the stream is a work queue: it is empty again)
    const jsm = await mesh.bus.jsm();
    await eventually(async () => (await jsm.streams.info(mesh.bus.name('SWARM_RESULTS'))).state.messages === 0, {
      description: 'redeliveries consumed',
    });
    const after = await mesh.get(task!.id);
    expect(after.state).toBe('succeeded');
    expect(after.result).toEqual({ n: 7 });
    expect(after.attempts).toEqual(done!.attempts);
    expect(after.updatedAt).toBe(done!.updatedAt);
    const events = (await mesh.taskEvents()).filter((e) => e.data.taskId === task!.id && e.type === 'task.succeeded');
    expect(events).toHaveLength(1);
    await agent.stop();
  });

  it('a result the contracts refuse (a string Postgres cannot store) fails its attempt at once with INVALID_RESULT', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const agent = await mesh.agent(
      { id: 'raw-1', domain: 'infra', concurrency: 1 },
      {
        'raw.work': async () => {
          await held;
          return { text: 'late and clean' };
        },
      },
    );
    const [task] = await mesh.submit([{ capability: 'raw.work', retry: { maxAttempts: 3, backoffMs: [10] } }]);
    await eventually(async () => (await mesh.get(task!.id)).state === 'running', { description: 'the attempt running' });
    const running = await mesh.get(task!.id);
    const epoch = running.attempts.at(-1)!.epoch;
    // what a non-SDK agent might send: a result holding U+0000 (the SDK itself refuses to send one)
    const now = new Date().toISOString();
    const env = createEnvelope({
      from: 'agent:raw-1',
      to: 'coordinator',
      type: AgentProtocol.results.name,
      body: {
        agentId: 'raw-1',
        instanceId: randomUUID(),
        results: [
          { taskId: task!.id, attempt: 1, epoch, outcome: 'succeeded', result: { text: 'a\u0000b' }, startedAt: now, finishedAt: now },
        ],
      },
    });
    await mesh.bus.js().publish(mesh.bus.subject(AgentProtocol.results.subjectFor('raw-1')), encodeEnvelope(env), { msgID: randomUUID() });
    // not retried (the same work would give the same result): dead-lettered with the reason
    const [failed] = await mesh.waitFor([task!.id], ['dead_lettered']);
    expect(failed!.attempts).toHaveLength(1);
    expect(failed!.error).toMatchObject({ code: 'INVALID_RESULT', retryable: false });
    expect(failed!.error!.message).toMatch(/^result refused: /);
    expect(failed!.result).toBeNull();
    // the agent's own result for the fenced attempt changes nothing
    release();
    const jsm = await mesh.bus.jsm();
    await eventually(async () => (await jsm.streams.info(mesh.bus.name('SWARM_RESULTS'))).state.messages === 0, {
      description: 'results consumed',
    });
    const after = await mesh.get(task!.id);
    expect(after.state).toBe('dead_lettered');
    expect(after.updatedAt).toBe(failed!.updatedAt);
    await agent.stop();
  });
});
