import { Injectable } from '@nestjs/common';
import {
  type BaselineDto,
  type BaselineGrouping,
  type BaselinesDto,
  type BottleneckFindingDto,
  type BottlenecksDto,
  type PerformanceOverviewDto,
  QueueCommands,
  type QueueDepthDto,
  ResourceCommands,
  type Severity,
  type SlaComplianceDto,
  type SlaMissDto,
  type SlaReportDto,
  type TimeBreakdownDto,
} from '@swarm-mesh/contracts';
import { histQuantile, round2 } from '../analysis/histogram';
import { type Agg, aggregate, addAgg, emptyAgg, loadRollups, queueStats, type RollupRow, runStats, successRate } from '../analysis/rollups';
import { IngestHost } from '../ingest/ingest.host';
import { OptimizerRuntime } from '../optimizer.runtime';

const SEVERITY_RANK: Record<Severity, number> = { high: 0, medium: 1, low: 2 };

function ratio(a: number, b: number): number {
  return b > 0 ? Math.min(1, Math.max(0, Math.round((a / b) * 10_000) / 10_000)) : 0;
}

/** Where the time of a set of attempts goes: queued, running successful attempts, lost in failed ones. */
function breakdown(key: string, a: Agg): TimeBreakdownDto {
  const total = a.queueSum + a.runSum + a.lostRunMs;
  return {
    key,
    attempts: a.attempts,
    queueWaitMs: queueStats(a),
    runMs: runStats(a),
    resourceWaitMeanMs: null,
    queueShare: ratio(a.queueSum, total),
    runShare: ratio(a.runSum, total),
    retryShare: ratio(a.lostRunMs, total),
  };
}

/** The read side: baselines, bottlenecks, SLA compliance and the live overview. */
@Injectable()
export class ReportsService {
  constructor(
    private readonly rt: OptimizerRuntime,
    private readonly ingest: IngestHost,
  ) {}

  overview(tenantId: string, windowMs: number | undefined, capability?: string): PerformanceOverviewDto {
    return this.ingest.live.overview(tenantId, windowMs ?? this.rt.options.overviewWindowMs, capability);
  }

  async baselines(
    tenantId: string,
    f: { capability?: string; provider?: string; agentId?: string; groupBy?: BaselineGrouping; windowMs?: number },
  ): Promise<BaselinesDto> {
    const windowMs = f.windowMs ?? this.rt.options.baselineWindowMs;
    const to = Date.now();
    const from = to - windowMs;
    const rows = await loadRollups(
      this.rt.ds,
      tenantId,
      Math.floor(from / this.rt.options.rollupBucketMs) * this.rt.options.rollupBucketMs,
      to + 1,
      f.capability,
    );
    const groupBy = f.groupBy ?? 'agent';
    const groups = aggregate(rows, (r) => {
      if (f.provider !== undefined && r.pool !== f.provider) return undefined;
      if (f.agentId !== undefined && r.agentId !== f.agentId) return undefined;
      const pool = groupBy === 'capability' ? '' : r.pool;
      const agent = groupBy === 'agent' ? r.agentId : '';
      return `${r.capability}\u0000${pool}\u0000${agent}`;
    });
    const items: BaselineDto[] = [...groups.entries()]
      .map(([key, a]) => {
        const [capability, pool, agent] = key.split('\u0000') as [string, string, string];
        return {
          capability,
          provider: pool === '' ? null : pool,
          agentId: agent === '' ? null : agent,
          attempts: a.attempts,
          succeeded: a.succeeded,
          failed: a.failed,
          timedOut: a.timedOut,
          successRate: successRate(a),
          runMs: runStats(a),
          queueWaitMs: queueStats(a),
          costPerTaskUsd: a.costN > 0 ? Math.round((a.costSum / a.costN) * 1e6) / 1e6 : null,
          tokensPerTask: a.tokensN > 0 ? round2(a.tokensSum / a.tokensN) : null,
        };
      })
      .filter((b) => b.attempts > 0)
      .sort(
        (x, y) =>
          x.capability.localeCompare(y.capability) ||
          (x.provider ?? '').localeCompare(y.provider ?? '') ||
          (x.agentId ?? '').localeCompare(y.agentId ?? ''),
      );
    return { items, windowMs, from: new Date(from).toISOString(), to: new Date(to).toISOString() };
  }

