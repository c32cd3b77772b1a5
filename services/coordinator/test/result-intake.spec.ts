import { DatabaseUnavailableError, InternalError, type ResultBatch } from '@swarm-mesh/contracts';
import type { BatchItem } from '@swarm-mesh/messaging';
import { silentLogger } from '@swarm-mesh/telemetry';
import { applyResultItems, POISON_RESULT_DELIVERY, refusedResultAttempts } from '../src/engine/result-intake';

interface FakeMsg {
  info: { deliveryCount: number };
  terminated: boolean;
  term(): void;
}

function item(agentId: string, deliveryCount: number): BatchItem<ResultBatch> & { msg: FakeMsg } {
  const msg: FakeMsg = {
    info: { deliveryCount },
    terminated: false,
    term() {
      this.terminated = true;
    },
  };
  const body = { agentId, instanceId: 'i', results: [{ taskId: `task-of-${agentId}`, epoch: 7 }] } as unknown as ResultBatch;
  return { body, ctx: {} as never, msg } as unknown as BatchItem<ResultBatch> & { msg: FakeMsg };
}

/** An engine whose result application has a bug for agent "poison" and a database outage for agent "db". */
class FakeEngine {
  readonly applied: string[] = [];
  readonly abandoned: Array<{ agentId: string; reason: string }> = [];
  abandonFails = false;

  applyResults(batch: ResultBatch): Promise<void> {
    if (batch.agentId === 'poison') return Promise.reject(new InternalError('the coordinator failed to apply this request'));
    if (batch.agentId === 'db') return Promise.reject(new DatabaseUnavailableError('postgres: down'));
    this.applied.push(batch.agentId);
    return Promise.resolve();
  }

  abandonResults(batch: ResultBatch, reason: string): Promise<void> {
    if (this.abandonFails) return Promise.reject(new DatabaseUnavailableError('postgres: down'));
    this.abandoned.push({ agentId: batch.agentId, reason });
    return Promise.resolve();
  }
}

describe('applyResultItems (results intake)', () => {
  it('a batch of good results resolves (the consumer acks it)', async () => {
    const engine = new FakeEngine();
    await applyResultItems(engine, [item('a', 1), item('b', 1)], silentLogger);
    expect(engine.applied).toEqual(['a', 'b']);
  });

  it('a message refused with INTERNAL is redelivered before its poison delivery', async () => {
    const engine = new FakeEngine();
    const poison = item('poison', POISON_RESULT_DELIVERY - 1);
    await expect(applyResultItems(engine, [item('a', 1), poison], silentLogger)).rejects.toThrow(InternalError);
    expect(engine.applied).toEqual(['a']); // applied (idempotent when redelivered)
    expect(poison.msg.terminated).toBe(false);
    expect(engine.abandoned).toEqual([]);
  });

  it('on its poison delivery the message is dropped and its attempts fail; the rest of the batch is acked', async () => {
    const engine = new FakeEngine();
    const poison = item('poison', POISON_RESULT_DELIVERY);
    await applyResultItems(engine, [item('a', 1), poison], silentLogger);
    expect(poison.msg.terminated).toBe(true);
    expect(engine.abandoned).toEqual([{ agentId: 'poison', reason: expect.stringContaining('could not apply this result') }]);
    expect(engine.applied).toEqual(['a']);
  });

  it('other failures are always redelivered, however often', async () => {
    const engine = new FakeEngine();
    const db = item('db', 50);
    await expect(applyResultItems(engine, [db], silentLogger)).rejects.toThrow(DatabaseUnavailableError);
    expect(db.msg.terminated).toBe(false);
  });

  it('keeps the poison message when giving up on it cannot be recorded', async () => {
    const engine = new FakeEngine();
    engine.abandonFails = true;
    const poison = item('poison', POISON_RESULT_DELIVERY + 2);
    await expect(applyResultItems(engine, [poison], silentLogger)).rejects.toThrow(DatabaseUnavailableError);
    expect(poison.msg.terminated).toBe(false);
  });
});

describe('refusedResultAttempts (what a results message that failed validation still says)', () => {
  const T1 = '4b722e03-3822-4438-8ac6-d09a04b3dce8';
  const T2 = '5c833f14-4933-4549-9bd7-e1ab15c4edf9';
  const raw = (body: unknown): Uint8Array => Buffer.from(JSON.stringify({ id: 'x', body }));

  it('names the agent from the subject and the well-formed (taskId, epoch) pairs of the body', () => {
    const data = raw({
      agentId: 'someone-else',
      results: [
        { taskId: T1, epoch: 2, result: { text: 'a\u0000b' } },
        { taskId: T1, epoch: 2 },
        { taskId: 'not-a-uuid', epoch: 1 },
        { taskId: T2, epoch: 0 },
        { taskId: T2, epoch: '3' },
        null,
        { taskId: T2, epoch: 3 },
      ],
    });
    expect(refusedResultAttempts(data, 'ns1.swarm.agent.raw-1.results')).toEqual({
      agentId: 'raw-1',
      attempts: [
        { taskId: T1, epoch: 2 },
        { taskId: T2, epoch: 3 },
      ],
    });
    expect(refusedResultAttempts(data, 'swarm.agent.raw-1.results')?.agentId).toBe('raw-1');
  });

  it('null when nothing can be read', () => {
    expect(refusedResultAttempts(Buffer.from('{not json'), 'swarm.agent.a.results')).toBeNull();
    expect(refusedResultAttempts(raw({ results: 'x' }), 'swarm.agent.a.results')).toBeNull();
    expect(refusedResultAttempts(raw({ results: [{ taskId: 'x', epoch: 1 }] }), 'swarm.agent.a.results')).toBeNull();
    expect(refusedResultAttempts(raw({ results: [{ taskId: T1, epoch: 1 }] }), 'swarm.agent.bad id.results')).toBeNull();
    expect(refusedResultAttempts(raw({ results: [{ taskId: T1, epoch: 1 }] }), 'swarm.evt.task.batch')).toBeNull();
    expect(refusedResultAttempts(Buffer.from('null'), 'swarm.agent.a.results')).toBeNull();
  });
});
