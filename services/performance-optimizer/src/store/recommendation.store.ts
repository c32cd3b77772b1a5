import type { RecommendationDto, RecommendationKind, RecommendationPageDto, RecommendationStatus } from '@swarm-mesh/contracts';
import type { DataSource, EntityManager } from 'typeorm';
import { decodeCursor, encodeCursor } from './cursor';

export interface RecommendationRow {
  id: string;
  tenant_id: string;
  kind: RecommendationKind;
  target: string;
  status: RecommendationStatus;
  capability: string;
  pool: string | null;
  agent_id: string | null;
  summary: string;
  evidence: Record<string, unknown>;
  expected_effect: Record<string, unknown>;
  proposal: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
  last_seen_at: Date;
  applied_at: Date | null;
  applied_by: string | null;
  applied_auto: boolean | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  reverted_at: Date | null;
  reverted_by: string | null;
  restored: Record<string, unknown> | null;
}

/** A recommendation to record. */
export interface NewRecommendation {
  id: string;
  tenantId: string;
  kind: RecommendationKind;
  /** One open recommendation per target: `timeout:<cap>`, `routing:<cap>`, `scale:<cap>`, `agent:<id>`. */
  target: string;
  capability: string;
  pool?: string | null;
  agentId?: string | null;
  summary: string;
  evidence: Record<string, unknown>;
  expectedEffect: Record<string, unknown>;
  proposal: Record<string, unknown>;
}

type Queryable = Pick<DataSource | EntityManager, 'query'>;

export function recommendationDto(r: RecommendationRow): RecommendationDto {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    kind: r.kind,
    status: r.status,
    capability: r.capability,
    provider: r.pool,
    agentId: r.agent_id,
    summary: r.summary,
    evidence: r.evidence,
    expectedEffect: r.expected_effect,
    proposal: r.proposal,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    applied:
      r.applied_at !== null
        ? {
            at: r.applied_at.toISOString(),
            by: r.applied_by ?? 'unknown',
            auto: r.applied_auto === true,
            before: r.before,
            after: r.after ?? {},
          }
        : null,
    reverted: r.reverted_at !== null ? { at: r.reverted_at.toISOString(), by: r.reverted_by ?? 'unknown', restored: r.restored } : null,
  };
}

/** `performance.recommendations`: every recommendation and every applied change (before/after, revert). */
export class RecommendationStore {
  constructor(private readonly ds: DataSource) {}

  async get(tenantId: string, id: string, q: Queryable = this.ds, forUpdate = false): Promise<RecommendationRow | null> {
    const rows = await q.query<RecommendationRow[]>(
      `SELECT * FROM performance.recommendations WHERE tenant_id = $1 AND id = $2${forUpdate ? ' FOR UPDATE' : ''}`,
      [tenantId, id],
    );
    return rows[0] ?? null;
  }

  async openFor(tenantId: string, target: string, q: Queryable = this.ds): Promise<RecommendationRow | null> {
    const rows = await q.query<RecommendationRow[]>(
      `SELECT * FROM performance.recommendations WHERE tenant_id = $1 AND target = $2 AND status = 'open'`,
      [tenantId, target],
    );
    return rows[0] ?? null;
  }

  /** When the target's latest change was reverted, if it was. */
  async lastRevertedAt(tenantId: string, target: string): Promise<Date | null> {
    const rows = await this.ds.query<Array<{ at: Date | null }>>(
      `SELECT max(reverted_at) AS at FROM performance.recommendations WHERE tenant_id = $1 AND target = $2 AND reverted_at IS NOT NULL`,
      [tenantId, target],
    );
    return rows[0]?.at ?? null;
  }

  async insert(q: Queryable, r: NewRecommendation, status: RecommendationStatus = 'open'): Promise<void> {
    await q.query(
      `INSERT INTO performance.recommendations
         (id, tenant_id, kind, target, status, capability, pool, agent_id, summary, evidence, expected_effect, proposal, created_at, updated_at, last_seen_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, now(), now(), now())`,
      [
        r.id,
        r.tenantId,
        r.kind,
        r.target,
        status,
        r.capability,
        r.pool ?? null,
        r.agentId ?? null,
        r.summary,
        JSON.stringify(r.evidence),
        JSON.stringify(r.expectedEffect),
        JSON.stringify(r.proposal),
      ],
    );
  }