  async bottlenecks(tenantId: string, windowMs: number | undefined, capability?: string): Promise<BottlenecksDto> {
    const window = windowMs ?? this.rt.options.analysisWindowMs;
    const now = Date.now();
    const rows = await loadRollups(this.rt.ds, tenantId, now - window, now + 1, capability);
    const byCap = aggregate(rows, (r) => r.capability);
    const capabilities = [...byCap.entries()].map(([cap, a]) => breakdown(cap, a)).sort((a, b) => b.attempts - a.attempts);
    const workflows = await this.workflowBreakdowns(tenantId, now - window, capability);
    const findings: BottleneckFindingDto[] = [];

    let depths: QueueDepthDto[] = [];
    try {
      depths = (await this.rt.bus.request(QueueCommands.depths, { tenantId }, { timeoutMs: 2000 })).items;
    } catch {
      /* coordinator unavailable: no saturation findings */
    }
    for (const d of depths) {
      if (capability !== undefined && d.capability !== capability) continue;
      if (d.totalQueued > 0 && d.freeSlots === 0) {
        const a = byCap.get(d.capability);
        findings.push({
          kind: 'saturated_capability',
          capability: d.capability,
          severity: (d.oldestQueuedAgeMs ?? 0) > 60_000 || d.totalQueued > 1000 ? 'high' : 'medium',
          summary: `${d.capability}: ${d.totalQueued} tasks queued with no free slot on ${d.availableAgents} agent${d.availableAgents === 1 ? '' : 's'}; oldest waiting ${d.oldestQueuedAgeMs ?? 0} ms`,
          evidence: {
            queued: d.totalQueued,
            queuedByPriority: d.queued,
            oldestQueuedAgeMs: d.oldestQueuedAgeMs,
            freeSlots: d.freeSlots,
            running: d.running,
            availableAgents: d.availableAgents,
            p95QueueWaitMs: a ? queueStats(a).p95Ms : null,
            p95RunMs: a ? runStats(a).p95Ms : null,
          },
        });
      }
    }
    for (const [cap, a] of byCap) {
      const q = histQuantile(a.queueHist, 0.95);
      const r = histQuantile(a.runHist, 0.95);
      const b = breakdown(cap, a);
      if (a.attempts >= 10 && q !== null && r !== null && q > 2 * r && b.queueShare >= 0.5) {
        findings.push({
          kind: 'queue_wait',
          capability: cap,
          severity: b.queueShare >= 0.8 ? 'high' : 'medium',
          summary: `${cap}: ${Math.round(b.queueShare * 100)} % of the time is spent queued (p95 queue wait ${round2(q)} ms vs p95 run ${round2(r)} ms)`,
          evidence: {
            attempts: a.attempts,
            queueShare: b.queueShare,
            runShare: b.runShare,
            p95QueueWaitMs: round2(q),
            p95RunMs: round2(r),
          },
        });
      }
      findings.push(
        ...this.agentFindings(
          cap,
          rows.filter((x) => x.capability === cap),
        ),
      );
    }
    findings.push(...(await this.poolFindings(tenantId)));
    findings.sort((x, y) => SEVERITY_RANK[x.severity] - SEVERITY_RANK[y.severity] || x.capability.localeCompare(y.capability));
    return { windowMs: window, computedAt: new Date(now).toISOString(), capabilities, workflows, findings };
  }

