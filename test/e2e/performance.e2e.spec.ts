/**
 * The performance optimizer in the running mesh (coordinator, gateway, optimizer, demo swarm
 * on real NATS and Postgres), driven through the public REST API:
 * - a demo provider made 3× slower mid-run is flagged as a regression within a bounded number
 *   of samples; with `optimizer.auto_apply` off a traffic-shift recommendation appears (and the
 *   load stays shared), with it on routing weights that favour the healthy pool are published
 *   and the coordinator sends the traffic there (revertible);
 * - dynamic timeouts converge near the observed p99 × k for a steady workload, and the
 *   coordinator enforces them on tasks that set none;
 * - a saturated capability produces a scale-up recommendation with its evidence;
 * - /swarm/metrics and the other /performance reports.
 * Analysis runs on demand (POST /performance/analyze) so each step is deterministic.
 */
import {
  type BaselinesDto,
  type BottlenecksDto,
  type RecommendationDto,
  type RecommendationPageDto,
  type RegressionDto,
  type RegressionPageDto,
  type RoutingWeightsDto,
  type TaskDto,
  type TimeoutTableDto,
  TUNING_KV,
} from '@swarm-mesh/contracts';
import { FlagStore, type MeshBus } from '@swarm-mesh/messaging';
import { connectTestBus, eventually, type ServiceProcess } from '@swarm-mesh/testing';
import { E2eMesh } from './support/e2e-mesh';

jest.setTimeout(180_000);

const OPTIMIZER_ENV: Record<string, string> = {
  OPTIMIZER_ROLLUP_BUCKET_MS: '1000',
  OPTIMIZER_ANALYZE_INTERVAL_MS: '0',
  OPTIMIZER_INGEST_ACK_WAIT_MS: '2000',
  OPTIMIZER_REGRESSION_MIN_BASELINE: '40',
  OPTIMIZER_ROUTING_MIN_SAMPLES: '10',
  OPTIMIZER_TIMEOUT_MIN_SAMPLES: '100',
  OPTIMIZER_TIMEOUT_FLOOR_MS: '50',
};

