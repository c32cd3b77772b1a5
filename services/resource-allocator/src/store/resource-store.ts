import type { PoolLimitsDto, PoolPricingDto, ResourceEstimateDto } from '@swarm-mesh/contracts';
import type { DataSource } from 'typeorm';
import type { LedgerAmounts, LedgerEntry } from '../core/ledger';
import { type Budget, type Explicit, type Lease, type Pool, type Reservation } from '../core/model';

const ms = (v: unknown): number => (v instanceof Date ? v.getTime() : new Date(String(v)).getTime());
const msOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : ms(v));

export interface PoolRow {
  id: string;
  tenantId: string;
  name: string;
  provider: string;
  model: string;
  keyRef: string | null;
  capabilities: string[];
  tenants: string[];
  limits: PoolLimitsDto;
  pricing: PoolPricingDto | undefined;
  defaultEstimate: ResourceEstimateDto | undefined;
  paused: boolean;
  pausedUntil: number | null;
  pauseReason: string | null;
  createdAt: number;
  updatedAt: number;
}

/** SQL of the `resources` schema. Writes on the hot path are batched by the host. */
export class ResourceStore {
  constructor(private readonly ds: DataSource) {}

  async loadPools(): Promise<PoolRow[]> {
    const rows: Array<Record<string, unknown>> = await this.ds.query(
      `SELECT * FROM resources.pools WHERE deleted_at IS NULL ORDER BY created_at`,
    );
    return rows.map((r) => ({
      id: r.id as string,
      tenantId: r.tenant_id as string,
      name: r.name as string,
      provider: r.provider as string,
      model: r.model as string,
      keyRef: (r.key_ref as string | null) ?? null,
      capabilities: (r.capabilities as string[]) ?? [],
      tenants: (r.tenants as string[]) ?? [],
      limits: (r.limits as PoolLimitsDto) ?? {},
      pricing: (r.pricing as PoolPricingDto | null) ?? undefined,
      defaultEstimate: (r.default_estimate as ResourceEstimateDto | null) ?? undefined,
      paused: r.paused as boolean,
      pausedUntil: msOrNull(r.paused_until),
      pauseReason: (r.pause_reason as string | null) ?? null,
      createdAt: ms(r.created_at),
      updatedAt: ms(r.updated_at),
    }));
  }

  /** Inserts or updates a pool; a name already taken by a live pool of the tenant throws a unique violation. */
  async savePool(p: Pool): Promise<void> {
    await this.ds.query(
      `INSERT INTO resources.pools (id, tenant_id, name, provider, model, key_ref, limits, capabilities, tenants, pricing, default_estimate,
                                    paused, paused_until, pause_reason, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
       ON CONFLICT (id) DO UPDATE SET provider = EXCLUDED.provider, model = EXCLUDED.model, key_ref = EXCLUDED.key_ref,
         limits = EXCLUDED.limits, capabilities = EXCLUDED.capabilities, tenants = EXCLUDED.tenants, pricing = EXCLUDED.pricing,
         default_estimate = EXCLUDED.default_estimate, paused = EXCLUDED.paused, paused_until = EXCLUDED.paused_until,
         pause_reason = EXCLUDED.pause_reason, updated_at = EXCLUDED.updated_at`,
      [
        p.id,
        p.tenantId,
        p.name,
        p.provider,
        p.model,
        p.keyRef,
        JSON.stringify(p.limits),
        p.capabilities,
        p.tenants,
        p.pricing ? JSON.stringify(p.pricing) : null,
        p.defaultEstimate ? JSON.stringify(p.defaultEstimate) : null,
        p.paused,
        p.pausedUntil === null ? null : new Date(p.pausedUntil),
        p.pauseReason,
        new Date(p.createdAt),
        new Date(p.updatedAt),
      ],
    );
  }

  async deletePool(id: string): Promise<void> {
    await this.ds.transaction(async (m) => {
      await m.query(`UPDATE resources.reservations SET deleted_at = now() WHERE pool_id = $1 AND deleted_at IS NULL`, [id]);
      await m.query(`UPDATE resources.pools SET deleted_at = now() WHERE id = $1`, [id]);
    });
  }

