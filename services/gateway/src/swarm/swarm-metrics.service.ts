import { Inject, Injectable } from '@nestjs/common';
import { AGENT_STATES, AgentCommands, PerformanceCommands, QueueCommands } from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import { MESH_BUS } from '@swarm-mesh/service-kit';
import type { AgentStateCountsDto, SwarmAgentsDto, SwarmMetricsDto, SwarmQueuesDto } from './swarm.dto';

/** How long an overview is reused. */
export const SWARM_METRICS_CACHE_MS = 1000;
const MAX_AGENT_PAGES = 20;

/** Builds /swarm/metrics from the optimizer and the coordinator, cached ~1 s per tenant and window. */
@Injectable()
export class SwarmMetricsService {
  private readonly cache = new Map<string, { at: number; value: Promise<SwarmMetricsDto> }>();

  constructor(@Inject(MESH_BUS) private readonly bus: MeshBus) {}

  get(tenantId: string, windowMs: number | undefined): Promise<SwarmMetricsDto> {
    const key = `${tenantId}|${windowMs ?? ''}`;
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && now - hit.at < SWARM_METRICS_CACHE_MS) return hit.value;
    const value = this.build(tenantId, windowMs);
    this.cache.set(key, { at: now, value });
    value.catch(() => this.cache.delete(key));
    if (this.cache.size > 1000) {
      for (const [k, v] of this.cache) if (now - v.at >= SWARM_METRICS_CACHE_MS) this.cache.delete(k);
    }
    return value;
  }

  private async build(tenantId: string, windowMs: number | undefined): Promise<SwarmMetricsDto> {
    const unavailable: string[] = [];
    const [performance, queues, agents] = await Promise.all([
      this.bus
        .request(PerformanceCommands.overview, { tenantId, ...(windowMs !== undefined ? { windowMs } : {}) }, { timeoutMs: 2000 })
        .catch(() => {
          unavailable.push('performance-optimizer');
          return null;
        }),
      this.queues(tenantId).catch(() => {
        unavailable.push('coordinator.queues');
        return null;
      }),
      this.agents(tenantId).catch(() => {
        unavailable.push('coordinator.agents');
        return null;
      }),
    ]);
    return { computedAt: new Date().toISOString(), performance, queues, agents, unavailable: unavailable.sort() };
  }

  private async queues(tenantId: string): Promise<SwarmQueuesDto> {
    const { items } = await this.bus.request(QueueCommands.depths, { tenantId }, { timeoutMs: 2000 });
    const out: SwarmQueuesDto = {
      totalQueued: 0,
      queuedByPriority: { LOW: 0, MEDIUM: 0, HIGH: 0, CRITICAL: 0 },
      dispatched: 0,
      running: 0,
      retryScheduled: 0,
      freeSlots: 0,
      capabilities: items,
    };
    for (const q of items) {
      out.totalQueued += q.totalQueued;
      out.queuedByPriority.LOW += q.queued.LOW;
      out.queuedByPriority.MEDIUM += q.queued.MEDIUM;
      out.queuedByPriority.HIGH += q.queued.HIGH;
      out.queuedByPriority.CRITICAL += q.queued.CRITICAL;
      out.dispatched += q.dispatched;
      out.running += q.running;
      out.retryScheduled += q.retryScheduled;
      out.freeSlots += q.freeSlots;
    }
    return out;
  }

  private async agents(tenantId: string): Promise<SwarmAgentsDto> {
    const byState = Object.fromEntries(AGENT_STATES.map((s) => [s, 0])) as unknown as AgentStateCountsDto;
    let total = 0;
    let cursor: string | undefined;
    for (let page = 0; page < MAX_AGENT_PAGES; page++) {
      const r = await this.bus.request(AgentCommands.list, { tenantId, limit: 500, ...(cursor ? { cursor } : {}) }, { timeoutMs: 2000 });
      for (const a of r.items) {
        total++;
        byState[a.state]++;
      }
      if (!r.nextCursor) break;
      cursor = r.nextCursor;
    }
    return { total, byState };
  }
}
