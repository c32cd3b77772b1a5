import { randomUUID } from 'node:crypto';
import type { DemandReport, GrantReply } from '@swarm-mesh/contracts';
import { AllocatorCore } from '../src/core/allocator-core';
import { Ledger } from '../src/core/ledger';
import type { Pool } from '../src/core/model';

const OPTIONS = { leaseTtlMs: 300, slackMs: 100, reportIntervalMs: 50, holderTtlMs: 5000 };

function pool(limits: Pool['limits'], tenants: string[] = ['*']): Pool {
  return {
    id: randomUUID(),
    tenantId: 'owner',
    name: 'p',
    provider: 'sim',
    model: 'm',
    keyRef: null,
    capabilities: ['cap'],
    tenants,
    limits,
    pricing: undefined,
    defaultEstimate: undefined,
    paused: false,
    pausedUntil: null,
    pauseReason: null,
    createdAt: 0,
    updatedAt: 0,
    ledger: new Ledger(limits.windowMs ?? 60_000, limits.costPeriodMs ?? 86_400_000),
    served: new Map(),
    allotted: new Map(),
    admitRate: 0,
    tokenRate: 0,
    lastRateAt: 0,
    rateLimited: 0,
  };
}

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const report = (
  seq: number,
  p: Pool,
  entries: DemandReport['pools'][number]['entries'],
  spent: DemandReport['spent'] = [],
): DemandReport => ({
  holder: 'coordinator:test',
  seq,
  pools: [{ poolId: p.id, entries }],
  spent,
  admitted: [],
  ended: [],
  rateLimited: [],
});

describe('sliding-window accounting', () => {
  it.each([1, 2, 3, 4, 5])('never lets ANY window hold more than the limit, whenever credits are spent (seed %i)', (seed) => {
    const random = seeded(seed);
    const core = new AllocatorCore(OPTIONS);
    const W = 1000;
    const limit = 5000;
    const p = pool({ tokensPerMinute: limit, windowMs: W });
    core.pools.set(p.id, p);
    const uses: Array<{ at: number; tokens: number }> = [];
    let open: { grant: GrantReply['grants'][number]; at: number } | undefined;
    let spent = 0;
    for (let now = 0, seq = 0; now < 20_000; now += 10 + Math.floor(random() * 60), seq++) {
      // the holder consumes part of its open grant at random moments before it expires (plus dispatch delay ≤ slack)
      if (open?.grant.tokens) {
        const take = Math.min(open.grant.tokens - spent, Math.floor(random() * 3) * 100);
        if (take > 0 && now < open.at + OPTIONS.leaseTtlMs) {
          spent += take;
          uses.push({ at: now + Math.floor(random() * OPTIONS.slackMs), tokens: take });
        }
      }
      const closing = open
        ? [{ grantId: open.grant.grantId, requests: spent / 100, tokensIn: spent, tokensOut: 0, costUsd: 0, final: true }]
        : [];
      const reply = core.exchange(
        report(
          seq,
          p,
          [
            {
              tenantId: 't',
              queued: [0, 50, 0, 0],
              queuedTokensIn: 5000,
              queuedTokensOut: 0,
              queuedCostUsd: 0,
              oldestWaitMs: 10,
              running: 0,
            },
          ],
          closing,
        ),
        now,
        undefined,
      );
      open = reply.grants[0] ? { grant: reply.grants[0], at: now } : undefined;
      spent = 0;
    }
    uses.sort((a, b) => a.at - b.at);
    let worst = 0;
    for (let i = 0, j = 0, sum = 0; i < uses.length; i++) {
      sum += uses[i]!.tokens;
      while (uses[j]!.at <= uses[i]!.at - W) sum -= uses[j++]!.tokens;
      worst = Math.max(worst, sum);
    }
    expect(worst).toBeLessThanOrEqual(limit);
    // and the pool is actually used (not starved by conservatism)
    expect(uses.reduce((s, u) => s + u.tokens, 0)).toBeGreaterThan((20_000 / W) * limit * 0.3);
  });

  it('a closed grant returns its unspent rest to the window', () => {
    const core = new AllocatorCore(OPTIONS);
    const p = pool({ requestsPerMinute: 10, windowMs: 10_000 });
    core.pools.set(p.id, p);
    const entry = {
      tenantId: 't',
      queued: [0, 10, 0, 0],
      queuedTokensIn: 0,
      queuedTokensOut: 0,
      queuedCostUsd: 0,
      oldestWaitMs: 0,
      running: 0,
    };
    const g1 = core.exchange(report(0, p, [entry]), 0, undefined).grants[0]!;
    expect(g1.requests).toBe(10);
    const g2 = core.exchange(
      report(1, p, [entry], [{ grantId: g1.grantId, requests: 4, tokensIn: 0, tokensOut: 0, costUsd: 0, final: true }]),
      100,
      undefined,
    ).grants[0]!;
    expect(g2.requests).toBe(6);
  });
});

