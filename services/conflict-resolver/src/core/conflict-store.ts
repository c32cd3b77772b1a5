import { randomUUID } from 'node:crypto';
import {
  type ConflictActionDto,
  type ConflictDto,
  type ConflictKind,
  type ConflictPageDto,
  type ConflictStatus,
  InvalidCursorError,
  type ListConflictsRequest,
  NotFoundError,
  type PolicyDto,
  type PolicySpecDto,
} from '@swarm-mesh/contracts';
import type { DataSource, EntityManager } from 'typeorm';

const iso = (v: unknown): string => (v instanceof Date ? v : new Date(String(v))).toISOString();

export const POLICY_DEFAULTS = { agingStepMs: 10_000, starvationMs: 60_000, preemption: true } as const;

export interface NewConflict {
  tenantId: string;
  kind: ConflictKind;
  poolId: string | null;
  subject: Record<string, unknown>;
  evidence: Record<string, unknown>;
  /** Resolved automatically (with this resolution) or left open for a human. */
  resolution?: { policy: string; actions: ConflictActionDto[]; resolvedBy: string; status: Exclude<ConflictStatus, 'open'> };
}

/** What the store tells its observer after a commit. */
export interface ConflictFact {
  conflictId: string;
  tenantId: string;
  kind: string;
  poolId: string | null;
  status: ConflictStatus;
  /** The resolution's policy and author, when it is settled. */
  policy?: string;
  resolvedBy?: string;
}

/** Told about every conflict recorded and resolved, after the commit (metrics, events). */
export interface ConflictObserver {
  recorded(fact: ConflictFact): void;
  resolved(fact: ConflictFact): void;
}

/** SQL of the `conflicts` schema. */
export class ConflictStore {
  observer: ConflictObserver | undefined;

  constructor(private readonly ds: DataSource) {}

  /** Open conflicts by kind (metrics). */
  async openByKind(): Promise<Array<{ kind: string; n: number }>> {
    return this.ds.query(`SELECT kind, count(*)::int AS n FROM conflicts.conflicts WHERE status = 'open' GROUP BY kind`);
  }

