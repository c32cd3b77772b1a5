/**
 * Issue #5 on real NATS and Postgres, through the public REST API: token-aware admission holds a
 * provider's hard limit under 3× overload, a provider 429 pauses the pool, budgets act at their
 * limit, and bad input is refused with a clear 4xx and nothing written.
 * Build first: `npx tsc -b tsconfig.build.json`.
 */
import { type BudgetDto, type MonitoringDto, type PoolDto, type RoutingWeightsDto, TUNING_KV } from '@swarm-mesh/contracts';
import { connectTestBus, eventually, type OtlpReceiver, type ServiceProcess, startOtlpReceiver } from '@swarm-mesh/testing';
import type { ApiErrorBody, E2eMesh } from './support/e2e-mesh';
import { metric, must, settle, sleepMs, startResourcesMesh, submit } from './support/resources-mesh';

let mesh: E2eMesh;
let demo: ServiceProcess;
let receiver: OtlpReceiver;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  mesh = await startResourcesMesh(receiver.url);
  demo = await mesh.process('demo-swarm', {
    DEMO_CAPABILITIES: 'content.generate,intel.analyze',
    DEMO_AGENTS_PER_CAPABILITY: '1',
    DEMO_CONCURRENCY: '8',
    DEMO_LATENCY_MS: '10',
    HTTP_PORT: '0',
  });
});

afterAll(async () => {
  await mesh?.stop();
  await receiver?.close();
});

/** Leases the allocator recorded on a pool. */
async function used(poolId: string): Promise<number> {
  const r = await mesh.pg.query<{ n: string }>(`SELECT count(*) AS n FROM resources.leases WHERE pool_id = $1`, [poolId]);
  return Number(r.rows[0]!.n);
}

async function count(table: string): Promise<number> {
  const r = await mesh.pg.query<{ n: string }>(`SELECT count(*) AS n FROM resources.${table}`);
  return Number(r.rows[0]!.n);
}

describe('bad input gets a clear 4xx and nothing is written', () => {
  it('negative limits, an overlapping reservation of the same owner and an unknown pool', async () => {
    const pools = await count('pools');
    const neg = await mesh.api<ApiErrorBody>('POST', '/resources/pools', {
      name: 'neg',
      provider: 'sim',
      model: 'm',
      capabilities: [],
      limits: { tokensPerMinute: -5 },
    });
    expect(neg.status).toBe(400);
    expect(neg.body.code).toBe('VALIDATION_FAILED');
    expect(neg.body.details.violations?.map((v) => v.path)).toContain('limits.tokensPerMinute');
    expect(await count('pools')).toBe(pools);

    const pool = await must<PoolDto>(
      mesh,
      'POST',
      '/resources/pools',
      { name: 'val-pool', provider: 'sim', model: 'm', capabilities: ['val.work'], limits: { concurrency: 4 } },
      201,
    );
    const t0 = Date.now() + 60_000;
    const window = { poolId: pool.id, startsAt: new Date(t0).toISOString(), endsAt: new Date(t0 + 60_000).toISOString(), slots: 2 };
    await must(mesh, 'POST', '/resources/reservations', window, 201);
    const reservations = await count('reservations');
    const overlap = await mesh.api<ApiErrorBody>('POST', '/resources/reservations', {
      ...window,
      startsAt: new Date(t0 + 30_000).toISOString(),
      endsAt: new Date(t0 + 90_000).toISOString(),
    });
    expect(overlap.status).toBe(409);
    expect(overlap.body.code).toBe('RESERVATION_CONFLICT');
    const backwards = await mesh.api<ApiErrorBody>('POST', '/resources/reservations', {
      ...window,
      startsAt: window.endsAt,
      endsAt: window.startsAt,
      workflowId: 'other',
    });
    expect(backwards.status).toBe(400);
    const past = await mesh.api<ApiErrorBody>('POST', '/resources/reservations', {
      ...window,
      startsAt: new Date(Date.now() - 120_000).toISOString(),
      endsAt: new Date(Date.now() - 60_000).toISOString(),
      workflowId: 'past',
    });
    expect({ status: past.status, code: past.body.code, paths: past.body.details.violations?.map((v) => v.path) }).toEqual({
      status: 400,
      code: 'VALIDATION_FAILED',
      paths: ['endsAt'],
    });
    expect(await count('reservations')).toBe(reservations);

    const unknown = '00000000-0000-4000-8000-000000000000';
    for (const [method, path, body] of [
      ['POST', '/resources/reservations', { ...window, poolId: unknown, workflowId: 'x' }],
      ['POST', '/resources/allocate', { poolId: unknown, tokensIn: 10 }],
      ['GET', `/resources/pools/${unknown}`, undefined],
      ['PATCH', `/resources/pools/${unknown}`, { limits: {} }],
    ] as const) {
      const r = await mesh.api<ApiErrorBody>(method, path, body);
      expect({ path, status: r.status, code: r.body.code }).toEqual({ path, status: 404, code: 'POOL_NOT_FOUND' });
    }
    expect(await count('reservations')).toBe(reservations);
    expect(await count('allocations')).toBe(0);

    const budget = await mesh.api<ApiErrorBody>('POST', '/resources/budgets', { limitUsd: -1, action: 'reject' });
    expect(budget.status).toBe(400);
    expect(await count('budgets')).toBe(0);
  });
});

