import { type RoutingWeightsDto, type TimeoutTableDto, TUNING_KV } from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import type { Logger } from '@swarm-mesh/telemetry';
import type { KV } from 'nats';
import type { DataSource, EntityManager } from 'typeorm';

export type TuningKind = 'timeout' | 'routing';

/** A learned timeout in force. */
export interface TimeoutValue {
  startToCloseMs: number;
  p99Ms: number;
  k: number;
  samples: number;
}

/** Routing weights in force for one capability. */
export interface RoutingValue {
  pools: Array<{ pool: string; weight: number; basis?: Record<string, unknown> }>;
}

export interface TuningRow {
  tenantId: string;
  kind: TuningKind;
  capability: string;
  value: Record<string, unknown>;
  recommendationId: string | null;
}

type Queryable = Pick<DataSource | EntityManager, 'query'>;

/**
 * The tuning in force (Postgres, `performance.tuning`) and its published copy (NATS KV: one
 * key per tenant in `swarm_timeouts` and `swarm_routing_weights`). Postgres is the truth: the
 * KV value is rebuilt from it after every change and at start-up, so a publish lost to a crash
 * is repaired by the next one.
 */
export class TuningStore {
  private timeoutsKv: KV | null = null;
  private routingKv: KV | null = null;

  constructor(
    private readonly ds: DataSource,
    private readonly bus: MeshBus,
    private readonly logger: Logger,
  ) {}

  async open(): Promise<void> {
    this.timeoutsKv = await this.bus.js().views.kv(this.bus.name(TUNING_KV.timeouts), { history: 10 });
    this.routingKv = await this.bus.js().views.kv(this.bus.name(TUNING_KV.routingWeights), { history: 10 });
  }

  async get(tenantId: string, kind: TuningKind, capability: string, q: Queryable = this.ds): Promise<TuningRow | null> {
    const rows = await q.query<Array<{ value: Record<string, unknown>; recommendation_id: string | null }>>(
      `SELECT value, recommendation_id FROM performance.tuning WHERE tenant_id = $1 AND kind = $2 AND capability = $3`,
      [tenantId, kind, capability],
    );
    const r = rows[0];
    return r ? { tenantId, kind, capability, value: r.value, recommendationId: r.recommendation_id } : null;
  }

  async list(tenantId: string, kind: TuningKind, q: Queryable = this.ds): Promise<TuningRow[]> {
    const rows = await q.query<Array<{ capability: string; value: Record<string, unknown>; recommendation_id: string | null }>>(
      `SELECT capability, value, recommendation_id FROM performance.tuning WHERE tenant_id = $1 AND kind = $2 ORDER BY capability`,
      [tenantId, kind],
    );
    return rows.map((r) => ({ tenantId, kind, capability: r.capability, value: r.value, recommendationId: r.recommendation_id }));
  }

  /** Puts a value in force (null removes it). */
  async set(
    q: Queryable,
    tenantId: string,
    kind: TuningKind,
    capability: string,
    value: Record<string, unknown> | null,
    recommendationId: string | null,
  ): Promise<void> {
    if (value === null) {
      await q.query(`DELETE FROM performance.tuning WHERE tenant_id = $1 AND kind = $2 AND capability = $3`, [tenantId, kind, capability]);
      return;
    }
    await q.query(
      `INSERT INTO performance.tuning (tenant_id, kind, capability, value, recommendation_id, updated_at)
       VALUES ($1, $2, $3, $4, $5, now())
       ON CONFLICT (tenant_id, kind, capability) DO UPDATE SET value = EXCLUDED.value, recommendation_id = EXCLUDED.recommendation_id, updated_at = now()`,
      [tenantId, kind, capability, JSON.stringify(value), recommendationId],
    );
  }

  /** Rebuilds the tenant's KV value of `kind` from Postgres. */
  async publish(tenantId: string, kind: TuningKind): Promise<void> {
    const rows = await this.list(tenantId, kind);
    const now = new Date().toISOString();
    if (kind === 'timeout') {
      const table: TimeoutTableDto = {
        tenantId,
        updatedAt: now,
        timeouts: rows.map((r) => {
          const v = r.value as unknown as TimeoutValue;
          return {
            capability: r.capability,
            startToCloseMs: v.startToCloseMs,
            p99Ms: v.p99Ms,
            k: v.k,
            samples: v.samples,
            recommendationId: r.recommendationId,
          };
        }),
      };
      await this.put(this.timeoutsKv, tenantId, table);
    } else {
      const weights: RoutingWeightsDto = {
        tenantId,
        updatedAt: now,
        capabilities: rows.map((r) => ({
          capability: r.capability,
          pools: (r.value as unknown as RoutingValue).pools,
          recommendationId: r.recommendationId,
        })),
      };
      await this.put(this.routingKv, tenantId, weights);
    }
  }

  /** Republishes every tenant's tuning (start-up repair). */
  async publishAll(): Promise<void> {
    const rows = await this.ds.query<Array<{ tenant_id: string; kind: TuningKind }>>(
      `SELECT DISTINCT tenant_id, kind FROM performance.tuning`,
    );
    for (const r of rows) await this.publish(r.tenant_id, r.kind);
  }

  private async put(kv: KV | null, tenantId: string, value: object): Promise<void> {
    if (!kv) throw new Error('tuning store not opened');
    await kv.put(tenantId, JSON.stringify(value));
    this.logger.debug('tuning published', { tenantId, bucket: kv === this.timeoutsKv ? TUNING_KV.timeouts : TUNING_KV.routingWeights });
  }
}
