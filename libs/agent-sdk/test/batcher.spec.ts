import { backoffDelay, Batcher, CpuMeter, ProcessStats } from '@swarm-mesh/agent-sdk';

describe('Batcher', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('gathers items for delayMs after the first one', () => {
    const batches: number[][] = [];
    const b = new Batcher<number>(10, 100, (items) => batches.push(items));
    b.add(1);
    b.add(2);
    expect(batches).toEqual([]);
    expect(b.size).toBe(2);
    jest.advanceTimersByTime(10);
    expect(batches).toEqual([[1, 2]]);
    b.add(3);
    jest.advanceTimersByTime(10);
    expect(batches).toEqual([[1, 2], [3]]);
  });

  it('flushes at maxItems and on demand, in slices of maxItems', () => {
    const batches: number[][] = [];
    const b = new Batcher<number>(1000, 3, (items) => batches.push(items));
    [1, 2, 3].forEach((i) => b.add(i));
    expect(batches).toEqual([[1, 2, 3]]);
    b.add(4);
    b.flushNow();
    expect(batches).toEqual([[1, 2, 3], [4]]);
    b.add(5);
    b.clear();
    jest.advanceTimersByTime(1000);
    expect(batches).toHaveLength(2);
  });

  it('with delay 0 flushes on the next turn of the event loop', () => {
    const batches: number[][] = [];
    const b = new Batcher<number>(0, 10, (items) => batches.push(items));
    b.add(1);
    b.add(2);
    expect(batches).toEqual([]);
    jest.runOnlyPendingTimers();
    expect(batches).toEqual([[1, 2]]);
  });

  it('with busyWindowMs flushes an idle batcher on the next turn and gathers for delayMs while busy', () => {
    const batches: number[][] = [];
    const b = new Batcher<number>(10, 100, (items) => batches.push(items), undefined, 50);
    b.add(1);
    jest.advanceTimersByTime(1);
    expect(batches).toEqual([[1]]);
    // just flushed: busy, so the next item waits delayMs for companions
    b.add(2);
    jest.advanceTimersByTime(1);
    b.add(3);
    expect(batches).toEqual([[1]]);
    jest.advanceTimersByTime(9);
    expect(batches).toEqual([[1], [2, 3]]);
    // nothing sent for longer than the window: idle again
    jest.advanceTimersByTime(60);
    b.add(4);
    jest.advanceTimersByTime(1);
    expect(batches).toEqual([[1], [2, 3], [4]]);
  });

  it('expedite() sends what waits on the next turn instead of after the delay', () => {
    const batches: number[][] = [];
    const b = new Batcher<number>(1000, 100, (items) => batches.push(items));
    b.expedite(); // nothing waits: nothing happens
    b.add(1);
    b.add(2);
    b.expedite();
    jest.advanceTimersByTime(1);
    expect(batches).toEqual([[1, 2]]);
    jest.advanceTimersByTime(2000);
    expect(batches).toEqual([[1, 2]]);
  });
});

describe('backoffDelay', () => {
  const o = { initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2, jitter: 0 };
  it('grows exponentially up to the cap', () => {
    expect([1, 2, 3, 4, 5, 10].map((n) => backoffDelay(n, o))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
  it('spreads by the jitter', () => {
    expect(backoffDelay(1, { ...o, jitter: 0.5 }, () => 0)).toBe(50);
    expect(backoffDelay(1, { ...o, jitter: 0.5 }, () => 1)).toBe(150);
  });
});

describe('CpuMeter', () => {
  it('reports a non-negative percentage', () => {
    const m = new CpuMeter();
    let x = 0;
    for (let i = 0; i < 1e5; i++) x += Math.sqrt(i);
    expect(x).toBeGreaterThan(0);
    const v = m.sample();
    expect(v).toBeGreaterThanOrEqual(0);
    expect(Number.isFinite(v)).toBe(true);
  });
});

describe('ProcessStats', () => {
  it('reads the process figures once per interval, shared by every caller', () => {
    const shared = new ProcessStats(60_000);
    const a = shared.read();
    expect(a.memoryRssBytes).toBeGreaterThan(0);
    expect(a.cpuPercent).toBeGreaterThanOrEqual(0);
    expect(shared.read()).toBe(a); // within the interval: the same figures, nothing re-read
    const fresh = new ProcessStats(0);
    const first = fresh.read();
    expect(fresh.read()).not.toBe(first); // no interval: read again
  });
});
