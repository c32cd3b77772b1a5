import type { CapabilityOverviewDto, LatencyStatsDto, PerformanceOverviewDto } from '@swarm-mesh/contracts';
import { binOf, type Hist, histAdd, histMax, histMerge, histQuantile, round2 } from '../analysis/histogram';
import type { SampleRow } from './event-mapper';

/** One second of one capability. */
interface Slot {
  second: number;
  completed: number;
  succeeded: number;
  failed: number;
  failedAttempts: number;
  latencySum: number;
  latency: Hist;
}

const FAILED_STATES = new Set(['failed', 'dead_lettered', 'timed_out', 'cancelled']);

/**
 * The real-time view behind /swarm/metrics: per tenant and capability, a ring of one-second
 * slots filled from the samples as they are ingested (memory only, no database round trip).
 * With several optimizer replicas each sees its share of the events; run one replica, or
 * read the rollups, for exact figures.
 */
export class LiveStats {
  private readonly rings = new Map<string, Map<string, Slot[]>>();
  private readonly size: number;

  constructor(readonly maxWindowMs: number) {
    this.size = Math.ceil(maxWindowMs / 1000) + 1;
  }

  record(r: SampleRow): void {
    const failedAttempt = r.attempt > 0 && (r.outcome === 'failed' || r.outcome === 'timed_out');
    if (r.task_state === null && !failedAttempt) return;
    // the second the attempt ended (a backlog ingested late does not count as current traffic)
    const now = Math.floor(Date.now() / 1000);
    const second = Math.min(now, Math.floor(Date.parse(r.finished_at) / 1000));
    if (!(second > now - this.size)) return;
    let tenant = this.rings.get(r.tenant_id);
    if (!tenant) {
      tenant = new Map();
      this.rings.set(r.tenant_id, tenant);
    }
    let ring = tenant.get(r.capability);
    if (!ring) {
      ring = [];
      tenant.set(r.capability, ring);
    }
    const i = second % this.size;
    let slot = ring[i];
    if (!slot || slot.second !== second) {
      slot = { second, completed: 0, succeeded: 0, failed: 0, failedAttempts: 0, latencySum: 0, latency: new Map() };
      ring[i] = slot;
    }
    if (failedAttempt) slot.failedAttempts++;
    if (r.task_state !== null) {
      slot.completed++;
      if (r.task_state === 'succeeded') slot.succeeded++;
      else if (FAILED_STATES.has(r.task_state)) slot.failed++;
      if (r.total_ms !== null) {
        slot.latencySum += r.total_ms;
        histAdd(slot.latency, binOf(r.total_ms));
      }
    }
  }

  overview(tenantId: string, windowMs: number, capability?: string): PerformanceOverviewDto {
    const window = Math.min(Math.max(windowMs, 1000), this.maxWindowMs);
    const now = Date.now();
    const from = Math.floor((now - window) / 1000);
    const all = { completed: 0, succeeded: 0, failed: 0, failedAttempts: 0, latencySum: 0, latencyN: 0, latency: new Map() as Hist };
    const capabilities: CapabilityOverviewDto[] = [];
    for (const [cap, ring] of this.rings.get(tenantId) ?? []) {
      if (capability !== undefined && cap !== capability) continue;
      const c = { completed: 0, succeeded: 0, failed: 0, latencySum: 0, latencyN: 0, latency: new Map() as Hist };
      for (const slot of ring) {
        if (!slot || slot.second <= from) continue;
        c.completed += slot.completed;
        c.succeeded += slot.succeeded;
        c.failed += slot.failed;
        all.failedAttempts += slot.failedAttempts;
        c.latencySum += slot.latencySum;
        for (const n of slot.latency.values()) c.latencyN += n;
        histMerge(c.latency, slot.latency);
      }
      if (c.completed === 0) continue;
      all.completed += c.completed;
      all.succeeded += c.succeeded;
      all.failed += c.failed;
      all.latencySum += c.latencySum;
      all.latencyN += c.latencyN;
      histMerge(all.latency, c.latency);
      capabilities.push({
        capability: cap,
        completed: c.completed,
        throughputPerS: round2(c.completed / (window / 1000)),
        successRate: rate(c.succeeded, c.succeeded + c.failed),
        latencyMs: latencyStats(c.latency, c.latencyN, c.latencySum),
      });
    }
    capabilities.sort((a, b) => b.completed - a.completed || a.capability.localeCompare(b.capability));
    return {
      windowMs: window,
      computedAt: new Date(now).toISOString(),
      completed: all.completed,
      succeeded: all.succeeded,
      failed: all.failed,
      failedAttempts: all.failedAttempts,
      throughputPerS: round2(all.completed / (window / 1000)),
      successRate: rate(all.succeeded, all.succeeded + all.failed),
      latencyMs: latencyStats(all.latency, all.latencyN, all.latencySum),
      capabilities,
    };
  }
}

function rate(ok: number, n: number): number | null {
  return n > 0 ? Math.round((ok / n) * 10_000) / 10_000 : null;
}

/** LatencyStatsDto from a histogram and the exact sum. */
export function latencyStats(h: Hist, n: number, sum: number): LatencyStatsDto {
  const q = (p: number): number | null => {
    const v = histQuantile(h, p);
    return v === null ? null : round2(v);
  };
  const max = histMax(h);
  return {
    samples: n,
    meanMs: n > 0 ? round2(sum / n) : null,
    p50Ms: q(0.5),
    p95Ms: q(0.95),
    p99Ms: q(0.99),
    maxMs: max === null ? null : round2(max),
  };
}