  private agentFindings(capability: string, rows: RollupRow[]): BottleneckFindingDto[] {
    const byAgent = aggregate(rows, (r) => (r.agentId !== '' ? r.agentId : undefined));
    if (byAgent.size < 2) return [];
    const out: BottleneckFindingDto[] = [];
    for (const [agentId, a] of byAgent) {
      const peers = emptyAgg();
      for (const [other, b] of byAgent) if (other !== agentId) addAgg(peers, b);
      const mine = histQuantile(a.runHist, 0.5);
      const theirs = histQuantile(peers.runHist, 0.5);
      if (a.runN >= 20 && peers.runN >= 20 && mine !== null && theirs !== null && mine >= 1.5 * theirs) {
        out.push({
          kind: 'slow_agent',
          capability,
          agentId,
          severity: mine >= 3 * theirs ? 'high' : 'medium',
          summary: `${agentId} runs ${capability} at a median ${round2(mine)} ms, ×${round2(mine / theirs)} its peers' ${round2(theirs)} ms`,
          evidence: { medianRunMs: round2(mine), peerMedianRunMs: round2(theirs), samples: a.runN, peerSamples: peers.runN },
        });
      }
      const rate = successRate(a);
      const peerRate = successRate(peers);
      if (a.attempts >= 10 && rate !== null && peerRate !== null && rate <= 0.5 && peerRate >= 0.9) {
        out.push({
          kind: 'failing_agent',
          capability,
          agentId,
          severity: rate <= 0.2 ? 'high' : 'medium',
          summary: `${agentId} succeeds on ${Math.round(rate * 100)} % of ${capability} attempts, its peers on ${Math.round(peerRate * 100)} %`,
          evidence: { attempts: a.attempts, successRate: rate, peerSuccessRate: peerRate },
        });
      }
    }
    return out;
  }

  /** Saturated pools as the resource allocator reports them (none when it does not answer). */
  private async poolFindings(tenantId: string): Promise<BottleneckFindingDto[]> {
    try {
      const m = await this.rt.bus.request(ResourceCommands.monitoring, { tenantId }, { timeoutMs: 1000 });
      const out: BottleneckFindingDto[] = [];
      for (const p of m.pools) {
        const used = Math.max(...Object.values(p.utilisation).filter((v): v is number => typeof v === 'number'), 0);
        if (used < 0.95 && p.demand.forecastSaturation <= 1) continue;
        out.push({
          kind: 'saturated_pool',
          capability: '*',
          provider: p.name,
          severity: used >= 1 || p.demand.forecastSaturation > 1.5 ? 'high' : 'medium',
          summary: `pool ${p.name}: ${Math.round(used * 100)} % of its tightest limit used, forecast ×${round2(p.demand.forecastSaturation)} of it`,
          evidence: { utilisation: p.utilisation, demand: p.demand, rateLimited: p.rateLimited, paused: p.paused },
        });
      }
      return out;
    } catch {
      return [];
    }
  }