  async record(c: NewConflict): Promise<string> {
    const id = randomUUID();
    await this.ds.transaction(async (m) => {
      await m.query(
        `INSERT INTO conflicts.conflicts (id, tenant_id, kind, status, pool_id, subject, evidence, resolved_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          id,
          c.tenantId,
          c.kind,
          c.resolution ? c.resolution.status : 'open',
          c.poolId,
          JSON.stringify(c.subject),
          JSON.stringify(c.evidence),
          c.resolution ? new Date() : null,
        ],
      );
      if (c.resolution) await this.addResolution(m, id, c.resolution.policy, c.resolution.actions, c.resolution.resolvedBy);
    });
    this.observer?.recorded({
      conflictId: id,
      tenantId: c.tenantId,
      kind: c.kind,
      poolId: c.poolId,
      status: c.resolution ? c.resolution.status : 'open',
      ...(c.resolution ? { policy: c.resolution.policy, resolvedBy: c.resolution.resolvedBy } : {}),
    });
    return id;
  }

  private async addResolution(
    m: EntityManager,
    conflictId: string,
    policy: string,
    actions: ConflictActionDto[],
    by: string,
  ): Promise<void> {
    await m.query(`INSERT INTO conflicts.resolutions (id, conflict_id, policy, actions, resolved_by) VALUES ($1, $2, $3, $4, $5)`, [
      randomUUID(),
      conflictId,
      policy,
      JSON.stringify(actions),
      by,
    ]);
  }

  /** Records a resolution and closes the conflict. */
  async resolve(
    conflictId: string,
    status: Exclude<ConflictStatus, 'open'>,
    policy: string,
    actions: ConflictActionDto[],
    by: string,
  ): Promise<void> {
    const rows = await this.ds.transaction(async (m) => {
      await this.addResolution(m, conflictId, policy, actions, by);
      // TypeORM answers an UPDATE with [rows, count]
      return m.query<[Array<{ tenant_id: string; kind: string; pool_id: string | null }>, number]>(
        `UPDATE conflicts.conflicts SET status = $2, resolved_at = now() WHERE id = $1 RETURNING tenant_id, kind, pool_id`,
        [conflictId, status],
      );
    });
    const row = rows[0][0];
    if (row)
      this.observer?.resolved({ conflictId, tenantId: row.tenant_id, kind: row.kind, poolId: row.pool_id, status, policy, resolvedBy: by });
  }

  async openKeys(): Promise<Array<{ id: string; kind: string; poolId: string | null; subject: Record<string, unknown> }>> {
    const rows: Array<Record<string, unknown>> = await this.ds.query(
      `SELECT id, kind, pool_id, subject FROM conflicts.conflicts WHERE status = 'open'`,
    );
    return rows.map((r) => ({
      id: r.id as string,
      kind: r.kind as string,
      poolId: (r.pool_id as string | null) ?? null,
      subject: r.subject as Record<string, unknown>,
    }));
  }

  async get(tenantId: string, id: string): Promise<ConflictDto> {
    const rows: Array<Record<string, unknown>> = await this.ds.query(`SELECT * FROM conflicts.conflicts WHERE id = $1 AND tenant_id = $2`, [
      id,
      tenantId,
    ]);
    const row = rows[0];
    if (!row) throw new NotFoundError('conflict', id, 'CONFLICT_NOT_FOUND');
    const [dto] = await this.withResolutions([row]);
    return dto!;
  }

  async list(req: ListConflictsRequest): Promise<ConflictPageDto> {
    const limit = req.limit ?? 50;
    const params: unknown[] = [req.tenantId];
    const where = ['tenant_id = $1'];
    if (req.status) where.push(`status = $${params.push(req.status)}`);
    if (req.kind) where.push(`kind = $${params.push(req.kind)}`);
    if (req.poolId) where.push(`pool_id = $${params.push(req.poolId)}`);
    if (req.cursor) {
      let key: { t: string; id: string };
      try {
        key = JSON.parse(Buffer.from(req.cursor, 'base64url').toString()) as { t: string; id: string };
        if (typeof key.t !== 'string' || typeof key.id !== 'string' || Number.isNaN(Date.parse(key.t))) throw new Error('shape');
      } catch {
        throw new InvalidCursorError(req.cursor);
      }
      where.push(`(detected_at, id) < ($${params.push(key.t)}::timestamptz, $${params.push(key.id)}::uuid)`);
    }
    const rows: Array<Record<string, unknown>> = await this.ds.query(
      `SELECT * FROM conflicts.conflicts WHERE ${where.join(' AND ')} ORDER BY detected_at DESC, id DESC LIMIT ${limit + 1}`,
      params,
    );
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    const items = await this.withResolutions(page);
    const last = page[page.length - 1];
    return {
      items,
      nextCursor: more && last ? Buffer.from(JSON.stringify({ t: iso(last.detected_at), id: last.id })).toString('base64url') : null,
    };
  }

  private async withResolutions(rows: Array<Record<string, unknown>>): Promise<ConflictDto[]> {
    if (rows.length === 0) return [];
    const res: Array<Record<string, unknown>> = await this.ds.query(
      `SELECT * FROM conflicts.resolutions WHERE conflict_id = ANY($1::uuid[]) ORDER BY created_at, id`,
      [rows.map((r) => r.id)],
    );
    return rows.map((r) => ({
      id: r.id as string,
      tenantId: r.tenant_id as string,
      kind: r.kind as ConflictKind,
      status: r.status as ConflictStatus,
      poolId: (r.pool_id as string | null) ?? null,
      subject: r.subject as Record<string, unknown>,
      evidence: r.evidence as Record<string, unknown>,
      detectedAt: iso(r.detected_at),
      resolvedAt: r.resolved_at ? iso(r.resolved_at) : null,
      resolutions: res
        .filter((x) => x.conflict_id === r.id)
        .map((x) => ({
          id: x.id as string,
          policy: x.policy as string,
          actions: x.actions as ConflictActionDto[],
          resolvedBy: x.resolved_by as string,
          createdAt: iso(x.created_at),
        })),
    }));
  }

  async policies(tenantId?: string): Promise<PolicyDto[]> {
    const rows: Array<Record<string, unknown>> = await this.ds.query(
      `SELECT * FROM conflicts.policies ${tenantId ? 'WHERE tenant_id = $1' : ''} ORDER BY tenant_id, pool_id NULLS FIRST`,
      tenantId ? [tenantId] : [],
    );
    return rows.map(toPolicyDto);
  }

  async setPolicy(tenantId: string, poolId: string | null, spec: PolicySpecDto): Promise<PolicyDto> {
    const rows: Array<Record<string, unknown>> = await this.ds.query(
      `INSERT INTO conflicts.policies (tenant_id, pool_id, kind, weights, aging_step_ms, starvation_ms, preemption, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, now())
       ON CONFLICT (tenant_id, coalesce(pool_id, '00000000-0000-0000-0000-000000000000'::uuid))
       DO UPDATE SET kind = EXCLUDED.kind, weights = EXCLUDED.weights, aging_step_ms = EXCLUDED.aging_step_ms,
         starvation_ms = EXCLUDED.starvation_ms, preemption = EXCLUDED.preemption, updated_at = now()
       RETURNING *`,
      [
        tenantId,
        poolId,
        spec.kind,
        JSON.stringify(spec.weights ?? {}),
        spec.agingStepMs ?? POLICY_DEFAULTS.agingStepMs,
        spec.starvationMs ?? POLICY_DEFAULTS.starvationMs,
        spec.preemption ?? POLICY_DEFAULTS.preemption,
      ],
    );
    return toPolicyDto(rows[0]!);
  }
}

function toPolicyDto(r: Record<string, unknown>): PolicyDto {
  return {
    tenantId: r.tenant_id as string,
    poolId: (r.pool_id as string | null) ?? null,
    kind: r.kind as PolicyDto['kind'],
    weights: (r.weights as Record<string, number>) ?? {},
    agingStepMs: Number(r.aging_step_ms),
    starvationMs: Number(r.starvation_ms),
    preemption: r.preemption as boolean,
    updatedAt: iso(r.updated_at),
  };
}
