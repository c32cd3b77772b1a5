import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import {
  type AgentDto,
  AgentCommands,
  type AnalyzeReply,
  QueueCommands,
  type QueueDepthDto,
  type RegressionDto,
  type RegressionMetric,
} from '@swarm-mesh/contracts';
import type { FlagStore } from '@swarm-mesh/messaging';
import { FLAGS, SERVICE_CONFIG, type ServiceConfig } from '@swarm-mesh/service-kit';
import { OptimizerRuntime } from '../optimizer.runtime';
import { type Proposal, RecommendationService } from '../recommendations/recommendation.service';
import type { RoutingValue, TimeoutValue } from '../tuning/tuning.store';
import { binOf, histAdd, histQuantile, round2 } from './histogram';
import { LeaderLock } from './leader-lock';
import { checkRunTime, checkSuccessRate, type RecentWindow, recentWindows, type Verdict } from './regressions';
import { aggregate, activeTenants, emptyAgg, addAgg, loadRollups, type RollupRow, successRate } from './rollups';
import {
  armOf,
  banditWeights,
  expectedOf,
  maxWeightChange,
  type PoolArm,
  proposeScaleUp,
  proposeTimeout,
  timeoutChangeWanted,
} from './tuning-rules';

/** Newest raw samples read per capability for the recent windows. */
const RECENT_FETCH = 3000;
const LEADER_KEY = 0x5f0471; // "performance analysis"

interface RecentSample {
  pool: string;
  agentId: string;
  outcome: string;
  runMs: number | null;
  at: number;
}

interface CycleStats {
  autoApplied: number;
}

/**
 * The analysis cycle, per tenant: regressions (recent samples vs rollup baselines), learned
 * timeouts, routing weights, saturation (queue depths from the coordinator) and failing
 * agents. Proposals become recommendations, or are applied at once when the runtime flag
 * `optimizer.auto_apply` is on (timeouts and routing weights only). One replica runs the
 * periodic cycle (Postgres advisory lock); `perf.analyze` runs one on demand.
 */