  private async workflowBreakdowns(tenantId: string, fromMs: number, capability?: string): Promise<TimeBreakdownDto[]> {
    const rows = await this.rt.ds.query<Array<Record<string, string | number | null>>>(
      `SELECT workflow_id, count(*) FILTER (WHERE attempt > 0)::int AS attempts,
              coalesce(sum(queue_wait_ms), 0)::bigint AS queue_sum, count(queue_wait_ms)::int AS queue_n,
              coalesce(sum(run_ms) FILTER (WHERE outcome = 'succeeded'), 0)::bigint AS run_sum,
              count(run_ms) FILTER (WHERE outcome = 'succeeded')::int AS run_n,
              coalesce(sum(run_ms) FILTER (WHERE outcome <> 'succeeded'), 0)::bigint AS lost_sum,
              percentile_disc(0.5) WITHIN GROUP (ORDER BY queue_wait_ms) AS q50, percentile_disc(0.95) WITHIN GROUP (ORDER BY queue_wait_ms) AS q95,
              percentile_disc(0.99) WITHIN GROUP (ORDER BY queue_wait_ms) AS q99, max(queue_wait_ms) AS qmax,
              percentile_disc(0.5) WITHIN GROUP (ORDER BY run_ms) AS r50, percentile_disc(0.95) WITHIN GROUP (ORDER BY run_ms) AS r95,
              percentile_disc(0.99) WITHIN GROUP (ORDER BY run_ms) AS r99, max(run_ms) AS rmax
         FROM performance.execution_samples
        WHERE tenant_id = $1 AND workflow_id IS NOT NULL AND finished_at >= $2 ${capability !== undefined ? 'AND capability = $3' : ''}
        GROUP BY workflow_id
        ORDER BY sum(coalesce(queue_wait_ms, 0) + coalesce(run_ms, 0)) DESC
        LIMIT 50`,
      capability !== undefined ? [tenantId, new Date(fromMs).toISOString(), capability] : [tenantId, new Date(fromMs).toISOString()],
    );
    const n = (v: string | number | null | undefined): number | null => (v === null || v === undefined ? null : Number(v));
    return rows.map((r) => {
      const queueSum = Number(r.queue_sum);
      const runSum = Number(r.run_sum);
      const lost = Number(r.lost_sum);
      const total = queueSum + runSum + lost;
      const queueN = Number(r.queue_n);
      const runN = Number(r.run_n);
      return {
        key: String(r.workflow_id),
        attempts: Number(r.attempts),
        queueWaitMs: {
          samples: queueN,
          meanMs: queueN > 0 ? round2(queueSum / queueN) : null,
          p50Ms: n(r.q50),
          p95Ms: n(r.q95),
          p99Ms: n(r.q99),
          maxMs: n(r.qmax),
        },
        runMs: {
          samples: runN,
          meanMs: runN > 0 ? round2(runSum / runN) : null,
          p50Ms: n(r.r50),
          p95Ms: n(r.r95),
          p99Ms: n(r.r99),
          maxMs: n(r.rmax),
        },
        resourceWaitMeanMs: null,
        queueShare: ratio(queueSum, total),
        runShare: ratio(runSum, total),
        retryShare: ratio(lost, total),
      };
    });
  }

  async sla(tenantId: string, windowMs: number | undefined, capability?: string): Promise<SlaReportDto> {
    const window = windowMs ?? this.rt.options.analysisWindowMs;
    const now = Date.now();
    const from = now - window;
    const rows = await loadRollups(this.rt.ds, tenantId, from, now + 1, capability);
    const items: SlaComplianceDto[] = [];
    const compliance = (scope: SlaComplianceDto['scope'], key: string, withDeadline: number, missed: number): SlaComplianceDto => ({
      scope,
      key,
      withDeadline,
      met: withDeadline - missed,
      missed,
      compliance: withDeadline > 0 ? ratio(withDeadline - missed, withDeadline) : null,
    });
    const all = rows.reduce((acc, r) => addAgg(acc, r), emptyAgg());
    items.push(compliance('tenant', tenantId, all.deadlineTasks, all.deadlineMissed));
    for (const [cap, a] of aggregate(rows, (r) => r.capability)) {
      if (a.deadlineTasks > 0) items.push(compliance('capability', cap, a.deadlineTasks, a.deadlineMissed));
    }
    const params: unknown[] = [tenantId, new Date(from).toISOString()];
    if (capability !== undefined) params.push(capability);
    const capFilter = capability !== undefined ? 'AND capability = $3' : '';
    const wf = await this.rt.ds.query<Array<{ workflow_id: string; n: number; missed: number }>>(
      `SELECT workflow_id, count(*)::int AS n,
              count(*) FILTER (WHERE task_state <> 'succeeded' OR finished_at > deadline_at)::int AS missed
         FROM performance.execution_samples
        WHERE tenant_id = $1 AND finished_at >= $2 AND deadline_at IS NOT NULL AND task_state IS NOT NULL AND workflow_id IS NOT NULL ${capFilter}
        GROUP BY workflow_id ORDER BY count(*) FILTER (WHERE task_state <> 'succeeded' OR finished_at > deadline_at) DESC, workflow_id LIMIT 100`,
      params,
    );
    for (const w of wf) items.push(compliance('workflow', w.workflow_id, w.n, w.missed));

    const missRows = await this.rt.ds.query<MissRow[]>(
      `SELECT s.task_id::text AS task_id, s.capability, s.workflow_id, s.deadline_at, s.finished_at, s.task_state, s.total_ms,
              s.queue_wait_ms, s.run_ms, s.attempt, s.agent_id, s.pool,
              (SELECT coalesce(sum(e.run_ms), 0) FROM performance.execution_samples e WHERE e.task_id = s.task_id AND e.attempt < s.attempt)::bigint AS earlier_run_ms
         FROM performance.execution_samples s
        WHERE s.tenant_id = $1 AND s.finished_at >= $2 AND s.deadline_at IS NOT NULL AND s.task_state IS NOT NULL
          AND (s.task_state <> 'succeeded' OR s.finished_at > s.deadline_at) ${capFilter.replace('capability', 's.capability')}
        ORDER BY s.finished_at DESC LIMIT 50`,
      params,
    );
    const misses: SlaMissDto[] = missRows.map((m) => explainMiss(m));
    return { windowMs: window, computedAt: new Date(now).toISOString(), items, misses };
  }
}