  /** The condition still holds: fresh evidence, same proposal. */
  async refresh(id: string, r: Pick<NewRecommendation, 'summary' | 'evidence' | 'expectedEffect'>): Promise<void> {
    await this.ds.query(
      `UPDATE performance.recommendations SET summary = $2, evidence = $3, expected_effect = $4, last_seen_at = now() WHERE id = $1 AND status = 'open'`,
      [id, r.summary, JSON.stringify(r.evidence), JSON.stringify(r.expectedEffect)],
    );
  }

  async setStatus(q: Queryable, id: string, from: RecommendationStatus, to: RecommendationStatus): Promise<void> {
    await q.query(`UPDATE performance.recommendations SET status = $3, updated_at = now() WHERE id = $1 AND status = $2`, [id, from, to]);
  }

  /** Applied changes of the target other than `exceptId` become superseded (a newer one is in force). */
  async supersedeApplied(q: Queryable, tenantId: string, target: string, exceptId: string): Promise<void> {
    await q.query(
      `UPDATE performance.recommendations SET status = 'superseded', updated_at = now()
        WHERE tenant_id = $1 AND target = $2 AND status = 'applied' AND id <> $3`,
      [tenantId, target, exceptId],
    );
  }

  async markApplied(
    q: Queryable,
    id: string,
    by: string,
    auto: boolean,
    before: Record<string, unknown> | null,
    after: Record<string, unknown>,
  ): Promise<void> {
    await q.query(
      `UPDATE performance.recommendations
          SET status = 'applied', applied_at = now(), applied_by = $2, applied_auto = $3, before = $4, after = $5, updated_at = now()
        WHERE id = $1`,
      [id, by, auto, before === null ? null : JSON.stringify(before), JSON.stringify(after)],
    );
  }

  async markReverted(q: Queryable, id: string, by: string, restored: Record<string, unknown> | null): Promise<void> {
    await q.query(
      `UPDATE performance.recommendations
          SET status = 'reverted', reverted_at = now(), reverted_by = $2, restored = $3, updated_at = now()
        WHERE id = $1`,
      [id, by, restored === null ? null : JSON.stringify(restored)],
    );
  }

  /** Open recommendations not seen since `before` expire; returns how many. */
  async expire(tenantId: string, before: Date): Promise<number> {
    const res = await this.ds.query<[unknown[], number]>(
      `UPDATE performance.recommendations SET status = 'expired', updated_at = now()
        WHERE tenant_id = $1 AND status = 'open' AND last_seen_at < $2`,
      [tenantId, before.toISOString()],
    );
    return res[1] ?? 0;
  }

  async countOpen(tenantId: string): Promise<number> {
    const rows = await this.ds.query<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM performance.recommendations WHERE tenant_id = $1 AND status = 'open'`,
      [tenantId],
    );
    return rows[0]?.n ?? 0;
  }

  async list(
    tenantId: string,
    f: { status?: RecommendationStatus; kind?: RecommendationKind; capability?: string; limit?: number; cursor?: string },
  ): Promise<RecommendationPageDto> {
    const limit = f.limit ?? 50;
    const where = ['tenant_id = $1'];
    const params: unknown[] = [tenantId];
    for (const [col, v] of [
      ['status', f.status],
      ['kind', f.kind],
      ['capability', f.capability],
    ] as const) {
      if (v === undefined) continue;
      params.push(v);
      where.push(`${col} = $${params.length}`);
    }
    if (f.cursor) {
      const c = decodeCursor(f.cursor);
      params.push(c.at, c.id);
      where.push(`(created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(limit + 1);
    const rows = await this.ds.query<RecommendationRow[]>(
      `SELECT * FROM performance.recommendations WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page.map(recommendationDto), nextCursor: rows.length > limit && last ? encodeCursor(last.created_at, last.id) : null };
  }
}