describe('token-aware admission', () => {
  it('under a load asking 3× the pool’s tokens per window, the provider sees no violation and every task completes', async () => {
    const windowMs = 2000;
    const tpm = 6000;
    const pool = await must<PoolDto>(
      mesh,
      'POST',
      '/resources/pools',
      {
        name: 'sim-a',
        provider: 'sim-a',
        model: 'sim-1',
        capabilities: ['content.generate'],
        limits: { tokensPerMinute: tpm, windowMs },
        pricing: { inputUsdPer1k: 0.001, outputUsdPer1k: 0.002 },
      },
      201,
    );
    const simulate = { provider: 'sim-a', tpmLimit: tpm, windowMs, tokensIn: 800, tokensOut: 200, latencyMs: 20 };
    // 18 × 1000 tokens = 3 windows' worth, all at once
    const ids = await submit(
      mesh,
      Array.from({ length: 18 }, () => ({
        capability: 'content.generate',
        input: { simulate },
        resources: { tokensIn: 800, tokensOut: 200 },
      })),
    );
    const tasks = await settle(mesh, ids);
    expect(tasks.map((t) => t.state)).toEqual(ids.map(() => 'succeeded'));
    // the task's trace shows the allocator: its admission links to the grant that admitted it
    const hop = await eventually(
      () => {
        const admit = receiver.byTrace(tasks[0]!.traceId!).find((s) => s.name === 'admit content.generate');
        const grantSpan = admit && receiver.spans().find((s) => s.spanId === admit.attributes['swarm.grant.span_id']);
        return grantSpan ? { admit, grantSpan } : undefined;
      },
      { timeoutMs: 15_000, description: 'the admit span and the grant span it links to' },
    );
    expect(hop.admit.serviceName).toBe('coordinator');
    expect(hop.admit.attributes['swarm.pool.id']).toBe(pool.id);
    expect(hop.grantSpan).toMatchObject({ serviceName: 'resource-allocator', name: 'handle resource-allocator.exchange' });
    const text = await (await fetch(`${demo.url}/metrics`)).text();
    expect(metric(text, 'demo_provider_violations_total', { provider: 'sim-a' })).toBe(0);
    expect(metric(text, 'demo_provider_requests_total', { provider: 'sim-a' })).toBe(18);
    expect(metric(text, 'demo_provider_peak_window_tokens', { provider: 'sim-a' })).toBeLessThanOrEqual(tpm);
    // the allocator reconciled the reported usage and learned the capability's estimate
    const mon = await must<MonitoringDto>(mesh, 'GET', `/resources/monitoring?poolId=${pool.id}`, undefined, 200);
    expect(mon.pools[0]!.rateLimited).toBe(0);
    const leases = await mesh.pg.query<{ n: string }>(
      `SELECT count(*) AS n FROM resources.leases WHERE pool_id = $1 AND outcome = 'succeeded' AND usage IS NOT NULL`,
      [pool.id],
    );
    await eventually(
      async () =>
        Number(
          (
            await mesh.pg.query<{ n: string }>(
              `SELECT count(*) AS n FROM resources.leases WHERE pool_id = $1 AND released_at IS NOT NULL`,
              [pool.id],
            )
          ).rows[0]!.n,
        ) === 18,
      {
        description: 'every per-task lease released',
      },
    );
    expect(Number(leases.rows[0]!.n)).toBeGreaterThanOrEqual(0);
    await eventually(
      async () =>
        (
          await mesh.pg.query(
            `SELECT 1 FROM resources.estimates WHERE pool_id = $1 AND capability = 'content.generate' AND tokens_in = 800`,
            [pool.id],
          )
        ).rowCount === 1,
      {
        description: 'a learned estimate',
      },
    );
  });

  it('a provider 429 reported by an agent pauses the pool for the retry-after, then the work completes', async () => {
    // the pool believes in more than the provider gives: the provider answers 429 and the pool pauses
    const pool = await must<PoolDto>(
      mesh,
      'POST',
      '/resources/pools',
      {
        name: 'sim-b',
        provider: 'sim-b',
        model: 'sim-1',
        capabilities: ['intel.analyze'],
        limits: { tokensPerMinute: 10_000, windowMs: 1500 },
      },
      201,
    );
    const simulate = { provider: 'sim-b', tpmLimit: 1000, windowMs: 1500, tokensIn: 700, tokensOut: 0, latencyMs: 5 };
    const ids = await submit(
      mesh,
      Array.from({ length: 3 }, () => ({
        capability: 'intel.analyze',
        input: { simulate },
        resources: { tokensIn: 700, tokensOut: 0 },
        retry: { maxAttempts: 20, backoffMs: [20] },
      })),
    );
    const paused = await eventually(
      async () => {
        const p = await must<PoolDto>(mesh, 'GET', `/resources/pools/${pool.id}`, undefined, 200);
        return p.paused ? p : undefined;
      },
      { timeoutMs: 15_000, description: 'the pool paused by a 429' },
    );
    expect(paused.pauseReason).toMatch(/429/);
    const tasks = await settle(mesh, ids);
    expect(tasks.map((t) => t.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    const limited = tasks.flatMap((t) => t.attempts).filter((a) => a.error?.code === 'PROVIDER_RATE_LIMITED');
    expect(limited.length).toBeGreaterThan(0);
    const mon = await must<MonitoringDto>(mesh, 'GET', `/resources/monitoring?poolId=${pool.id}`, undefined, 200);
    expect(mon.pools[0]!.rateLimited).toBeGreaterThan(0);
  });
});

describe('budgets', () => {
  it('reject: at the limit, further tasks fail with BUDGET_EXCEEDED', async () => {
    const key = await mesh.createApiKey('t-bud');
    await mesh.agent(
      { id: 'bud-agent', tenantId: 't-bud', domain: 'data', capabilities: ['bud.work'], concurrency: 4 },
      {
        'bud.work': (ctx) => {
          ctx.reportUsage({ tokensIn: 1000, tokensOut: 0, costUsd: 1 });
          return {};
        },
      },
    );
    await must(
      mesh,
      'POST',
      '/resources/pools',
      { name: 'bud', provider: 'sim', model: 'm', capabilities: ['bud.work'], limits: { concurrency: 4 }, pricing: { inputUsdPer1k: 1 } },
      201,
      key,
    );
    const budget = await must<BudgetDto>(mesh, 'POST', '/resources/budgets', { limitUsd: 3, action: 'reject' }, 201, key);
    const ids = await submit(
      mesh,
      Array.from({ length: 5 }, () => ({ capability: 'bud.work', resources: { tokensIn: 1000, tokensOut: 0 } })),
      key,
    );
    const tasks = await settle(mesh, ids, key);
    const states = tasks.map((t) => t.state).sort();
    expect(states).toEqual(['failed', 'failed', 'succeeded', 'succeeded', 'succeeded']);
    for (const t of tasks.filter((x) => x.state === 'failed')) expect(t.error).toMatchObject({ code: 'BUDGET_EXCEEDED', retryable: false });
    await eventually(
      async () => {
        const b = await must<BudgetDto>(mesh, 'GET', `/resources/budgets/${budget.id}`, undefined, 200, key);
        return b.state === 'exhausted' && Math.abs(b.spentUsd - 3) < 1e-9;
      },
      { description: 'the budget exhausted at $3' },
    );
  });

  it('downgrade: near its limit, work moves to the cheaper pool of the capability', async () => {
    const key = await mesh.createApiKey('t-dg');
    let running = 0;
    await mesh.agent(
      { id: 'dg-agent', tenantId: 't-dg', domain: 'data', capabilities: ['dg.work'], concurrency: 2 },
      {
        'dg.work': async (ctx) => {
          running++;
          await sleepMs(30, ctx.signal).finally(() => running--);
          return {};
        },
      },
    );
    const premium = await must<PoolDto>(
      mesh,
      'POST',
      '/resources/pools',
      {
        name: 'dg-premium',
        provider: 'sim',
        model: 'big',
        capabilities: ['dg.work'],
        limits: { concurrency: 1 },
        pricing: { inputUsdPer1k: 0.01 },
      },
      201,
      key,
    );
    const cheap = await must<PoolDto>(
      mesh,
      'POST',
      '/resources/pools',
      {
        name: 'dg-cheap',
        provider: 'sim',
        model: 'small',
        capabilities: ['dg.work'],
        limits: { concurrency: 1 },
        pricing: { inputUsdPer1k: 0.001 },
      },
      201,
      key,
    );
    await must(mesh, 'POST', '/resources/budgets', { limitUsd: 0.05, nearLimitRatio: 0.5, action: 'downgrade' }, 201, key);
    const ids = await submit(
      mesh,
      Array.from({ length: 8 }, () => ({ capability: 'dg.work', resources: { tokensIn: 1000, tokensOut: 0 } })),
      key,
    );
    const tasks = await settle(mesh, ids, key);
    expect(tasks.map((t) => t.state)).toEqual(ids.map(() => 'succeeded'));
    await eventually(async () => (await used(premium.id)) + (await used(cheap.id)) === 8, { description: 'every lease recorded' });
    expect(await used(premium.id)).toBeGreaterThan(0);
    expect(await used(cheap.id)).toBeGreaterThan(0);
    expect(running).toBe(0);
  });
});

describe('routing weights', () => {
  it('the optimizer’s weights choose among a capability’s pools, and the agent learns its pool (ctx.pool)', async () => {
    const tenant = 't-rw';
    const key = await mesh.createApiKey(tenant);
    const seen: Record<string, number> = {};
    await mesh.agent(
      { id: 'rw-agent', tenantId: tenant, domain: 'data', capabilities: ['rw.work'], concurrency: 4 },
      {
        'rw.work': async (ctx) => {
          seen[ctx.pool ?? 'none'] = (seen[ctx.pool ?? 'none'] ?? 0) + 1;
          await sleepMs(5, ctx.signal);
          return {};
        },
      },
    );
    // both pools have room for everything the agent can run: the weights alone decide
    const pool = (name: string): Promise<PoolDto> =>
      must<PoolDto>(
        mesh,
        'POST',
        '/resources/pools',
        { name, provider: 'sim', model: name, capabilities: ['rw.work'], limits: { concurrency: 16 } },
        201,
        key,
      );
    const a = await pool('rw-a');
    const b = await pool('rw-b');
    // what the performance optimizer publishes with auto-apply on (docs/ROUTING-WEIGHTS.md)
    const bus = await connectTestBus({ namespace: mesh.namespace, identity: 'client:e2e-weights' });
    try {
      const kv = await bus.js().views.kv(bus.name(TUNING_KV.routingWeights));
      const weights: RoutingWeightsDto = {
        tenantId: tenant,
        updatedAt: new Date().toISOString(),
        capabilities: [
          {
            capability: 'rw.work',
            pools: [
              { pool: 'rw-a', weight: 0.9 },
              { pool: 'rw-b', weight: 0.1 },
            ],
          },
        ],
      };
      await kv.put(tenant, JSON.stringify(weights));
      // a value that is not valid is ignored (the coordinator keeps the weights it has)
      await kv.put('t-other', '{"tenantId":"t-other","capabilities":"nope"}');

      const ids = await submit(
        mesh,
        Array.from({ length: 200 }, () => ({ capability: 'rw.work', resources: { tokensIn: 10, tokensOut: 0 } })),
        key,
      );
      const tasks = await settle(mesh, ids, key);
      expect(tasks.map((t) => t.state)).toEqual(ids.map(() => 'succeeded'));
      await eventually(async () => (await used(a.id)) + (await used(b.id)) === 200, { description: 'every lease recorded' });
      const onA = await used(a.id);
      console.log(`[e2e routing weights] 0.9 / 0.1 → rw-a ${onA}, rw-b ${200 - onA}; agent saw ${JSON.stringify(seen)}`);
      expect(onA / 200).toBeGreaterThanOrEqual(0.75);
      expect(await used(b.id)).toBeGreaterThan(0); // the light pool keeps being sampled
      // the agent was told the pool of each attempt, and it matches the allocator's leases
      expect(seen).toEqual({ 'rw-a': onA, 'rw-b': 200 - onA });
    } finally {
      await bus.close().catch(() => {});
    }
  });
});

it('a task naming a pool that does not exist is refused with POOL_NOT_FOUND', async () => {
  const [id] = await submit(mesh, [{ capability: 'intel.analyze', input: {}, resources: { pool: 'no-such-pool' } }]);
  const [t] = await settle(mesh, [id!]);
  expect(t!.state).toBe('failed');
  expect(t!.error).toMatchObject({ code: 'POOL_NOT_FOUND', retryable: false });
});