/** A missed deadline as read from the samples. */
interface MissRow {
  task_id: string;
  capability: string;
  workflow_id: string | null;
  deadline_at: Date;
  finished_at: Date;
  task_state: string;
  total_ms: number | null;
  queue_wait_ms: number | null;
  run_ms: number | null;
  attempt: number;
  agent_id: string | null;
  pool: string | null;
  earlier_run_ms: string;
}

/** Where a late (or failed) task's time went: queued before its last attempt, running it, or in earlier attempts and backoff. */
export function explainMiss(m: MissRow): SlaMissDto {
  const lateBy = Math.max(0, m.finished_at.getTime() - m.deadline_at.getTime());
  const q = m.queue_wait_ms;
  const r = m.run_ms;
  const total = m.total_ms;
  const earlier = Number(m.earlier_run_ms);
  let retry: number | null = null;
  if (total !== null) retry = Math.max(0, total - (q ?? 0) - (r ?? 0));
  else if (m.attempt > 1) retry = earlier;
  const parts: Array<[SlaMissDto['mainCause'], number]> = [];
  if (q !== null) parts.push(['queue_wait', q]);
  if (r !== null) parts.push(['run_time', r]);
  if (retry !== null) parts.push(['retries', retry]);
  parts.sort((a, b) => b[1] - a[1]);
  const mainCause: SlaMissDto['mainCause'] = parts[0] && parts[0][1] > 0 ? parts[0][0] : 'unknown';
  const share = (v: number | null): string => (v !== null && total ? ` (${Math.round((v / total) * 100)} %)` : '');
  const pieces = [
    q !== null ? `queued ${q} ms${share(q)} before its final attempt` : null,
    r !== null
      ? `ran ${r} ms${share(r)} in attempt ${m.attempt}${m.agent_id ? ` on ${m.agent_id}` : ''}${m.pool ? ` (${m.pool})` : ''}`
      : null,
    retry !== null && m.attempt > 1 ? `spent ${retry} ms${share(retry)} in ${m.attempt - 1} earlier attempt(s) and backoff` : null,
  ].filter((x): x is string => x !== null);
  const head =
    m.task_state === 'succeeded'
      ? `finished ${lateBy} ms after its deadline`
      : `ended ${m.task_state}${lateBy > 0 ? ` ${lateBy} ms after its deadline` : ' before its deadline without a result'}`;
  const explanation = `${head}${total !== null ? ` after ${total} ms` : ''}${pieces.length > 0 ? `: ${pieces.join(', ')}` : ''}; most time went to ${mainCause.replace('_', ' ')}`;
  return {
    taskId: m.task_id,
    capability: m.capability,
    workflowId: m.workflow_id,
    deadline: m.deadline_at.toISOString(),
    finishedAt: m.finished_at.toISOString(),
    lateByMs: lateBy,
    totalMs: total,
    queueWaitMs: q,
    runMs: r,
    retryMs: retry,
    attempts: Math.max(1, m.attempt),
    mainCause,
    explanation: explanation.slice(0, 1000),
  };
}
