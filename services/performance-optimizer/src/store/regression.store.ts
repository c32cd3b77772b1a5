import { randomUUID } from 'node:crypto';
import type {
  RegressionDto,
  RegressionEvidenceDto,
  RegressionMetric,
  RegressionPageDto,
  RegressionStatus,
  Severity,
} from '@swarm-mesh/contracts';
import type { DataSource } from 'typeorm';
import { decodeCursor, encodeCursor } from './cursor';

interface Row {
  id: string;
  tenant_id: string;
  capability: string;
  pool: string | null;
  agent_id: string | null;
  metric: RegressionMetric;
  status: RegressionStatus;
  severity: Severity;
  summary: string;
  evidence: RegressionEvidenceDto;
  latest: RegressionEvidenceDto | null;
  detected_at: Date;
  last_seen_at: Date;
  resolved_at: Date | null;
}

export interface NewRegression {
  tenantId: string;
  capability: string;
  pool: string | null;
  agentId: string | null;
  metric: RegressionMetric;
  severity: Severity;
  summary: string;
  evidence: RegressionEvidenceDto;
}

function toDto(r: Row): RegressionDto {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    capability: r.capability,
    provider: r.pool,
    agentId: r.agent_id,
    metric: r.metric,
    status: r.status,
    severity: r.severity,
    summary: r.summary,
    detectedAt: r.detected_at.toISOString(),
    lastSeenAt: r.last_seen_at.toISOString(),
    resolvedAt: r.resolved_at ? r.resolved_at.toISOString() : null,
    evidence: r.evidence,
    latest: r.latest,
  };
}

/** `performance.regressions`: at most one active regression per capability × pool × agent × metric. */
export class RegressionStore {
  constructor(private readonly ds: DataSource) {}

  async active(tenantId: string): Promise<RegressionDto[]> {
    const rows = await this.ds.query<Row[]>(`SELECT * FROM performance.regressions WHERE tenant_id = $1 AND status = 'active'`, [tenantId]);
    return rows.map(toDto);
  }

  /** Opens a regression; null when another writer opened the same one first. */
  async open(r: NewRegression): Promise<RegressionDto | null> {
    const rows = await this.ds.query<Row[]>(
      `INSERT INTO performance.regressions (id, tenant_id, capability, pool, agent_id, metric, status, severity, summary, evidence, latest, detected_at, last_seen_at)
       VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8, $9, $9, now(), now())
       ON CONFLICT DO NOTHING RETURNING *`,
      [randomUUID(), r.tenantId, r.capability, r.pool, r.agentId, r.metric, r.severity, r.summary, JSON.stringify(r.evidence)],
    );
    return rows[0] ? toDto(rows[0]) : null;
  }

  async stillSeen(id: string, latest: RegressionEvidenceDto, severity: Severity): Promise<void> {
    await this.ds.query(`UPDATE performance.regressions SET latest = $2, severity = $3, last_seen_at = now() WHERE id = $1`, [
      id,
      JSON.stringify(latest),
      severity,
    ]);
  }

  async resolve(id: string, latest: RegressionEvidenceDto | null): Promise<RegressionDto | null> {
    const rows = await this.ds.query<[Row[], number]>(
      `UPDATE performance.regressions SET status = 'resolved', resolved_at = now(), latest = coalesce($2, latest)
        WHERE id = $1 AND status = 'active' RETURNING *`,
      [id, latest ? JSON.stringify(latest) : null],
    );
    const r = rows[0]?.[0];
    return r ? toDto(r) : null;
  }

  async list(
    tenantId: string,
    f: { status?: RegressionStatus; capability?: string; limit?: number; cursor?: string },
  ): Promise<RegressionPageDto> {
    const limit = f.limit ?? 50;
    const where = ['tenant_id = $1'];
    const params: unknown[] = [tenantId];
    if (f.status) {
      params.push(f.status);
      where.push(`status = $${params.length}`);
    }
    if (f.capability) {
      params.push(f.capability);
      where.push(`capability = $${params.length}`);
    }
    if (f.cursor) {
      const c = decodeCursor(f.cursor);
      params.push(c.at, c.id);
      where.push(`(detected_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(limit + 1);
    const rows = await this.ds.query<Row[]>(
      `SELECT * FROM performance.regressions WHERE ${where.join(' AND ')} ORDER BY detected_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page.map(toDto), nextCursor: rows.length > limit && last ? encodeCursor(last.detected_at, last.id) : null };
  }
}
