import type { FlagStore } from '@swarm-mesh/messaging';
import type { ServiceConfig } from '@swarm-mesh/service-kit';
import { Analyzer } from '../src/analysis/analyzer';
import { LeaderLock } from '../src/analysis/leader-lock';
import type { OptimizerRuntime } from '../src/optimizer.runtime';
import type { RecommendationService } from '../src/recommendations/recommendation.service';

/** Runs queued microtasks and the I/O callbacks behind them (no timers involved). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Analyzer periodic cycle', () => {
  afterEach(() => jest.restoreAllMocks());

  it('skips timer firings while a cycle runs instead of queueing one per firing', async () => {
    jest.spyOn(LeaderLock.prototype, 'tryAcquire').mockResolvedValue(true);
    jest.spyOn(LeaderLock.prototype, 'release').mockResolvedValue(undefined);
    let finishFirst!: (rows: unknown[]) => void;
    const query = jest
      .fn<Promise<unknown[]>, [string, unknown[]]>()
      .mockImplementationOnce(() => new Promise((resolve) => (finishFirst = resolve)))
      .mockResolvedValue([]);
    const logger = { error: jest.fn(), warn: jest.fn(), info: jest.fn(), debug: jest.fn() };
    const rt = { ds: { query }, options: { analyzeIntervalMs: 0, baselineWindowMs: 60_000 }, logger } as unknown as OptimizerRuntime;
    const config = { database: { url: 'postgres://unused' } } as unknown as ServiceConfig;
    const analyzer = new Analyzer(rt, {} as RecommendationService, {} as FlagStore, config);

    const first = analyzer.periodic();
    await settle();
    expect(query).toHaveBeenCalledTimes(1); // the first cycle is reading its tenants

    // the interval fires twice more while it runs
    const firings = [analyzer.periodic(), analyzer.periodic()];
    await settle();
    finishFirst([]); // no active tenants: the first cycle ends
    await Promise.all([first, ...firings]);
    expect(query).toHaveBeenCalledTimes(1); // those firings were skipped, not queued behind it

    await analyzer.periodic(); // the next firing after it runs a cycle again
    expect(query).toHaveBeenCalledTimes(2);
    expect(logger.error).not.toHaveBeenCalled();
    await analyzer.beforeApplicationShutdown();
  });
});