describe('performance optimizer in the mesh', () => {
  let mesh: E2eMesh;
  let demo: ServiceProcess;
  let bus: MeshBus;
  let flags: FlagStore;

  beforeAll(async () => {
    mesh = await E2eMesh.start({ coordinatorEnv: { RESOURCES_ADMISSION: 'false' } });
    await mesh.process('performance-optimizer', OPTIMIZER_ENV);
    demo = await mesh.process('demo-swarm', {
      DEMO_CAPABILITIES: 'data.fetch,intel.analyze,quality.review',
      DEMO_AGENTS_PER_CAPABILITY: '2',
      DEMO_CONCURRENCY: '4',
      DEMO_PROVIDERS: 'sim-a,sim-b',
      DEMO_LATENCY_MS: '40',
      DEMO_LATENCY_JITTER_MS: '20',
      DEMO_SEED: '11',
    });
    bus = await connectTestBus({ namespace: mesh.namespace, identity: 'client:e2e-perf' });
    flags = await FlagStore.open(bus);
  });

  afterAll(async () => {
    flags?.stop();
    await bus?.close().catch(() => {});
    await mesh?.stop();
  });

  async function submit(capability: string, n: number, extra: Record<string, unknown> = {}): Promise<string[]> {
    const r = await mesh.api<{ tasks: Array<{ id: string }> }>('POST', '/tasks/batch', {
      tasks: Array.from({ length: n }, () => ({ capability, ...extra })),
    });
    if (r.status !== 201) throw new Error(`submit: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.tasks.map((t) => t.id);
  }

  /** Waits until the optimizer stored `n` successful samples of the capability. */
  async function samples(capability: string, n: number, where = 'true'): Promise<void> {
    await eventually(
      async () => {
        const r = await mesh.pg.query<{ n: string }>(
          `SELECT count(*) AS n FROM performance.execution_samples WHERE capability = $1 AND outcome = 'succeeded' AND ${where}`,
          [capability],
        );
        return Number(r.rows[0]!.n) >= n;
      },
      { timeoutMs: 60_000, description: `${n} ${capability} samples` },
    );
  }

  /**
   * Runs `waves` waves of two data.fetch tasks, each wave below sim-a's capacity (so routing,
   * not free slots, decides), and returns how many of them each pool ran.
   */
  async function dispatchShare(waves: number): Promise<{ byPool: Record<string, number>; toHealthy: number }> {
    const since = new Date().toISOString();
    for (let wave = 0; wave < waves; wave++) {
      const ids = await submit('data.fetch', 2);
      await Promise.all(ids.map((id) => mesh.waitState(id, 'succeeded', 30_000)));
    }
    await samples('data.fetch', 2 * waves, `finished_at > '${since}'`);
    const shares = await mesh.pg.query<{ pool: string; n: string }>(
      `SELECT pool, count(*) AS n FROM performance.execution_samples WHERE capability = 'data.fetch' AND finished_at > $1 GROUP BY pool`,
      [since],
    );
    const byPool = Object.fromEntries(shares.rows.map((r) => [r.pool, Number(r.n)]));
    return { byPool, toHealthy: (byPool['sim-a'] ?? 0) / ((byPool['sim-a'] ?? 0) + (byPool['sim-b'] ?? 0)) };
  }

  async function analyze(): Promise<{ autoApplied: number }> {
    const r = await mesh.api<{ autoApplied: number }>('POST', '/performance/analyze');
    expect(r.status).toBe(200);
    return r.body;
  }

  async function kv<T>(bucket: string): Promise<T | null> {
    const store = await bus.js().views.kv(bus.name(bucket));
    const e = await store.get('default');
    return e && e.operation === 'PUT' ? (JSON.parse(new TextDecoder().decode(e.value)) as T) : null;
  }

  let switchedAt = 0;
  /** Share of data.fetch tasks sim-a ran while auto-apply was off. */
  let shareBefore = NaN;

  it('learns baselines per provider, and flags a provider made 3× slower within a bounded number of samples', async () => {
    // a steady workload (waves, not one burst: run times then compare like with like)
    for (let wave = 1; wave <= 16; wave++) {
      await submit('data.fetch', 8);
      await samples('data.fetch', 8 * wave);
    }
    await analyze();
    const base = await mesh.api<BaselinesDto>('GET', '/performance/baselines?capability=data.fetch&groupBy=provider');
    expect(base.status).toBe(200);
    expect(base.body.items.map((b) => b.provider)).toEqual(['sim-a', 'sim-b']);
    expect(base.body.nextCursor).toBeNull();
    // paged by the gateway, as every list: one group per page, the filter kept
    const page1 = await mesh.api<BaselinesDto>('GET', '/performance/baselines?capability=data.fetch&groupBy=provider&limit=1');
    expect(page1.body.items.map((b) => b.provider)).toEqual(['sim-a']);
    expect(page1.body.windowMs).toBe(base.body.windowMs);
    const page2 = await mesh.api<BaselinesDto>(
      'GET',
      `/performance/baselines?capability=data.fetch&groupBy=provider&limit=1&cursor=${page1.body.nextCursor ?? 'missing'}`,
    );
    expect(page2.body.items.map((b) => b.provider)).toEqual(['sim-b']);
    expect(page2.body.nextCursor).toBeNull();
    for (const b of base.body.items) {
      expect(b.attempts).toBeGreaterThanOrEqual(40);
      expect(b.successRate).toBe(1);
      expect(b.runMs.p50Ms).toBeGreaterThan(15);
    }
    const none = await mesh.api<RegressionPageDto>('GET', '/performance/regressions?capability=data.fetch');
    expect(none.body.items).toEqual([]);

    // sim-b slows down 3× in the middle of the run
    const r = await fetch(`${demo.url}/simulate/providers/sim-b`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ latencyMultiplier: 3 }),
    });
    expect(r.status).toBe(200);
    switchedAt = Date.now();
    let slow = 0;
    let flagged: RegressionDto | undefined;
    for (let wave = 0; wave < 20 && !flagged; wave++) {
      await submit('data.fetch', 4);
      await samples('data.fetch', 132 + 4 * wave);
      await analyze();
      const c = await mesh.pg.query<{ n: string }>(
        `SELECT count(*) AS n FROM performance.execution_samples WHERE capability = 'data.fetch' AND pool = 'sim-b' AND finished_at > $1`,
        [new Date(switchedAt).toISOString()],
      );
      slow = Number(c.rows[0]!.n);
      const regs = await mesh.api<RegressionPageDto>('GET', '/performance/regressions?capability=data.fetch&status=active');
      flagged = regs.body.items.find((x) => x.provider === 'sim-b' && x.metric === 'run_time');
    }
    console.log(`[e2e regression] sim-b (3× slower) flagged after ${slow} slow samples; evidence ${JSON.stringify(flagged?.evidence)}`);
    expect(flagged).toBeDefined();
    expect(slow).toBeLessThanOrEqual(20); // the recent window: flagged before it is all slow
    expect(flagged!.evidence.pValue).toBeLessThan(0.001);
    expect(flagged!.evidence.effect).toBeGreaterThanOrEqual(1.3); // the effect-size gate (OPTIMIZER_REGRESSION_MIN_EFFECT)
    expect(flagged!.evidence.recentSamples).toBe(20);
    const healthy = (
      await mesh.api<RegressionPageDto>('GET', '/performance/regressions?capability=data.fetch&status=active')
    ).body.items.find((x) => x.provider === 'sim-a');
    expect(healthy).toBeUndefined();
  });

  it('recommends moving traffic to the healthy pool while auto-apply is off', async () => {
    const before = await mesh.pg.query<{ n: string }>(
      `SELECT count(*) AS n FROM performance.execution_samples WHERE capability = 'data.fetch' AND outcome = 'succeeded'`,
    );
    await submit('data.fetch', 24);
    await samples('data.fetch', Number(before.rows[0]!.n) + 24);
    expect(flags.isEnabled('optimizer.auto_apply')).toBe(false);
    const rec = await eventually(
      async () => {
        await analyze();
        const page = await mesh.api<RecommendationPageDto>(
          'GET',
          '/performance/recommendations?kind=shift_traffic&capability=data.fetch&status=open',
        );
        return page.body.items[0];
      },
      { timeoutMs: 30_000, description: 'a shift_traffic recommendation' },
    );
    const pools = (rec.proposal as { pools: Array<{ pool: string; weight: number }> }).pools;
    expect(pools.find((p) => p.pool === 'sim-a')!.weight).toBeGreaterThanOrEqual(0.85);
    expect(rec.evidence).toMatchObject({ method: 'thompson-sampling' });
    expect(rec.summary).toContain('sim-a');
    // offered, not applied: nothing published, and the coordinator keeps sharing the load
    const weights = await kv<RoutingWeightsDto>(TUNING_KV.routingWeights);
    expect(weights?.capabilities.find((c) => c.capability === 'data.fetch')).toBeUndefined();
    shareBefore = (await dispatchShare(20)).toHealthy;
    expect(shareBefore).toBeLessThan(0.75);
  });

  it('with auto-apply on, publishes weights and the coordinator shifts the traffic to the healthy pool; the change is recorded and revertible', async () => {
    await flags.set('optimizer.auto_apply', true, 'e2e');
    await eventually(async () => (await analyze()).autoApplied > 0, { timeoutMs: 30_000, description: 'an automatic change' });
    const weights = await eventually(async () =>
      (await kv<RoutingWeightsDto>(TUNING_KV.routingWeights))?.capabilities.find((c) => c.capability === 'data.fetch'),
    );
    expect(weights.pools.find((p) => p.pool === 'sim-a')!.weight).toBeGreaterThanOrEqual(0.85);
    // the coordinator routes by them: tasks go to the agents of sim-a (one per provider here), in
    // waves below sim-a's capacity so the weights, not free slots, decide
    const { byPool, toHealthy } = await dispatchShare(30);
    console.log(
      `[e2e routing] weights ${JSON.stringify(weights.pools.map((p) => [p.pool, p.weight]))} → dispatched ${JSON.stringify(byPool)}: ${(toHealthy * 100).toFixed(1)} % to sim-a (before: ${(shareBefore * 100).toFixed(1)} %)`,
    );
    expect(toHealthy).toBeGreaterThanOrEqual(0.75);

    const change = await mesh.api<RecommendationDto>('GET', `/performance/recommendations/${weights.recommendationId}`);
    expect(change.body).toMatchObject({ kind: 'shift_traffic', status: 'applied', applied: { auto: true, before: null } });
    const reverted = await mesh.api<RecommendationDto>('POST', `/performance/recommendations/${weights.recommendationId}/revert`);
    expect(reverted.status).toBe(200);
    expect(reverted.body).toMatchObject({ status: 'reverted', reverted: { restored: null } });
    expect(reverted.body.reverted!.by).toMatch(/^api-key:/);
    const after = await kv<RoutingWeightsDto>(TUNING_KV.routingWeights);
    expect(after?.capabilities.find((c) => c.capability === 'data.fetch')).toBeUndefined();
  });

  it('converges the learned timeout near p99 × k for a steady workload; the coordinator enforces it on tasks without their own', async () => {
    await submit('intel.analyze', 150);
    await samples('intel.analyze', 150);
    await analyze();
    const table = await kv<TimeoutTableDto>(TUNING_KV.timeouts);
    const learned = table?.timeouts.find((t) => t.capability === 'intel.analyze');
    expect(learned).toBeDefined();
    const r = await mesh.pg.query<{ p99: number }>(
      `SELECT percentile_disc(0.99) WITHIN GROUP (ORDER BY run_ms) AS p99 FROM performance.execution_samples WHERE capability = 'intel.analyze' AND outcome = 'succeeded'`,
    );
    const exact = r.rows[0]!.p99 * 3;
    console.log(`[e2e timeouts] observed p99 ${r.rows[0]!.p99} ms × 3 = ${exact} ms; learned ${learned!.startToCloseMs} ms`);
    expect(Math.abs(learned!.startToCloseMs - exact) / exact).toBeLessThan(0.1);

    // a task without its own timeout that runs far longer is timed out at the learned value
    const [hung] = await submit('intel.analyze', 1, { input: { simulate: { latencyMs: 5000 } }, retry: { maxAttempts: 1 } });
    const t: TaskDto = await mesh.waitState(hung!, 'dead_lettered', 30_000);
    expect(t.attempts[0]!.error).toMatchObject({ code: 'START_TO_CLOSE_TIMEOUT' });
    expect(t.attempts[0]!.error!.message).toContain(`${learned!.startToCloseMs} ms`);
    // a task with its own timeout keeps it
    const [own] = await submit('intel.analyze', 1, {
      input: { simulate: { latencyMs: Math.max(600, 2 * learned!.startToCloseMs) } },
      timeouts: { startToCloseMs: 20_000 },
      retry: { maxAttempts: 1 },
    });
    await mesh.waitState(own!, 'succeeded', 30_000);

    const rec = await mesh.api<RecommendationDto>('POST', `/performance/recommendations/${learned!.recommendationId}/revert`);
    expect(rec.body).toMatchObject({ kind: 'set_timeout', status: 'reverted', applied: { auto: true, before: null } });
    expect((await kv<TimeoutTableDto>(TUNING_KV.timeouts))?.timeouts.find((x) => x.capability === 'intel.analyze')).toBeUndefined();
  });

  it('recommends scaling a saturated capability, with its evidence; bottlenecks and /swarm/metrics show it', async () => {
    await submit('quality.review', 160, { input: { simulate: { latencyMs: 300 } } });
    await samples('quality.review', 8);
    const rec = await eventually(
      async () => {
        await analyze();
        const page = await mesh.api<RecommendationPageDto>('GET', '/performance/recommendations?kind=scale_up&capability=quality.review');
        return page.body.items[0];
      },
      { timeoutMs: 30_000, description: 'a scale_up recommendation' },
    );
    expect(rec).toMatchObject({ status: 'open', proposal: { currentAgents: 2 } });
    expect((rec.proposal as { addAgents: number }).addAgents).toBeGreaterThanOrEqual(1);
    expect(rec.evidence).toMatchObject({ freeSlots: 0, agents: 2, slots: 8 });
    expect((rec.evidence as { queued: number }).queued).toBeGreaterThan(0);
    expect(rec.expectedEffect).toHaveProperty('utilisationAfter');

    const bn = await mesh.api<BottlenecksDto>('GET', '/performance/bottlenecks');
    expect(bn.status).toBe(200);
    expect(bn.body.capabilities.map((c) => c.key)).toEqual(expect.arrayContaining(['data.fetch', 'intel.analyze', 'quality.review']));
    expect(bn.body.findings.find((f) => f.kind === 'saturated_capability' && f.capability === 'quality.review')).toBeDefined();

    const m = await mesh.api<{
      performance: { completed: number; throughputPerS: number; successRate: number | null } | null;
      queues: { totalQueued: number } | null;
      agents: { total: number; byState: Record<string, number> } | null;
      unavailable: string[];
    }>('GET', '/swarm/metrics');
    expect(m.status).toBe(200);
    expect(m.body.unavailable).toEqual([]);
    expect(m.body.performance!.completed).toBeGreaterThan(0);
    expect(m.body.agents).toMatchObject({ total: 6 });
    expect(m.body.agents!.byState.healthy).toBeGreaterThanOrEqual(1);
    expect(m.body.queues).not.toBeNull();

    const doc = await mesh.api<{ paths: Record<string, Record<string, { responses: Record<string, { content?: unknown }> }>> }>(
      'GET',
      '/api/docs-json',
    );
    for (const [path, method] of [
      ['/api/v1/performance/baselines', 'get'],
      ['/api/v1/performance/regressions', 'get'],
      ['/api/v1/performance/bottlenecks', 'get'],
      ['/api/v1/performance/sla', 'get'],
      ['/api/v1/performance/recommendations', 'get'],
      ['/api/v1/performance/recommendations/{id}', 'get'],
      ['/api/v1/performance/recommendations/{id}/apply', 'post'],
      ['/api/v1/performance/recommendations/{id}/revert', 'post'],
      ['/api/v1/performance/analyze', 'post'],
      ['/api/v1/swarm/metrics', 'get'],
    ] as const) {
      expect({ path, ok: Boolean(doc.body.paths[path]?.[method]?.responses['200']?.content) }).toEqual({ path, ok: true });
    }

    const bad = await mesh.api('GET', '/performance/baselines?groupBy=pool');
    expect(bad.status).toBe(400);
    const stray = await mesh.api('GET', '/swarm/metrics?window=1');
    expect(stray.status).toBe(400);
  });
});