describe('slots', () => {
  it('split by weight under fair share; a tenant over its share gets nothing new', () => {
    const core = new AllocatorCore(OPTIONS);
    const p = pool({ concurrency: 8 });
    core.pools.set(p.id, p);
    core.policies.set(`owner|${p.id}`, {
      kind: 'fair_share',
      weights: { a: 3, b: 1 },
      agingStepMs: 1000,
      starvationMs: 60_000,
      preemption: true,
    });
    const e = (tenantId: string, running: number) => ({
      tenantId,
      queued: [0, 100, 0, 0],
      queuedTokensIn: 0,
      queuedTokensOut: 0,
      queuedCostUsd: 0,
      oldestWaitMs: 0,
      running,
    });
    const r = core.exchange(report(0, p, [e('a', 0), e('b', 0)]), 0, undefined);
    expect(Object.fromEntries(r.grants.map((g) => [g.tenantId, g.slots]))).toEqual({ a: 6, b: 2 });
  });

  it('an urgent waiter is served first; a paused pool grants nothing', () => {
    const core = new AllocatorCore(OPTIONS);
    const p = pool({ concurrency: 1 });
    core.pools.set(p.id, p);
    const e = (tenantId: string, queued: number[]) => ({
      tenantId,
      queued,
      queuedTokensIn: 0,
      queuedTokensOut: 0,
      queuedCostUsd: 0,
      oldestWaitMs: 0,
      running: 0,
    });
    const r = core.exchange(report(0, p, [e('low', [5, 0, 0, 0]), e('crit', [0, 0, 0, 1])]), 0, undefined);
    expect(Object.fromEntries(r.grants.map((g) => [g.tenantId, g.slots]))).toEqual({ low: 0, crit: 1 });
    core.pauseForRateLimit(p.id, 1000, 0);
    const paused = core.exchange(report(1, p, [e('crit', [0, 0, 0, 1])]), 10, undefined);
    expect(paused.grants[0]!.slots).toBe(0);
    expect(core.exchange(report(2, p, [e('crit', [0, 0, 0, 1])]), 1001, undefined).grants[0]!.slots).toBe(1);
  });

  it('allotments lapse with their grants: once the holder stops reporting, explicit allocations get the slots back', () => {
    const core = new AllocatorCore(OPTIONS);
    const p = pool({ concurrency: 4 });
    core.pools.set(p.id, p);
    const entry = {
      tenantId: 'a',
      queued: [0, 6, 0, 0],
      queuedTokensIn: 0,
      queuedTokensOut: 0,
      queuedCostUsd: 0,
      oldestWaitMs: 0,
      running: 0,
    };
    const r = core.exchange(report(0, p, [entry]), 0, undefined);
    expect(r.grants[0]!.slots).toBe(4);
    const req = { requests: 0, tokensIn: 0, tokensOut: 0, costUsd: 0, slots: 4, ttlMs: 100, holder: 'ops' };
    // while the grant holds, its slots are taken
    expect(() => core.allocate(p, 'a', req, OPTIONS.leaseTtlMs - 1)).toThrow(/rate|retry/i);
    // its tasks are done and the holder reports no more demand for the pool: the allotment lapses with the grant
    const ex = core.allocate(p, 'a', req, OPTIONS.leaseTtlMs + 1);
    expect(ex.slots).toBe(4);
  });
});

describe('budgets', () => {
  it('reserve estimates at admission and reconcile with the reported cost', () => {
    const core = new AllocatorCore(OPTIONS);
    const p = pool({ concurrency: 10 });
    core.pools.set(p.id, p);
    core.budgets.set('b', {
      id: 'b',
      tenantId: 't',
      workflowId: null,
      limitUsd: 1,
      periodMs: 60_000,
      nearLimitRatio: 0.5,
      action: 'reject',
      spentUsd: 0,
      reservedUsd: 0,
      periodStartedAt: 0,
      createdAt: 0,
      updatedAt: 0,
      dirty: false,
    });
    const taskId = randomUUID();
    const admitted = {
      taskId,
      attempt: 1,
      poolId: p.id,
      tenantId: 't',
      capability: 'cap',
      priority: 'MEDIUM' as const,
      grantId: randomUUID(),
      tokensIn: 10,
      tokensOut: 0,
      costUsd: 0.6,
    };
    const r1 = core.exchange({ ...report(0, p, []), admitted: [admitted] }, 0, undefined);
    expect(r1.budgets[0]).toMatchObject({ state: 'near_limit', creditUsd: 0.4 });
    const r2 = core.exchange(
      { ...report(1, p, []), ended: [{ taskId, attempt: 1, poolId: p.id, outcome: 'succeeded', costUsd: 1.2 }] },
      10,
      undefined,
    );
    expect(r2.budgets[0]).toMatchObject({ state: 'exhausted', creditUsd: 0, spentUsd: 1.2 });
    // the next period starts afresh
    expect(core.exchange(report(2, p, []), 60_001, undefined).budgets[0]).toMatchObject({ state: 'ok', spentUsd: 0 });
  });
});