  async loadReservations(): Promise<Reservation[]> {
    const rows: Array<Record<string, unknown>> = await this.ds.query(
      `SELECT * FROM resources.reservations WHERE deleted_at IS NULL AND ends_at > now() - interval '1 day'`,
    );
    return rows.map((r) => {
      const a = (r.amounts as Record<string, number>) ?? {};
      return {
        id: r.id as string,
        tenantId: r.tenant_id as string,
        poolId: r.pool_id as string,
        workflowId: (r.workflow_id as string | null) ?? null,
        startsAt: ms(r.starts_at),
        endsAt: ms(r.ends_at),
        ...(a.slots !== undefined ? { slots: a.slots } : {}),
        ...(a.requestsPerMinute !== undefined ? { requestsPerMinute: a.requestsPerMinute } : {}),
        ...(a.tokensPerMinute !== undefined ? { tokensPerMinute: a.tokensPerMinute } : {}),
        note: (r.note as string | null) ?? null,
        createdAt: ms(r.created_at),
      };
    });
  }

  async insertReservation(r: Reservation): Promise<void> {
    const amounts = { slots: r.slots, requestsPerMinute: r.requestsPerMinute, tokensPerMinute: r.tokensPerMinute };
    await this.ds.query(
      `INSERT INTO resources.reservations (id, tenant_id, pool_id, workflow_id, starts_at, ends_at, amounts, note, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        r.id,
        r.tenantId,
        r.poolId,
        r.workflowId,
        new Date(r.startsAt),
        new Date(r.endsAt),
        JSON.stringify(amounts),
        r.note,
        new Date(r.createdAt),
      ],
    );
  }

  async deleteReservation(id: string): Promise<void> {
    await this.ds.query(`UPDATE resources.reservations SET deleted_at = now() WHERE id = $1`, [id]);
  }

  async loadBudgets(): Promise<Budget[]> {
    const rows: Array<Record<string, unknown>> = await this.ds.query(`SELECT * FROM resources.budgets WHERE deleted_at IS NULL`);
    return rows.map((r) => ({
      id: r.id as string,
      tenantId: r.tenant_id as string,
      workflowId: (r.workflow_id as string | null) ?? null,
      limitUsd: Number(r.limit_usd),
      periodMs: Number(r.period_ms),
      nearLimitRatio: Number(r.near_limit_ratio),
      action: r.action as Budget['action'],
      spentUsd: Number(r.spent_usd),
      reservedUsd: 0,
      periodStartedAt: ms(r.period_started_at),
      createdAt: ms(r.created_at),
      updatedAt: ms(r.updated_at),
      dirty: false,
    }));
  }

  async saveBudget(b: Budget): Promise<void> {
    await this.ds.query(
      `INSERT INTO resources.budgets (id, tenant_id, workflow_id, limit_usd, period_ms, near_limit_ratio, action, spent_usd, period_started_at, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (id) DO UPDATE SET limit_usd = EXCLUDED.limit_usd, period_ms = EXCLUDED.period_ms,
         near_limit_ratio = EXCLUDED.near_limit_ratio, action = EXCLUDED.action, spent_usd = EXCLUDED.spent_usd,
         period_started_at = EXCLUDED.period_started_at, updated_at = EXCLUDED.updated_at`,
      [
        b.id,
        b.tenantId,
        b.workflowId,
        b.limitUsd,
        b.periodMs,
        b.nearLimitRatio,
        b.action,
        b.spentUsd,
        new Date(b.periodStartedAt),
        new Date(b.createdAt),
        new Date(b.updatedAt),
      ],
    );
  }

  async saveBudgetSpend(budgets: Budget[]): Promise<void> {
    if (budgets.length === 0) return;
    await this.ds.query(
      `UPDATE resources.budgets b SET spent_usd = v.spent, period_started_at = v.started, updated_at = now()
       FROM unnest($1::uuid[], $2::float8[], $3::timestamptz[]) AS v(id, spent, started) WHERE b.id = v.id`,
      [budgets.map((b) => b.id), budgets.map((b) => b.spentUsd), budgets.map((b) => new Date(b.periodStartedAt))],
    );
  }

  async deleteBudget(id: string): Promise<void> {
    await this.ds.query(`UPDATE resources.budgets SET deleted_at = now() WHERE id = $1`, [id]);
  }

  async loadEstimates(): Promise<
    Array<{ poolId: string; capability: string; tokensIn: number; tokensOut: number; costUsd: number; samples: number }>
  > {
    const rows: Array<Record<string, unknown>> = await this.ds.query(`SELECT * FROM resources.estimates`);
    return rows.map((r) => ({
      poolId: r.pool_id as string,
      capability: r.capability as string,
      tokensIn: Number(r.tokens_in),
      tokensOut: Number(r.tokens_out),
      costUsd: Number(r.cost_usd),
      samples: Number(r.samples),
    }));
  }

  async saveEstimates(
    rows: Array<{ poolId: string; capability: string; tokensIn: number; tokensOut: number; costUsd: number; samples: number }>,
  ): Promise<void> {
    if (rows.length === 0) return;
    await this.ds.query(
      `INSERT INTO resources.estimates (pool_id, capability, tokens_in, tokens_out, cost_usd, samples, updated_at)
       SELECT * , now() FROM unnest($1::uuid[], $2::text[], $3::float8[], $4::float8[], $5::float8[], $6::int[])
       ON CONFLICT (pool_id, capability) DO UPDATE SET tokens_in = EXCLUDED.tokens_in, tokens_out = EXCLUDED.tokens_out,
         cost_usd = EXCLUDED.cost_usd, samples = EXCLUDED.samples, updated_at = now()`,
      [
        rows.map((r) => r.poolId),
        rows.map((r) => r.capability),
        rows.map((r) => r.tokensIn),
        rows.map((r) => r.tokensOut),
        rows.map((r) => r.costUsd),
        rows.map((r) => r.samples),
      ],
    );
  }

  /** The ledger of the last `sinceMs` (grants at their spent amount, explicit allocations). */
  async loadLedger(sinceMs: number): Promise<
    Array<{
      poolId: string;
      tenantId: string;
      holder: string;
      kind: 'grant' | 'explicit';
      id: string;
      start: number;
      end: number;
      amounts: LedgerAmounts;
    }>
  > {
    const rows: Array<Record<string, unknown>> = await this.ds.query(
      `SELECT id, pool_id, tenant_id, holder, kind, granted, spent, created_at, window_end FROM resources.allocations
       WHERE window_end > $1 ORDER BY created_at`,
      [new Date(sinceMs)],
    );
    return rows.map((r) => ({
      id: r.id as string,
      poolId: r.pool_id as string,
      tenantId: r.tenant_id as string,
      holder: r.holder as string,
      kind: r.kind as 'grant' | 'explicit',
      start: ms(r.created_at),
      end: ms(r.window_end),
      amounts: ((r.spent ?? r.granted) as LedgerAmounts) ?? { requests: 0, tokensIn: 0, tokensOut: 0, costUsd: 0 },
    }));
  }

  /** Inserts new ledger entries and updates changed ones (one statement each). */
  async saveLedger(poolId: string, entries: LedgerEntry[], explicit: Map<string, Explicit>): Promise<void> {
    const fresh = entries.filter((e) => !e.saved);
    const changed = entries.filter((e) => e.saved && e.dirty);
    if (fresh.length > 0) {
      await this.ds.query(
        `INSERT INTO resources.allocations (id, pool_id, tenant_id, holder, granted, spent, expires_at, released_at, created_at, kind, window_end)
         SELECT v.id, $1, v.tenant, v.holder, v.granted, v.spent, v.expires, v.released, v.created, v.kind, v.wend
         FROM unnest($2::uuid[], $3::text[], $4::text[], $5::jsonb[], $6::jsonb[], $7::timestamptz[], $8::timestamptz[], $9::timestamptz[], $10::text[], $11::timestamptz[])
           AS v(id, tenant, holder, granted, spent, expires, released, created, kind, wend)
         ON CONFLICT (id) DO NOTHING`,
        [
          poolId,
          fresh.map((e) => e.id),
          fresh.map((e) => e.tenantId),
          fresh.map((e) => e.holder || 'coordinator'),
          fresh.map((e) => JSON.stringify(e.granted)),
          fresh.map((e) => (e.closed ? JSON.stringify(amounts(e)) : null)),
          fresh.map((e) => new Date(explicit.get(e.id)?.expiresAt ?? e.end)),
          fresh.map((e) => (explicit.get(e.id)?.releasedAt ? new Date(explicit.get(e.id)!.releasedAt!) : null)),
          fresh.map((e) => new Date(e.start)),
          fresh.map((e) => e.kind),
          fresh.map((e) => new Date(e.end)),
        ],
      );
    }
    if (changed.length > 0) {
      await this.ds.query(
        `UPDATE resources.allocations a SET spent = v.spent, released_at = coalesce(a.released_at, v.released)
         FROM unnest($1::uuid[], $2::jsonb[], $3::timestamptz[]) AS v(id, spent, released) WHERE a.id = v.id`,
        [changed.map((e) => e.id), changed.map((e) => JSON.stringify(amounts(e))), changed.map((e) => (e.closed ? new Date() : null))],
      );
    }
    for (const e of [...fresh, ...changed]) {
      e.saved = true;
      e.dirty = false;
    }
  }

  async releaseExplicit(id: string, at: number): Promise<void> {
    await this.ds.query(`UPDATE resources.allocations SET released_at = $2 WHERE id = $1`, [id, new Date(at)]);
  }

  async insertLeases(leases: Lease[], ttlMs: number): Promise<void> {
    if (leases.length === 0) return;
    await this.ds.query(
      `INSERT INTO resources.leases (task_id, attempt, pool_id, tenant_id, workflow_id, capability, priority, holder, grant_id, estimate, admitted_at, expires_at)
       SELECT v.task, v.attempt, v.pool, v.tenant, v.wf, v.cap, v.prio, v.holder, v.grant_id, v.est, v.at, v.at + make_interval(secs => $12::float8 / 1000)
       FROM unnest($1::uuid[], $2::int[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::uuid[], $10::jsonb[], $11::timestamptz[])
         AS v(task, attempt, pool, tenant, wf, cap, prio, holder, grant_id, est, at)
       ON CONFLICT (task_id, attempt) DO NOTHING`,
      [
        leases.map((l) => l.taskId),
        leases.map((l) => l.attempt),
        leases.map((l) => l.poolId),
        leases.map((l) => l.tenantId),
        leases.map((l) => l.workflowId),
        leases.map((l) => l.capability),
        leases.map((l) => ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'][l.priority] ?? 'MEDIUM'),
        leases.map((l) => l.holder),
        leases.map((l) => l.grantId),
        leases.map((l) => JSON.stringify(l.est)),
        leases.map((l) => new Date(l.admittedAt)),
        ttlMs,
      ],
    );
  }

  async endLeases(
    ended: Array<{ taskId: string; attempt: number; outcome: string; usage: LedgerAmounts | null; at: number }>,
  ): Promise<void> {
    if (ended.length === 0) return;
    await this.ds.query(
      `UPDATE resources.leases l SET released_at = v.at, outcome = v.outcome, usage = v.usage
       FROM unnest($1::uuid[], $2::int[], $3::text[], $4::jsonb[], $5::timestamptz[]) AS v(task, attempt, outcome, usage, at)
       WHERE l.task_id = v.task AND l.attempt = v.attempt AND l.released_at IS NULL`,
      [
        ended.map((e) => e.taskId),
        ended.map((e) => e.attempt),
        ended.map((e) => e.outcome),
        ended.map((e) => (e.usage ? JSON.stringify(e.usage) : null)),
        ended.map((e) => new Date(e.at)),
      ],
    );
  }

  /** Renews the expiry of every live lease of the holders that reported (heartbeat). */
  async renewLeases(holders: string[], ttlMs: number): Promise<void> {
    if (holders.length === 0) return;
    await this.ds.query(
      `UPDATE resources.leases SET expires_at = now() + make_interval(secs => $2::float8 / 1000)
       WHERE holder = ANY($1::text[]) AND released_at IS NULL`,
      [holders, ttlMs],
    );
  }

  /** Leases of a holder that vanished (or of a previous allocator run whose holders never came back) expire. */
  async expireLeases(): Promise<number> {
    const r: unknown = await this.ds.query(
      `UPDATE resources.leases SET released_at = now(), outcome = 'expired' WHERE released_at IS NULL AND expires_at < now()`,
    );
    return Array.isArray(r) && typeof r[1] === 'number' ? r[1] : 0;
  }

  async liveLeases(): Promise<Lease[]> {
    const rows: Array<Record<string, unknown>> = await this.ds.query(`SELECT * FROM resources.leases WHERE released_at IS NULL`);
    return rows.map((r) => ({
      taskId: r.task_id as string,
      attempt: Number(r.attempt),
      poolId: r.pool_id as string,
      tenantId: r.tenant_id as string,
      workflowId: (r.workflow_id as string | null) ?? null,
      capability: r.capability as string,
      priority: ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'].indexOf(r.priority as string),
      holder: r.holder as string,
      grantId: (r.grant_id as string | null) ?? '',
      est: r.estimate as Lease['est'],
      admittedAt: ms(r.admitted_at),
    }));
  }

  async pruneHistory(olderThanMs: number): Promise<void> {
    await this.ds.query(`DELETE FROM resources.allocations WHERE window_end < $1`, [new Date(olderThanMs)]);
    await this.ds.query(`DELETE FROM resources.leases WHERE released_at < $1`, [new Date(olderThanMs)]);
  }
}

function amounts(e: LedgerAmounts): LedgerAmounts {
  return { requests: e.requests, tokensIn: e.tokensIn, tokensOut: e.tokensOut, costUsd: e.costUsd };
}