@Injectable()
export class Analyzer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly leader: LeaderLock;
  private stopped = false;
  /** A periodic cycle is running: the timer's next firing is skipped rather than queued behind it. */
  private cycleRunning = false;

  constructor(
    private readonly rt: OptimizerRuntime,
    private readonly recs: RecommendationService,
    @Inject(FLAGS) private readonly flags: FlagStore,
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
  ) {
    this.leader = new LeaderLock(config.database.url, LEADER_KEY, rt.logger);
  }

  onApplicationBootstrap(): void {
    const every = this.rt.options.analyzeIntervalMs;
    if (every > 0) {
      this.timer = setInterval(() => void this.periodic(), every);
      this.timer.unref();
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.chain.catch(() => undefined);
    await this.leader.release();
  }

  /** Runs `fn` after whatever analysis is running (one at a time per process). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /**
   * One periodic cycle over the active tenants. A cycle longer than the interval (many tenants,
   * a slow database) makes the timer skip firings instead of queueing a cycle per firing.
   */
  async periodic(): Promise<void> {
    if (this.stopped || this.cycleRunning) return;
    this.cycleRunning = true;
    try {
      if (!(await this.leader.tryAcquire())) return;
      await this.serial(async () => {
        const tenants = await activeTenants(this.rt.ds, Date.now() - this.rt.options.baselineWindowMs);
        for (const t of tenants) {
          if (this.stopped) return;
          try {
            await this.analyzeTenant(t);
          } catch (err) {
            this.rt.logger.error('analysis failed', { tenantId: t, err });
          }
        }
      }).catch((err: unknown) => this.rt.logger.error('analysis cycle failed', { err }));
    } finally {
      this.cycleRunning = false;
    }
  }

  /** One cycle for one tenant, now (the `perf.analyze` command). */
  analyzeNow(tenantId: string): Promise<AnalyzeReply> {
    return this.serial(async () => {
      const stats = await this.analyzeTenant(tenantId);
      const active = await this.rt.regressions.active(tenantId);
      const rows = await this.rt.ds.query<Array<{ n: string }>>(
        `SELECT coalesce(sum(attempts), 0)::bigint AS n FROM performance.sample_rollups WHERE tenant_id = $1 AND bucket_start >= $2`,
        [tenantId, new Date(Date.now() - this.rt.options.baselineWindowMs).toISOString()],
      );
      return {
        analyzedAt: new Date().toISOString(),
        samples: Number(rows[0]?.n ?? 0),
        activeRegressions: active.length,
        openRecommendations: await this.rt.recommendations.countOpen(tenantId),
        autoApplied: stats.autoApplied,
      };
    });
  }

  async analyzeTenant(tenantId: string): Promise<CycleStats> {
    const o = this.rt.options;
    const now = Date.now();
    const auto = this.flags.isEnabled('optimizer.auto_apply');
    const stats: CycleStats = { autoApplied: 0 };
    const rows = await loadRollups(this.rt.ds, tenantId, now - o.baselineWindowMs);
    const capabilities = [...new Set(rows.map((r) => r.capability))].sort();
    const active = await this.rt.regressions.active(tenantId);
    const propose = async (p: Proposal, autoApply: boolean): Promise<void> => {
      const outcome = await this.recs.propose(tenantId, p, autoApply);
      if (outcome === 'applied') stats.autoApplied++;
    };
    for (const capability of capabilities) {
      const capRows = rows.filter((r) => r.capability === capability);
      await this.regressionsOf(tenantId, capability, capRows, active);
      const regressed = (await this.rt.regressions.active(tenantId)).filter((r) => r.capability === capability && r.provider !== null);
      await this.timeoutOf(tenantId, capability, capRows, auto, propose);
      await this.routingOf(tenantId, capability, capRows, regressed, now, auto, propose);
      await this.agentsOf(tenantId, capability, capRows, now, propose);
    }
    await this.saturationOf(tenantId, rows, now, propose);
    await this.rt.recommendations.expire(tenantId, new Date(now - o.recommendationExpiryMs));
    return stats;
  }

  // ── regressions ────────────────────────────────────────────────────────────

  private async recentSamples(tenantId: string, capability: string): Promise<RecentSample[]> {
    const rows = await this.rt.ds.query<Array<{ pool: string; agent_id: string; outcome: string; run_ms: number | null; at: string }>>(
      `SELECT coalesce(pool, '') AS pool, coalesce(agent_id, '') AS agent_id, outcome, run_ms,
              (extract(epoch FROM finished_at) * 1000)::bigint AS at
         FROM performance.execution_samples
        WHERE tenant_id = $1 AND capability = $2 AND attempt > 0
        ORDER BY finished_at DESC LIMIT ${RECENT_FETCH}`,
      [tenantId, capability],
    );
    return rows.map((r) => ({ pool: r.pool, agentId: r.agent_id, outcome: r.outcome, runMs: r.run_ms, at: Number(r.at) }));
  }

  private async regressionsOf(tenantId: string, capability: string, capRows: RollupRow[], active: RegressionDto[]): Promise<void> {
    const o = this.rt.options;
    const samples = await this.recentSamples(tenantId, capability);
    if (samples.length === 0) return;
    // rollups cover what is older than the raw samples read
    const boundary = Math.floor(samples[samples.length - 1]!.at / o.rollupBucketMs) * o.rollupBucketMs;
    const R = o.regression.recentSamples;
    // pools; and agents that share their pool with others (a lone agent is its pool)
    const poolAgents = new Map<string, Set<string>>();
    for (const s of samples) {
      let set = poolAgents.get(s.pool);
      if (!set) poolAgents.set(s.pool, (set = new Set()));
      if (s.agentId) set.add(s.agentId);
    }
    const keys: Array<{ pool: string | null; agentId: string | null; window: RecentWindow }> = [];
    for (const [pool, w] of recentWindows(samples, (i) => samples[i]!.pool || undefined, R)) keys.push({ pool, agentId: null, window: w });
    const byAgent = recentWindows(
      samples,
      (i) => {
        const s = samples[i]!;
        if (!s.agentId) return undefined;
        const peers = poolAgents.get(s.pool)?.size ?? 0;
        return s.pool === '' ? (poolAgents.get('')!.size > 1 ? s.agentId : undefined) : peers > 1 ? s.agentId : undefined;
      },
      R,
    );
    for (const [agentId, w] of byAgent) keys.push({ pool: null, agentId, window: w });

    for (const k of keys) {
      for (const metric of ['run_time', 'success_rate'] as const) {
        const existing = active.find(
          (a) => a.capability === capability && a.metric === metric && (a.provider ?? null) === k.pool && (a.agentId ?? null) === k.agentId,
        );
        // baseline: rollups of the buckets before the raw samples read, plus the raw samples read
        // that are older than the recent window (so a young or busy key still has one)
        const startOfRecent = metric === 'run_time' ? k.window.runFrom : k.window.attemptsFrom;
        let baselineTo = startOfRecent;
        // an active regression keeps the baseline from before it began
        if (existing) baselineTo = Math.min(baselineTo, Date.parse(existing.evidence.baselineTo));
        const baselineFrom = startOfRecent - o.baselineWindowMs;
        const rollupsTo = Math.min(boundary, Math.floor(baselineTo / o.rollupBucketMs) * o.rollupBucketMs);
        const base = emptyAgg();
        for (const r of capRows) {
          if (r.bucket < baselineFrom || r.bucket >= rollupsTo) continue;
          if (k.pool !== null && r.pool !== k.pool) continue;
          if (k.agentId !== null && r.agentId !== k.agentId) continue;
          addAgg(base, r);
        }
        if (metric === 'run_time') {
          for (const [ms, at] of k.window.olderRuns) {
            if (at < rollupsTo || at >= baselineTo) continue;
            base.runN++;
            base.runSum += ms;
            histAdd(base.runHist, binOf(ms));
          }
        } else {
          for (const [ok, at] of k.window.olderAttempts) {
            if (at < rollupsTo || at >= baselineTo) continue;
            if (ok) base.succeeded++;
            else base.failed++;
          }
        }
        const verdict =
          metric === 'run_time'
            ? checkRunTime(k.window, base, baselineFrom, baselineTo, o.regression)
            : checkSuccessRate(k.window, base, baselineFrom, baselineTo, o.regression);
        if (!verdict) continue;
        await this.record(tenantId, capability, k.pool, k.agentId, metric, verdict, existing);
      }
    }
  }

  private async record(
    tenantId: string,
    capability: string,
    pool: string | null,
    agentId: string | null,
    metric: RegressionMetric,
    v: Verdict,
    existing: RegressionDto | undefined,
  ): Promise<void> {
    const where = `${capability}${pool ? ` on ${pool}` : ''}${agentId ? ` (agent ${agentId})` : ''}`;
    const e = v.evidence;
    if (v.regressed && !existing) {
      const summary =
        metric === 'run_time'
          ? `${where}: median run time ${e.recentValue} ms over the last ${e.recentSamples} attempts vs ${e.baselineValue} ms in the baseline (mean ×${e.effect}, p = ${e.pValue.toExponential(2)})`
          : `${where}: success rate ${pct(e.recentValue)} over the last ${e.recentSamples} attempts vs ${pct(e.baselineValue)} in the baseline (p = ${e.pValue.toExponential(2)})`;
      const opened = await this.rt.regressions.open({
        tenantId,
        capability,
        pool,
        agentId,
        metric,
        severity: v.severity,
        summary,
        evidence: e,
      });
      if (opened) {
        this.rt.logger.warn('regression detected', { tenantId, capability, pool, agentId, metric, pValue: e.pValue, effect: e.effect });
        this.rt.facts.emit(tenantId, 'performance.regression_detected', {
          regressionId: opened.id,
          capability,
          provider: pool,
          agentId,
          metric,
          severity: v.severity,
          summary,
          evidence: e,
        });
      }
    } else if (existing && !v.regressed && v.recovered) {
      const resolved = await this.rt.regressions.resolve(existing.id, e);
      if (resolved)
        this.rt.facts.emit(tenantId, 'performance.regression_resolved', {
          regressionId: existing.id,
          capability,
          provider: pool,
          agentId,
          metric,
        });
    } else if (existing) {
      await this.rt.regressions.stillSeen(existing.id, e, v.regressed ? v.severity : existing.severity);
    }
  }

  // ── learned timeouts ────────────────────────────────────────────────────────

  private async timeoutOf(
    tenantId: string,
    capability: string,
    capRows: RollupRow[],
    auto: boolean,
    propose: (p: Proposal, auto: boolean) => Promise<void>,
  ): Promise<void> {
    const o = this.rt.options;
    const all = aggregate(capRows, () => 'all').get('all') ?? emptyAgg();
    const p = proposeTimeout(all, o.timeouts);
    if (!p) return;
    const current = await this.rt.tuning.get(tenantId, 'timeout', capability);
    const currentMs = current ? (current.value as unknown as TimeoutValue).startToCloseMs : null;
    if (!timeoutChangeWanted(currentMs, p.startToCloseMs, o.timeouts.hysteresis)) return;
    const value: TimeoutValue = { startToCloseMs: p.startToCloseMs, p99Ms: p.p99Ms, k: o.timeouts.k, samples: p.samples };
    let above = 0;
    for (const [bin, c] of all.runHist) if (histQuantileOfBin(bin) > p.startToCloseMs) above += c;
    await propose(
      {
        kind: 'set_timeout',
        target: `timeout:${capability}`,
        capability,
        summary: `${currentMs === null ? 'Set' : currentMs < p.startToCloseMs ? 'Raise' : 'Lower'} the start-to-close timeout of ${capability} ${currentMs === null ? '' : `from ${currentMs} ms `}to ${p.startToCloseMs} ms (p99 ${p.p99Ms} ms × ${o.timeouts.k}, within ${o.timeouts.floorMs}–${o.timeouts.ceilingMs} ms)`,
        evidence: {
          p99Ms: p.p99Ms,
          p50Ms: round2(histQuantile(all.runHist, 0.5) ?? 0),
          samples: p.samples,
          k: o.timeouts.k,
          floorMs: o.timeouts.floorMs,
          ceilingMs: o.timeouts.ceilingMs,
          windowMs: o.baselineWindowMs,
          currentMs,
          timedOutAttempts: all.timedOut,
          successRate: successRate(all),
        },
        expectedEffect: {
          startToCloseMs: p.startToCloseMs,
          previousMs: currentMs,
          successfulRunsOverTimeout: above,
          successfulRunsOverTimeoutShare: all.runN > 0 ? round2(above / all.runN) : 0,
          note: 'applies to tasks without their own startToCloseMs; a hung attempt is retried after this long instead of blocking a slot',
        },
        proposal: value as unknown as Record<string, unknown>,
        similar: (old) => {
          const ms = (old as { startToCloseMs?: number }).startToCloseMs;
          return typeof ms === 'number' && Math.abs(ms - p.startToCloseMs) / ms <= o.timeouts.hysteresis;
        },
      },
      auto,
    );
  }

  // ── routing weights ─────────────────────────────────────────────────────────

  private async routingOf(
    tenantId: string,
    capability: string,
    capRows: RollupRow[],
    regressed: RegressionDto[],
    now: number,
    auto: boolean,
    propose: (p: Proposal, auto: boolean) => Promise<void>,
  ): Promise<void> {
    const o = this.rt.options;
    const since = now - o.routing.windowMs;
    // a pool with an active regression is judged on what it does since the change, not before
    const onset = new Map<string, number>();
    for (const r of regressed) {
      const from = Math.floor(Date.parse(r.evidence.recentFrom) / o.rollupBucketMs) * o.rollupBucketMs;
      onset.set(r.provider!, Math.max(onset.get(r.provider!) ?? 0, from));
    }
    const byPool = aggregate(capRows, (r) =>
      r.pool !== '' && r.bucket >= Math.max(since - o.rollupBucketMs, onset.get(r.pool) ?? 0) ? r.pool : undefined,
    );
    const arms: PoolArm[] = [...byPool.entries()]
      .map(([pool, a]) => armOf(pool, a))
      .filter((a) => a.attempts >= o.routing.minSamples)
      .sort((a, b) => a.pool.localeCompare(b.pool));
    if (arms.length < 2) return;
    const weights = banditWeights(arms, o.routing, `${tenantId}|${capability}|${arms.map((a) => `${a.pool}:${a.attempts}`).join(',')}`);
    const current = await this.rt.tuning.get(tenantId, 'routing', capability);
    const currentPools = current ? (current.value as unknown as RoutingValue).pools : null;
    const change = maxWeightChange(currentPools, weights);
    if (change < o.routing.minChange) return;
    const before = expectedOf(currentPools, arms);
    const after = expectedOf(weights, arms);
    const better =
      (before.meanRunMs !== null && after.meanRunMs !== null && after.meanRunMs <= before.meanRunMs * 0.9) ||
      (before.successRate !== null && after.successRate !== null && after.successRate >= before.successRate + 0.05) ||
      (before.costPerTaskUsd !== null && after.costPerTaskUsd !== null && after.costPerTaskUsd <= before.costPerTaskUsd * 0.9);
    // automatic weights follow the bandit; a recommendation must promise something (or undo stale weights)
    if (!auto && !better && currentPools === null) return;
    const best = [...weights].sort((a, b) => b.weight - a.weight)[0]!;
    const worst = [...weights].sort((a, b) => a.weight - b.weight)[0]!;
    const value: RoutingValue = {
      pools: weights.map((w) => {
        const a = arms.find((x) => x.pool === w.pool)!;
        return {
          pool: w.pool,
          weight: w.weight,
          basis: {
            attempts: a.attempts,
            successRate: a.successRate,
            p50Ms: a.p50Ms,
            p95Ms: a.p95Ms,
            meanMs: a.meanMs,
            costPerTaskUsd: a.costPerTaskUsd,
            pBest: w.pBest,
          },
        };
      }),
    };
    await propose(
      {
        kind: 'shift_traffic',
        target: `routing:${capability}`,
        capability,
        pool: best.pool,
        summary: `Route ${capability} by weight: ${weights.map((w) => `${w.pool} ${Math.round(w.weight * 100)} %`).join(', ')} (most to ${best.pool}, least to ${worst.pool}); expected mean run time ${after.meanRunMs} ms instead of ${before.meanRunMs} ms`,
        evidence: {
          windowMs: o.routing.windowMs,
          pools: arms.map((a) => ({
            pool: a.pool,
            attempts: a.attempts,
            successRate: a.successRate,
            p50Ms: a.p50Ms,
            p95Ms: a.p95Ms,
            meanMs: a.meanMs,
            costPerTaskUsd: a.costPerTaskUsd,
            pBest: weights.find((w) => w.pool === a.pool)?.pBest ?? 0,
          })),
          method: 'thompson-sampling',
          exploration: o.routing.exploration,
          costWeight: o.routing.costWeight,
          currentWeights: currentPools?.map((p) => ({ pool: p.pool, weight: p.weight })) ?? null,
        },
        expectedEffect: { before, after, largestWeightChange: round2(change) },
        proposal: value as unknown as Record<string, unknown>,
        similar: (old) => maxWeightChange((old as unknown as RoutingValue).pools ?? null, weights) < o.routing.minChange,
      },
      auto,
    );
  }

  // ── agents ──────────────────────────────────────────────────────────────────

  private async agentsOf(
    tenantId: string,
    capability: string,
    capRows: RollupRow[],
    now: number,
    propose: (p: Proposal, auto: boolean) => Promise<void>,
  ): Promise<void> {
    const since = now - this.rt.options.routing.windowMs;
    const byAgent = aggregate(capRows, (r) => (r.bucket >= since && r.agentId !== '' ? r.agentId : undefined));
    if (byAgent.size < 2) return;
    for (const [agentId, a] of byAgent) {
      const n = a.succeeded + a.failed + a.timedOut;
      const rate = successRate(a);
      if (n < 10 || rate === null || rate > 0.5) continue;
      const peers = emptyAgg();
      for (const [other, b] of byAgent) if (other !== agentId) addAgg(peers, b);
      const peerRate = successRate(peers);
      const peerN = peers.succeeded + peers.failed + peers.timedOut;
      if (peerRate === null || peerN < 10 || peerRate < 0.9) continue;
      await propose(
        {
          kind: 'quarantine_agent',
          target: `agent:${agentId}`,
          capability,
          agentId,
          summary: `Quarantine (drain) agent ${agentId}: ${pct(rate)} of its last ${n} ${capability} attempts succeeded, ${pct(peerRate)} on its peers`,
          evidence: {
            attempts: n,
            successRate: rate,
            failed: a.failed,
            timedOut: a.timedOut,
            peerAttempts: peerN,
            peerSuccessRate: peerRate,
          },
          expectedEffect: { successRateBefore: successRate(addAgg(addAgg(emptyAgg(), a), peers)), successRateAfter: peerRate },
          proposal: { action: 'drain', agentId },
          similar: () => true,
        },
        false,
      );
    }
  }

  // ── saturation ──────────────────────────────────────────────────────────────

  private async saturationOf(
    tenantId: string,
    rows: RollupRow[],
    now: number,
    propose: (p: Proposal, auto: boolean) => Promise<void>,
  ): Promise<void> {
    let depths: QueueDepthDto[];
    try {
      depths = (await this.rt.bus.request(QueueCommands.depths, { tenantId }, { timeoutMs: 2000 })).items;
    } catch (err) {
      this.rt.logger.debug('queue depths unavailable', { error: (err as Error).message });
      return;
    }
    const o = this.rt.options;
    const recentSpan = Math.max(60_000, 5 * o.rollupBucketMs);
    for (const d of depths) {
      if (d.totalQueued <= 0 || d.freeSlots > 0 || d.availableAgents <= 0) continue;
      const capRows = rows.filter((r) => r.capability === d.capability);
      const all = capRows.reduce((acc, r) => addAgg(acc, r), emptyAgg());
      if (all.runN === 0) continue;
      const recent = capRows.filter((r) => r.bucket >= now - recentSpan).reduce((acc, r) => addAgg(acc, r), emptyAgg());
      const firstBucket = capRows.filter((r) => r.bucket >= now - recentSpan).reduce((m, r) => Math.min(m, r.bucket), now);
      const spanS = Math.max((now - firstBucket) / 1000, 1);
      const agents = await this.agentsWith(tenantId, d.capability);
      const usable = agents.filter((a) => a.state === 'healthy' || a.state === 'degraded');
      const slots = usable.reduce((s, a) => s + a.concurrency, 0);
      const meanRunMs = all.runSum / all.runN;
      const scale = proposeScaleUp({
        queued: d.totalQueued,
        oldestQueuedAgeMs: d.oldestQueuedAgeMs,
        freeSlots: d.freeSlots,
        running: d.running,
        agents: usable.length,
        slots,
        throughputPerS: recent.attempts / spanS,
        meanRunMs,
        targetUtilisation: o.scaleTargetUtilisation,
      });
      if (!scale) continue;
      const p95Queue = histQuantile(all.queueHist, 0.95);
      await propose(
        {
          kind: 'scale_up',
          target: `scale:${d.capability}`,
          capability: d.capability,
          summary: `Scale ${d.capability} by ${scale.addAgents} agent${scale.addAgents === 1 ? '' : 's'} (${usable.length} → ${scale.targetAgents}): ${d.totalQueued} tasks queued, no free slot, oldest waiting ${d.oldestQueuedAgeMs ?? 0} ms`,
          evidence: {
            queued: d.totalQueued,
            queuedByPriority: d.queued,
            oldestQueuedAgeMs: d.oldestQueuedAgeMs,
            freeSlots: d.freeSlots,
            running: d.running,
            dispatched: d.dispatched,
            agents: usable.length,
            slots,
            slotsPerAgent: usable.length > 0 ? round2(slots / usable.length) : 0,
            throughputPerS: round2(recent.attempts / spanS),
            meanRunMs: round2(meanRunMs),
            p95QueueWaitMs: p95Queue === null ? null : round2(p95Queue),
            estimatedArrivalPerS: scale.estimatedArrivalPerS,
            capacityPerS: scale.capacityPerS,
          },
          expectedEffect: {
            utilisationBefore: scale.utilisationNow,
            utilisationAfter: scale.utilisationAfter,
            capacityPerSAfter: round2(scale.capacityPerS * (scale.targetAgents / Math.max(usable.length, 1))),
            backlogDrainSeconds: scale.drainSeconds,
          },
          proposal: { addAgents: scale.addAgents, currentAgents: usable.length, targetAgents: scale.targetAgents },
          similar: (old) => {
            const prev = (old as { addAgents?: number }).addAgents ?? 0;
            return Math.abs(prev - scale.addAgents) <= Math.max(1, prev / 2);
          },
        },
        false,
      );
    }
  }

  private async agentsWith(tenantId: string, capability: string): Promise<AgentDto[]> {
    const out: AgentDto[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 20; page++) {
      const r = await this.rt.bus.request(AgentCommands.list, { tenantId, capability, limit: 500, ...(cursor ? { cursor } : {}) });
      out.push(...r.items);
      if (!r.nextCursor) break;
      cursor = r.nextCursor;
    }
    return out;
  }
}

function pct(v: number): string {
  return `${Math.round(v * 1000) / 10} %`;
}

/** Lower bound of a histogram bin's values (conservative for "longer than the timeout"). */
function histQuantileOfBin(bin: number): number {
  return Math.exp(bin * Math.log(1.05)) - 1;
}
