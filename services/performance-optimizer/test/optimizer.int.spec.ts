/**
 * The optimizer as a process on real NATS and Postgres, fed synthetic task events (the
 * coordinator's event contract): ingestion (idempotent, rollups, spans in the task's trace),
 * reports, regression detection with its evidence, recommendations, automatic tuning with
 * before/after and revert, saturation, retention.
 */
import { randomUUID } from 'node:crypto';
import {
  AgentCommands,
  type AgentDto,
  PerformanceCommands,
  pickPoolByWeight,
  QueueCommands,
  type RecommendationDto,
  type RegressionDto,
  type RoutingWeightsDto,
  type TimeoutTableDto,
  TUNING_KV,
} from '@swarm-mesh/contracts';
import { eventually, type OtlpReceiver, startOtlpReceiver } from '@swarm-mesh/testing';
import { OptimizerHarness, succeeded, taskEvent } from './support/optimizer-harness';

jest.setTimeout(120_000);

/** mulberry32: reproducible latencies. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('performance optimizer (process, real NATS + Postgres)', () => {
  let h: OptimizerHarness;
  let otlp: OtlpReceiver;

  beforeAll(async () => {
    otlp = await startOtlpReceiver();
    h = await OptimizerHarness.start(
      {
        OPTIMIZER_RETENTION_INTERVAL_MS: '300',
        OPTIMIZER_SAMPLE_RETENTION_MS: String(24 * 3600_000),
        OPTIMIZER_ROLLUP_RETENTION_MS: String(48 * 3600_000),
      },
      otlp.url,
    );
  });

  afterAll(async () => {
    await h?.stop();
    await otlp?.close();
  });

  it('ingests each finished attempt once, with its rollups, however often the events arrive', async () => {
    const now = Date.now();
    const tasks = Array.from({ length: 3 }, () => randomUUID());
    const events = [
      taskEvent('task.queued', now, { taskId: tasks[0], capability: 'ingest.once', attempt: 0 }),
      taskEvent('task.dispatched', now, { taskId: tasks[0], capability: 'ingest.once', agentId: 'ag-1', queueWaitMs: 3 }),
      taskEvent('task.retry_scheduled', now + 10, {
        taskId: tasks[0],
        capability: 'ingest.once',
        outcome: 'failed',
        runMs: 7,
        error: { message: 'boom', code: 'SIMULATED_FAILURE', retryable: true },
      }),
      succeeded(now + 20, 40, { taskId: tasks[0], capability: 'ingest.once', attempt: 2 }),
      succeeded(now + 30, 60, { taskId: tasks[1], capability: 'ingest.once' }),
      taskEvent('task.dead_lettered', now + 40, { taskId: tasks[2], capability: 'ingest.once', reason: 'failed 1 of 1 attempts' }),
    ];
    await h.publish(events);
    await h.publish(events); // redelivered by an outbox relay after a crash: same facts, new msg id
    await h.publish([events[3]!, events[4]!]);
    await eventually(
      async () => (await h.count(`SELECT count(*) AS n FROM performance.execution_samples WHERE capability = 'ingest.once'`)) === 4,
      {
        description: '4 samples',
      },
    );
    const rows = await h.pg.query(
      `SELECT task_id::text, attempt, agent_id, outcome, run_ms, task_state FROM performance.execution_samples WHERE capability = 'ingest.once' ORDER BY finished_at`,
    );
    expect(rows.rows).toEqual([
      { task_id: tasks[0], attempt: 1, agent_id: 'ag-1', outcome: 'failed', run_ms: 7, task_state: null },
      { task_id: tasks[0], attempt: 2, agent_id: 'p-a-agent', outcome: 'succeeded', run_ms: 40, task_state: 'succeeded' },
      { task_id: tasks[1], attempt: 1, agent_id: 'p-a-agent', outcome: 'succeeded', run_ms: 60, task_state: 'succeeded' },
      { task_id: tasks[2], attempt: 1, agent_id: null, outcome: 'failed', run_ms: null, task_state: 'dead_lettered' },
    ]);
    // the duplicates were ingested too (after the first batch): the rollups still count each attempt once
    await eventually(
      async () => {
        const text = await (await fetch(`${h.optimizer.url}/metrics`)).text();
        const m = /swarm_optimizer_samples_total\{effect="duplicate"[^}]*\} (\d+)/.exec(text);
        return m !== null && Number(m[1]) >= 6;
      },
      { description: '6 duplicate samples seen' },
    );
    await eventually(
      async () =>
        (await h.count(`SELECT coalesce(sum(attempts), 0) AS n FROM performance.sample_rollups WHERE capability = 'ingest.once'`)) === 4,
      { description: 'rollups of 4 attempts' },
    );
    const r = await h.pg.query(
      `SELECT sum(succeeded)::int AS ok, sum(failed)::int AS failed, sum(tasks)::int AS tasks, sum(run_n)::int AS run_n, sum(run_sum_ms)::int AS run_sum
         FROM performance.sample_rollups WHERE capability = 'ingest.once'`,
    );
    expect(r.rows[0]).toEqual({ ok: 2, failed: 2, tasks: 3, run_n: 2, run_sum: 100 });
  });

  it('adds a span to the task’s trace for each sample whose event carries a sampled traceparent', async () => {
    const traceId = randomUUID().replace(/-/g, '');
    const parent = '0123456789abcdef';
    await h.publish([succeeded(Date.now(), 25, { capability: 'traced', traceparent: `00-${traceId}-${parent}-01` })]);
    const span = await eventually(() => otlp.byTrace(traceId).find((s) => s.name === 'performance.sample'), {
      description: 'performance.sample span in the task trace',
    });
    expect(span.parentSpanId).toBe(parent);
    expect(span.serviceName).toBe('performance-optimizer');
    expect(span.attributes).toMatchObject({
      'swarm.task.capability': 'traced',
      'swarm.sample.outcome': 'succeeded',
      'swarm.sample.run_ms': 25,
    });
  });

  it('reports baselines per capability × provider, the live overview, and SLA compliance with explained misses', async () => {
    const now = Date.now();
    const random = rng(1);
    const events = [];
    for (let i = 0; i < 40; i++)
      events.push(succeeded(now - 2000 + i, 100 + random() * 100, { capability: 'report.cap', pool: i % 2 ? 'p-a' : 'p-b' }));
    const late = randomUUID();
    events.push(
      succeeded(now, 100, {
        taskId: late,
        capability: 'report.cap',
        pool: 'p-a',
        queueWaitMs: 4000,
        totalMs: 4200,
        attempt: 1,
        deadline: new Date(now - 1500).toISOString(),
        workflowId: 'wf-1',
      }),
      succeeded(now, 100, { capability: 'report.cap', pool: 'p-b', deadline: new Date(now + 60_000).toISOString(), workflowId: 'wf-1' }),
    );
    await h.publish(events);
    await eventually(
      async () => (await h.count(`SELECT count(*) AS n FROM performance.execution_samples WHERE capability = 'report.cap'`)) === 42,
    );

    const b = await h.bus.request(PerformanceCommands.baselines, { tenantId: 'default', capability: 'report.cap', groupBy: 'provider' });
    expect(b.items.map((x) => x.provider)).toEqual(['p-a', 'p-b']);
    for (const x of b.items) {
      expect(x).toMatchObject({ capability: 'report.cap', agentId: null, successRate: 1, costPerTaskUsd: 0.0001, tokensPerTask: 150 });
      expect(x.runMs.p50Ms).toBeGreaterThan(90);
      expect(x.runMs.p99Ms).toBeLessThan(210);
    }

    const o = await h.bus.request(PerformanceCommands.overview, { tenantId: 'default', capability: 'report.cap' });
    expect(o.completed).toBe(42);
    expect(o.successRate).toBe(1);
    expect(o.capabilities[0]).toMatchObject({ capability: 'report.cap', completed: 42 });

    const sla = await h.bus.request(PerformanceCommands.sla, { tenantId: 'default', capability: 'report.cap' });
    expect(sla.items).toEqual(
      expect.arrayContaining([
        { scope: 'capability', key: 'report.cap', withDeadline: 2, met: 1, missed: 1, compliance: 0.5 },
        { scope: 'workflow', key: 'wf-1', withDeadline: 2, met: 1, missed: 1, compliance: 0.5 },
      ]),
    );
    expect(sla.misses).toHaveLength(1);
    expect(sla.misses[0]).toMatchObject({
      taskId: late,
      workflowId: 'wf-1',
      lateByMs: 1500,
      queueWaitMs: 4000,
      runMs: 100,
      mainCause: 'queue_wait',
    });
    expect(sla.misses[0]!.explanation).toContain('queued 4000 ms (95 %)');
  });

  it('flags a 3× slower provider within a bounded number of samples, then recommends (flag off) or shifts traffic (flag on)', async () => {
    const now = Date.now();
    const random = rng(2);
    const base = [];
    for (let i = 0; i < 200; i++) {
      base.push(succeeded(now - 30_000 + i * 100, 50 + random() * 100, { capability: 'shift.cap', pool: 'p-a' }));
      base.push(succeeded(now - 30_000 + i * 100 + 50, 50 + random() * 100, { capability: 'shift.cap', pool: 'p-b' }));
    }
    await h.publish(base);
    await eventually(
      async () => (await h.count(`SELECT count(*) AS n FROM performance.execution_samples WHERE capability = 'shift.cap'`)) === 400,
    );
    await h.analyze();
    const none = await h.bus.request(PerformanceCommands.regressions, { tenantId: 'default', capability: 'shift.cap' });
    expect(none.items).toEqual([]);

    // p-b becomes 3× slower; p-a stays as it was
    let slow = 0;
    let flagged: RegressionDto | undefined;
    while (!flagged && slow < 40) {
      slow++;
      const t = now + slow * 10;
      await h.publish([
        succeeded(t, 3 * (50 + random() * 100), { capability: 'shift.cap', pool: 'p-b' }),
        succeeded(t + 1, 50 + random() * 100, { capability: 'shift.cap', pool: 'p-a' }),
      ]);
      await eventually(
        async () =>
          (await h.count(`SELECT count(*) AS n FROM performance.execution_samples WHERE capability = 'shift.cap'`)) === 400 + 2 * slow,
      );
      await h.analyze();
      flagged = (
        await h.bus.request(PerformanceCommands.regressions, { tenantId: 'default', capability: 'shift.cap', status: 'active' })
      ).items.find((r) => r.provider === 'p-b' && r.metric === 'run_time');
    }
    // the recent window is 20 samples: flagged before it is all slow
    console.log(`[regression] 3× slower provider flagged after ${slow} slow samples: ${JSON.stringify(flagged?.evidence)}`);
    expect(flagged).toBeDefined();
    expect(slow).toBeLessThanOrEqual(20);
    expect(flagged!.evidence).toMatchObject({ test: 'mann-whitney-u', recentSamples: 20, alpha: 0.001 });
    expect(flagged!.evidence.baselineSamples).toBeGreaterThanOrEqual(150);
    expect(flagged!.evidence.pValue).toBeLessThan(0.001);
    expect(flagged!.evidence.effect).toBeGreaterThanOrEqual(1.3); // the effect-size gate (OPTIMIZER_REGRESSION_MIN_EFFECT)
    expect(flagged!.summary).toContain('shift.cap on p-b');

    // feed p-b's new normal (enough to weigh it on what it does now), then analyse with auto-apply off
    const after = [];
    for (let i = 0; i < 15; i++) after.push(succeeded(now + 1000 + i, 3 * (50 + random() * 100), { capability: 'shift.cap', pool: 'p-b' }));
    await h.publish(after);
    await eventually(
      async () =>
        (await h.count(`SELECT count(*) AS n FROM performance.execution_samples WHERE capability = 'shift.cap'`)) === 415 + 2 * slow,
    );
    expect(h.flags.isEnabled('optimizer.auto_apply')).toBe(false);
    await h.analyze();
    const recs = await h.bus.request(PerformanceCommands.recommendations, {
      tenantId: 'default',
      capability: 'shift.cap',
      kind: 'shift_traffic',
    });
    const rec = recs.items[0]!;
    expect(rec).toMatchObject({ status: 'open', kind: 'shift_traffic', applied: null });
    const proposed = (rec.proposal as { pools: Array<{ pool: string; weight: number }> }).pools;
    expect(proposed.find((p) => p.pool === 'p-a')!.weight).toBeGreaterThanOrEqual(0.9);
    expect(rec.evidence).toMatchObject({ method: 'thompson-sampling' });
    const effect = rec.expectedEffect as { after: { meanRunMs: number }; before: { meanRunMs: number } };
    expect(effect.after.meanRunMs).toBeLessThan(effect.before.meanRunMs);
    expect(await h.kv(TUNING_KV.routingWeights, 'default')).toBeNull(); // only a recommendation

    // auto-apply on: the next cycle publishes the weights itself, recorded with before/after
    await h.flags.set('optimizer.auto_apply', true, 'test');
    await eventually(async () => (await h.analyze()).autoApplied > 0, { description: 'weights applied automatically' });
    const weights = (await h.kv(TUNING_KV.routingWeights, 'default')) as unknown as RoutingWeightsDto;
    const cap = weights.capabilities.find((c) => c.capability === 'shift.cap')!;
    expect(cap.pools.find((p) => p.pool === 'p-a')!.weight).toBeGreaterThanOrEqual(0.9);
    // what a consumer picking by these weights sends where (docs/ROUTING-WEIGHTS.md)
    const random2 = rng(3);
    let toA = 0;
    for (let i = 0; i < 1000; i++) if (pickPoolByWeight(cap.pools, random2()) === 'p-a') toA++;
    console.log(
      `[routing] weights ${JSON.stringify(cap.pools.map((p) => [p.pool, p.weight]))}: ${toA / 10} % of 1000 picks to the healthy pool`,
    );
    expect(toA).toBeGreaterThan(850);
    const applied = await h.bus.request(PerformanceCommands.recommendation, {
      tenantId: 'default',
      recommendationId: cap.recommendationId!,
    });
    expect(applied).toMatchObject({ status: 'applied', applied: { auto: true, by: 'performance-optimizer', before: null } });
    expect((await h.bus.request(PerformanceCommands.recommendation, { tenantId: 'default', recommendationId: rec.id })).status).toBe(
      'superseded',
    );

    // revert: what was in force before (no weights) is in force again
    const reverted = await h.bus.request(PerformanceCommands.revert, { tenantId: 'default', recommendationId: applied.id, actor: 'test' });
    expect(reverted).toMatchObject({ status: 'reverted', reverted: { by: 'test', restored: null } });
    const afterRevert = (await h.kv(TUNING_KV.routingWeights, 'default')) as unknown as RoutingWeightsDto;
    expect(afterRevert.capabilities.find((c) => c.capability === 'shift.cap')).toBeUndefined();
    await h.flags.set('optimizer.auto_apply', false, 'test');
  });

  it('learns timeouts near p99 × k, applies them under the flag with before/after, and reverts them', async () => {
    const now = Date.now();
    const random = rng(4);
    const runs = Array.from({ length: 400 }, () => 100 + random() * 200);
    await h.publish(runs.map((r, i) => succeeded(now - 5000 + i, r, { capability: 'steady.cap', pool: 'p-a' })));
    await eventually(
      async () => (await h.count(`SELECT count(*) AS n FROM performance.execution_samples WHERE capability = 'steady.cap'`)) === 400,
    );
    const sorted = runs.map(Math.round).sort((a, b) => a - b);
    const p99 = sorted[Math.ceil(0.99 * sorted.length) - 1]!;

    // flag off: a recommendation
    await h.analyze();
    const open = (
      await h.bus.request(PerformanceCommands.recommendations, { tenantId: 'default', capability: 'steady.cap', kind: 'set_timeout' })
    ).items[0]!;
    expect(open.status).toBe('open');
    const proposedMs = (open.proposal as { startToCloseMs: number }).startToCloseMs;
    console.log(`[timeouts] observed p99 ${p99} ms × 3 = ${p99 * 3} ms; proposed ${proposedMs} ms`);
    expect(Math.abs(proposedMs - 3 * p99) / (3 * p99)).toBeLessThan(0.05);

    // apply by hand: published to the coordinator's KV bucket, recorded with before/after
    const applied = await h.bus.request(PerformanceCommands.apply, {
      tenantId: 'default',
      recommendationId: open.id,
      actor: 'api-key:test',
    });
    expect(applied).toMatchObject({
      status: 'applied',
      applied: { auto: false, by: 'api-key:test', before: null, after: { startToCloseMs: proposedMs } },
    });
    const table = (await h.kv(TUNING_KV.timeouts, 'default')) as unknown as TimeoutTableDto;
    expect(table.timeouts.find((t) => t.capability === 'steady.cap')).toMatchObject({
      startToCloseMs: proposedMs,
      k: 3,
      recommendationId: open.id,
    });
    await expect(h.bus.request(PerformanceCommands.apply, { tenantId: 'default', recommendationId: open.id })).rejects.toMatchObject({
      code: 'INVALID_STATE_TRANSITION',
    });

    // the workload doubles its run time: with the flag on the timeout follows, automatically
    await h.flags.set('optimizer.auto_apply', true, 'test');
    const slower = Array.from({ length: 800 }, () => 200 + random() * 400);
    await h.publish(slower.map((r, i) => succeeded(now - 4000 + i, r, { capability: 'steady.cap', pool: 'p-a' })));
    await eventually(
      async () => (await h.count(`SELECT count(*) AS n FROM performance.execution_samples WHERE capability = 'steady.cap'`)) === 1200,
    );
    await h.analyze();
    const all = [...runs, ...slower].map(Math.round).sort((a, b) => a - b);
    const p99All = all[Math.ceil(0.99 * all.length) - 1]!;
    const table2 = (await h.kv(TUNING_KV.timeouts, 'default')) as unknown as TimeoutTableDto;
    const learned = table2.timeouts.find((t) => t.capability === 'steady.cap')!;
    console.log(`[timeouts] after the shift: observed p99 ${p99All} ms × 3 = ${p99All * 3} ms; in force ${learned.startToCloseMs} ms`);
    expect(Math.abs(learned.startToCloseMs - 3 * p99All) / (3 * p99All)).toBeLessThan(0.05);
    const auto = await h.bus.request(PerformanceCommands.recommendation, {
      tenantId: 'default',
      recommendationId: learned.recommendationId!,
    });
    expect(auto).toMatchObject({ status: 'applied', applied: { auto: true, before: { startToCloseMs: proposedMs } } });
    expect((await h.bus.request(PerformanceCommands.recommendation, { tenantId: 'default', recommendationId: open.id })).status).toBe(
      'superseded',
    );

    // the older change cannot be reverted while a newer one is in force; reverting the newer restores it
    await expect(h.bus.request(PerformanceCommands.revert, { tenantId: 'default', recommendationId: open.id })).rejects.toMatchObject({
      code: 'INVALID_STATE_TRANSITION',
    });
    await h.bus.request(PerformanceCommands.revert, { tenantId: 'default', recommendationId: auto.id, actor: 'api-key:test' });
    const table3 = (await h.kv(TUNING_KV.timeouts, 'default')) as unknown as TimeoutTableDto;
    expect(table3.timeouts.find((t) => t.capability === 'steady.cap')).toMatchObject({
      startToCloseMs: proposedMs,
      recommendationId: open.id,
    });
    expect((await h.bus.request(PerformanceCommands.recommendation, { tenantId: 'default', recommendationId: open.id })).status).toBe(
      'applied',
    );
    // …and is not re-applied during the cool-down after a revert
    expect((await h.analyze()).autoApplied).toBe(0);
    await h.flags.set('optimizer.auto_apply', false, 'test');
  });

  it('recommends scaling a saturated capability, with the evidence behind the number', async () => {
    const now = Date.now();
    const agents: AgentDto[] = ['sat-1', 'sat-2'].map((id) => ({
      id,
      tenantId: 'default',
      name: id,
      domain: 'data',
      tier: 'specialist',
      capabilities: ['sat.cap'],
      concurrency: 4,
      state: 'healthy',
      instanceId: randomUUID(),
      version: null,
      load: { running: 4, freeSlots: 0 },
      stats: { succeeded: 0, failed: 0, consecutiveFailures: 0 },
      breaker: { state: 'closed' },
      lastHeartbeatAt: new Date(now).toISOString(),
      registeredAt: new Date(now).toISOString(),
      metadata: {},
    }));
    // a stand-in coordinator answers the two questions the optimizer asks
    const subs = [
      h.bus.handle(QueueCommands.depths, () => ({
        items: [
          {
            capability: 'sat.cap',
            queued: { LOW: 0, MEDIUM: 50, HIGH: 0, CRITICAL: 0 },
            totalQueued: 50,
            dispatched: 0,
            running: 8,
            retryScheduled: 0,
            oldestQueuedAgeMs: 2000,
            availableAgents: 2,
            freeSlots: 0,
          },
        ],
      })),
      h.bus.handle(AgentCommands.list, () => ({ items: agents, nextCursor: null }), { queue: 'coordinator' }),
    ];
    try {
      await h.publish(
        Array.from({ length: 40 }, (_, i) => succeeded(now - 2000 + i * 50, 400, { capability: 'sat.cap', agentId: `sat-${(i % 2) + 1}` })),
      );
      await eventually(
        async () => (await h.count(`SELECT count(*) AS n FROM performance.execution_samples WHERE capability = 'sat.cap'`)) === 40,
      );
      await h.analyze();
      const rec: RecommendationDto = (await h.bus.request(PerformanceCommands.recommendations, { tenantId: 'default', kind: 'scale_up' }))
        .items[0]!;
      expect(rec).toMatchObject({ capability: 'sat.cap', status: 'open' });
      expect(rec.proposal).toMatchObject({ currentAgents: 2 });
      expect((rec.proposal as { addAgents: number }).addAgents).toBeGreaterThanOrEqual(1);
      expect(rec.evidence).toMatchObject({
        queued: 50,
        freeSlots: 0,
        agents: 2,
        slots: 8,
        slotsPerAgent: 4,
        meanRunMs: 400,
        oldestQueuedAgeMs: 2000,
      });
      expect((rec.expectedEffect as { utilisationAfter: number }).utilisationAfter).toBeLessThanOrEqual(0.7);
      const bn = await h.bus.request(PerformanceCommands.bottlenecks, { tenantId: 'default', capability: 'sat.cap' });
      expect(bn.findings[0]).toMatchObject({ kind: 'saturated_capability', capability: 'sat.cap', evidence: { queued: 50, freeSlots: 0 } });
      expect(bn.capabilities[0]).toMatchObject({ key: 'sat.cap', attempts: 40 });
    } finally {
      for (const s of subs) s.unsubscribe();
    }
  });

  it('deletes samples past their retention and rollups past theirs', async () => {
    const now = Date.now();
    await h.publish([
      succeeded(now - 36 * 3600_000, 10, { capability: 'old.cap' }), // older than samples (24 h), younger than rollups (48 h)
      succeeded(now - 72 * 3600_000, 10, { capability: 'old.cap' }), // older than both
      succeeded(now, 10, { capability: 'old.cap' }),
    ]);
    await eventually(
      async () => (await h.count(`SELECT count(*) AS n FROM performance.execution_samples WHERE capability = 'old.cap'`)) === 1,
      {
        description: 'old samples deleted',
      },
    );
    await eventually(
      async () => (await h.count(`SELECT count(*) AS n FROM performance.sample_rollups WHERE capability = 'old.cap'`)) === 2,
      {
        description: 'rollups older than 48 h deleted',
      },
    );
  });
});
