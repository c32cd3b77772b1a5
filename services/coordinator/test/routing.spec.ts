import type { AgentRecord } from '../src/engine/agent-record';
import { backoffDelay } from '../src/engine/backoff';
import { pickAgent } from '../src/engine/routing';
import type { TaskRecord } from '../src/engine/task-record';

function agent(id: string, running: number, concurrency = 4, metadata: Record<string, unknown> = {}): AgentRecord {
  const assigned = new Map<string, number>();
  for (let i = 0; i < running; i++) assigned.set(`${id}-t${i}`, 1);
  return { id, concurrency, assigned, metadata } as unknown as AgentRecord;
}

function task(over: Partial<TaskRecord> = {}): TaskRecord {
  return { id: 't', attempts: [], options: { maxAttempts: 3, backoffMs: [1], jitter: 0 }, ...over } as TaskRecord;
}

describe('pickAgent', () => {
  it('least_loaded picks the agent with the lowest load', () => {
    const a = [agent('a', 3), agent('b', 1), agent('c', 2)];
    expect(pickAgent(task(), a, 'least_loaded', { n: 0 })?.id).toBe('b');
  });

  it('round_robin cycles', () => {
    const a = [agent('a', 0), agent('b', 0), agent('c', 0)];
    const c = { n: 0 };
    expect([1, 2, 3, 4].map(() => pickAgent(task(), a, 'round_robin', c)?.id)).toEqual(['a', 'b', 'c', 'a']);
  });

  it('affinity sends one key to one agent', () => {
    const a = [agent('a', 0), agent('b', 0), agent('c', 0)];
    const t = task({
      options: { maxAttempts: 1, backoffMs: [1], jitter: 0, routing: { strategy: 'affinity', affinityKey: 'customer-42' } },
    });
    const first = pickAgent(t, a, 'affinity', { n: 0 })?.id;
    for (let i = 0; i < 10; i++) expect(pickAgent(t, a, 'affinity', { n: i })?.id).toBe(first);
  });

  it('a retry prefers an agent that has not run the task', () => {
    const a = [agent('a', 0), agent('b', 3)];
    const t = task({
      attempts: [{ attempt: 1, epoch: 1, agentId: 'a', dispatchedAt: 0, startedAt: 0, finishedAt: 1, outcome: 'failed', error: null }],
    });
    expect(pickAgent(t, a, 'least_loaded', { n: 0 })?.id).toBe('b');
  });

  describe('with routing weights', () => {
    const weights = [
      { pool: 'fast', weight: 0.9 },
      { pool: 'slow', weight: 0.1 },
    ];
    const agents = (): AgentRecord[] => [
      agent('a', 0, 4, { provider: 'slow' }),
      agent('b', 0, 4, { pool: 'fast' }),
      agent('c', 0, 4, { provider: 'slow' }),
      agent('d', 0, 4, {}),
    ];
    const share = (list: AgentRecord[], ids: string[], strategy: 'least_loaded' | 'round_robin' = 'least_loaded'): number => {
      let hits = 0;
      const c = { n: 0 };
      for (let i = 0; i < 1000; i++) {
        const id = pickAgent(task(), list, strategy, c, weights, () => (i + 0.5) / 1000)?.id;
        if (id !== undefined && ids.includes(id)) hits++;
      }
      return hits / 1000;
    };

    it('sends each pool its share of the traffic, whatever the number of agents per pool', () => {
      expect(share(agents(), ['b'])).toBeCloseTo(0.9, 2);
      expect(share(agents(), ['a', 'c'], 'round_robin')).toBeCloseTo(0.1, 2);
      expect(share(agents(), ['d'])).toBe(0); // an agent of no pool serves only when no weighted pool can
    });

    it('gives a full pool’s share to the others (quotas win over weights)', () => {
      const list = agents().filter((a) => a.id !== 'b'); // "fast" has no free slot now
      expect(share(list, ['a', 'c'])).toBe(1);
    });

    it('falls back to the strategy when no candidate belongs to a weighted pool', () => {
      const list = [agent('x', 2, 4, { provider: 'other' }), agent('y', 0)];
      expect(pickAgent(task(), list, 'least_loaded', { n: 0 }, weights, () => 0)?.id).toBe('y');
    });

    it('a pinned or affinity-keyed task ignores the weights', () => {
      const pinned = task({ options: { maxAttempts: 1, backoffMs: [1], jitter: 0, routing: { agentId: 'a' } } });
      expect(pickAgent(pinned, agents(), 'least_loaded', { n: 0 }, weights, () => 0)?.id).toBe('a');
      const keyed = task({
        options: { maxAttempts: 1, backoffMs: [1], jitter: 0, routing: { strategy: 'affinity', affinityKey: 'k' } },
      });
      const first = pickAgent(keyed, agents(), 'affinity', { n: 0 })?.id;
      for (let i = 0; i < 20; i++) expect(pickAgent(keyed, agents(), 'affinity', { n: i }, weights, () => i / 20)?.id).toBe(first);
    });
  });

  it('a pinned task goes only to its agent', () => {
    const a = [agent('a', 0), agent('b', 0)];
    const t = task({ options: { maxAttempts: 1, backoffMs: [1], jitter: 0, routing: { agentId: 'b' } } });
    expect(pickAgent(t, a, 'least_loaded', { n: 0 })?.id).toBe('b');
    expect(pickAgent(t, [a[0]!], 'least_loaded', { n: 0 })).toBeUndefined();
  });
});

describe('backoffDelay', () => {
  it('follows the list and repeats its last entry', () => {
    const list = [5000, 15000, 30000];
    expect([1, 2, 3, 4, 9].map((n) => backoffDelay(list, n, 0))).toEqual([5000, 15000, 30000, 30000, 30000]);
  });

  it('applies jitter within bounds', () => {
    expect(backoffDelay([1000], 1, 0.1, () => 0)).toBe(900);
    expect(backoffDelay([1000], 1, 0.1, () => 1)).toBe(1100);
  });
});
