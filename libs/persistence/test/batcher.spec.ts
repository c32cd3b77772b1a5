import { Batcher } from '@swarm-mesh/persistence';
import { deferred, type Deferred, eventually } from '@swarm-mesh/testing';

/** A flush function that records each batch and lets the test decide when it commits. */
function controlledFlush<I>() {
  const batches: I[][] = [];
  const gates: Array<Deferred<void>> = [];
  const flush = async (items: I[]): Promise<string[]> => {
    batches.push([...items]);
    const gate = deferred();
    gates.push(gate);
    await gate.promise;
    return items.map((i) => `ok:${String(i)}`);
  };
  return { batches, gates, flush };
}

/** Waits until `n` batches have started. */
async function batchesStarted(batches: unknown[][], n: number): Promise<void> {
  await eventually(() => batches.length >= n, { timeoutMs: 2_000, intervalMs: 1, description: `${n} batches started` });
  expect(batches).toHaveLength(n);
}

describe('Batcher (group commit)', () => {
  it('flushes concurrent adds together and gives each caller its own result', async () => {
    const batches: number[][] = [];
    const b = new Batcher<number, string>({
      maxDelayMs: 5,
      flush: async (items) => {
        batches.push(items);
        return items.map((i) => `r${i}`);
      },
    });
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => b.add(i)));
    expect(results).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
    expect(batches).toEqual([[1, 2, 3, 4, 5]]);
    await b.close();
  });

  it('addMany resolves in order', async () => {
    const b = new Batcher<string, number>({ flush: async (items) => items.map((s) => s.length) });
    await expect(b.addMany(['a', 'bb', 'ccc'])).resolves.toEqual([1, 2, 3]);
    await b.close();
  });

  it('respects maxBatch and keeps one batch in flight (strict group commit)', async () => {
    const c = controlledFlush<number>();
    const b = new Batcher<number, string>({ maxBatch: 10, maxDelayMs: 1_000, flush: c.flush });
    const all = Promise.all(Array.from({ length: 25 }, (_, i) => b.add(i)));
    // 10 waiting → flushed at once (synchronously), without waiting for maxDelayMs
    expect(c.batches.map((x) => x.length)).toEqual([10]);
    expect(b.pending).toBe(15);
    c.gates[0]!.resolve();
    // the next batch starts as soon as the previous one committed, again at most 10
    await batchesStarted(c.batches, 2);
    expect(c.batches.map((x) => x.length)).toEqual([10, 10]);
    c.gates[1]!.resolve();
    await batchesStarted(c.batches, 3);
    expect(c.batches.map((x) => x.length)).toEqual([10, 10, 5]);
    c.gates[2]!.resolve();
    const results = await all;
    expect(results).toEqual(Array.from({ length: 25 }, (_, i) => `ok:${i}`));
    expect(c.batches.flat()).toEqual(Array.from({ length: 25 }, (_, i) => i));
    await b.close();
  });

  it('items arriving during a flush go out together in the next batch', async () => {
    const c = controlledFlush<string>();
    const b = new Batcher<string, string>({ maxDelayMs: 0, flush: c.flush });
    const first = b.add('a');
    await batchesStarted(c.batches, 1);
    expect(c.batches).toEqual([['a']]);
    const later = ['b', 'c', 'd'].map((x) => b.add(x));
    // one batch in flight: the newcomers wait for it whatever maxDelayMs says
    expect(b.pending).toBe(3);
    c.gates[0]!.resolve();
    await first;
    await batchesStarted(c.batches, 2);
    expect(c.batches).toEqual([['a'], ['b', 'c', 'd']]);
    c.gates[1]!.resolve();
    await expect(Promise.all(later)).resolves.toEqual(['ok:b', 'ok:c', 'ok:d']);
    await b.close();
  });

  it('allows several batches in flight with concurrency > 1', async () => {
    const c = controlledFlush<number>();
    const b = new Batcher<number, string>({ maxBatch: 2, concurrency: 2, maxDelayMs: 1_000, flush: c.flush });
    const all = Promise.all([1, 2, 3, 4, 5].map((i) => b.add(i)));
    expect(c.batches).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(b.pending).toBe(1);
    c.gates[1]!.resolve();
    await batchesStarted(c.batches, 3);
    expect(c.batches).toEqual([[1, 2], [3, 4], [5]]);
    c.gates[0]!.resolve();
    c.gates[2]!.resolve();
    await expect(all).resolves.toEqual(['ok:1', 'ok:2', 'ok:3', 'ok:4', 'ok:5']);
    await b.close();
  });

  it('a failing flush rejects every item of that batch, and only that batch', async () => {
    let call = 0;
    const b = new Batcher<number, number>({
      maxBatch: 3,
      maxDelayMs: 1_000,
      flush: async (items) => {
        call++;
        if (call === 1) throw new Error('deadlock detected');
        return items.map((i) => i * 10);
      },
    });
    const outcomes = await Promise.allSettled([1, 2, 3, 4, 5, 6].map((i) => b.add(i)));
    expect(outcomes.slice(0, 3)).toEqual([1, 2, 3].map(() => ({ status: 'rejected', reason: new Error('deadlock detected') })));
    expect(outcomes.slice(3)).toEqual([40, 50, 60].map((value) => ({ status: 'fulfilled', value })));
    await b.close();
  });

  it('rejects the batch when flush returns the wrong number of results', async () => {
    const b = new Batcher<number, number>({ flush: async () => [1] });
    const outcomes = await Promise.allSettled([b.add(1), b.add(2)]);
    for (const o of outcomes) {
      expect(o.status).toBe('rejected');
      expect(String((o as PromiseRejectedResult).reason)).toMatch(/returned 1 results for 2 items/);
    }
    await b.close();
  });

  it('close() flushes what is queued at once and waits for it', async () => {
    const flushed: number[][] = [];
    const b = new Batcher<number, number>({
      maxDelayMs: 60_000,
      flush: async (items) => {
        flushed.push(items);
        return items;
      },
    });
    const pending = [b.add(1), b.add(2)];
    expect(flushed).toEqual([]);
    await b.close();
    expect(flushed).toEqual([[1, 2]]);
    await expect(Promise.all(pending)).resolves.toEqual([1, 2]);
  });

  it('close() waits for the batch in flight', async () => {
    const c = controlledFlush<number>();
    const b = new Batcher<number, string>({ maxDelayMs: 0, flush: c.flush });
    const item = b.add(1);
    await batchesStarted(c.batches, 1);
    let closed = false;
    const closing = b.close().then(() => (closed = true));
    await Promise.resolve();
    expect(closed).toBe(false);
    c.gates[0]!.resolve();
    await closing;
    await expect(item).resolves.toBe('ok:1');
  });

  it('refuses new items after close()', async () => {
    const b = new Batcher<number, number>({ flush: async (i) => i });
    await b.close();
    await expect(b.add(1)).rejects.toThrow('batcher closed');
    await b.close(); // idempotent
  });

  it('maxDelayMs 0 gathers what arrives in the same event-loop turn, without a timer', async () => {
    const c = controlledFlush<number>();
    const b = new Batcher<number, string>({ maxDelayMs: 0, concurrency: 2, flush: c.flush });
    const first = [1, 2, 3].map((i) => b.add(i));
    expect(c.batches).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(c.batches).toEqual([[1, 2, 3]]);
    const second = [4, 5].map((i) => b.add(i));
    await new Promise((r) => setImmediate(r));
    expect(c.batches).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
    for (const g of c.gates) g.resolve();
    await expect(Promise.all([...first, ...second])).resolves.toEqual(['ok:1', 'ok:2', 'ok:3', 'ok:4', 'ok:5']);
    await b.close();
  });

  it('busyWindowMs: an item finding the batcher idle leaves on the next turn; while busy, items wait maxDelayMs', async () => {
    const c = controlledFlush<number>();
    const b = new Batcher<number, string>({ maxDelayMs: 60_000, busyWindowMs: 60_000, concurrency: 2, flush: c.flush });
    const first = b.add(1);
    await new Promise((r) => setImmediate(r));
    expect(c.batches).toEqual([[1]]);
    c.gates[0]!.resolve();
    await expect(first).resolves.toBe('ok:1');
    // a batch left just now: the next item gathers companions for maxDelayMs (a minute here)
    const second = b.add(2);
    await new Promise((r) => setImmediate(r));
    expect(c.batches).toEqual([[1]]);
    const closing = b.close();
    expect(c.batches).toEqual([[1], [2]]);
    c.gates[1]!.resolve();
    await expect(second).resolves.toBe('ok:2');
    await closing;
  });

  it('a batch stops before its weight would exceed maxWeight, and always takes at least one item', async () => {
    const c = controlledFlush<number>();
    const b = new Batcher<number, string>({ maxDelayMs: 1_000, maxBatch: 100, weigh: (n) => n, maxWeight: 10, flush: c.flush });
    const all = [4, 5, 2, 30, 1, 1].map((i) => b.add(i));
    // close() flushes at once; concurrency 1: the rest follow one after the other
    const closing = b.close();
    expect(c.batches[0]).toEqual([4, 5]);
    c.gates[0]!.resolve();
    await batchesStarted(c.batches, 2);
    expect(c.batches[1]).toEqual([2]);
    c.gates[1]!.resolve();
    await batchesStarted(c.batches, 3);
    expect(c.batches[2]).toEqual([30]);
    c.gates[2]!.resolve();
    await batchesStarted(c.batches, 4);
    expect(c.batches[3]).toEqual([1, 1]);
    c.gates[3]!.resolve();
    await expect(Promise.all(all)).resolves.toEqual(['ok:4', 'ok:5', 'ok:2', 'ok:30', 'ok:1', 'ok:1']);
    await closing;
  });
});
