import { Inject, Injectable } from '@nestjs/common';
import {
  type ApiKeyDto,
  type ApiKeyPageDto,
  type ApiKeySecretDto,
  ApiKeyEvents,
  type CreateApiKeyDto,
  ForbiddenError,
  InvalidStateTransitionError,
  NotFoundError,
} from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import { DATA_SOURCE, LOGGER, MESH_BUS } from '@swarm-mesh/service-kit';
import type { Logger } from '@swarm-mesh/telemetry';
import { randomUUID } from 'node:crypto';
import type { DataSource, QueryRunner } from 'typeorm';
import type { AuditStart } from '../audit/audit.service';
import { AuditService } from '../audit/audit.service';
import { generateApiKey } from '../auth/api-key';
import { ApiKeyService } from '../auth/api-key.service';
import { actorOf, type Principal } from '../auth/principal';
import { decodeCursor, encodeCursor, iso } from '../http/cursor';
import type { ListApiKeysQuery } from './api-keys.dto';

interface KeyRow {
  id: string;
  tenant_id: string;
  name: string;
  role: ApiKeyDto['role'];
  prefix: string;
  rate_limit: number | null;
  created_by: string | null;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
  rotated_from: string | null;
}

const COLUMNS = 'id, tenant_id, name, role, prefix, rate_limit, created_by, created_at, last_used_at, revoked_at, rotated_from';

function toDto(r: KeyRow): ApiKeyDto {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    name: r.name,
    role: r.role,
    prefix: r.prefix,
    rateLimit: r.rate_limit,
    createdBy: r.created_by,
    createdAt: r.created_at.toISOString(),
    lastUsedAt: iso(r.last_used_at),
    revokedAt: iso(r.revoked_at),
    rotatedFrom: r.rotated_from,
  };
}

/**
 * Key management: 256-bit random keys (`sm_<prefix>_<secret>`), shown once, stored as a hash
 * with the prefix in clear for lookup. Every change commits together with its audit entry.
 * A revocation or rotation is applied at once on this replica and, through a core NATS
 * message, on every other gateway replica (their caches are dropped).
 */
@Injectable()
export class ApiKeysService {
  constructor(
    @Inject(DATA_SOURCE) private readonly db: DataSource,
    @Inject(MESH_BUS) private readonly bus: MeshBus,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly keys: ApiKeyService,
    private readonly audit: AuditService,
  ) {}

  /**
   * Tenant a caller acts on: its own, or any for the bootstrap key. `null` (which an optional
   * field's validation lets through) means "not given", like undefined.
   */
  private tenantFor(p: Principal, requested: string | null | undefined): string {
    if (requested === undefined || requested === null || requested === p.tenantId) return p.tenantId;
    if (!this.keys.isBootstrap(p)) throw new ForbiddenError('only the bootstrap admin key may manage keys of another tenant');
    return requested;
  }

  private async insert(
    q: QueryRunner,
    p: Principal,
    spec: { tenantId: string; name: string; role: ApiKeyDto['role']; rateLimit: number | null; rotatedFrom: string | null },
  ): Promise<ApiKeySecretDto> {
    const { key, prefix, hash } = generateApiKey();
    const rows = (await q.query(
      `INSERT INTO gateway.api_keys (id, tenant_id, name, role, prefix, key_hash, created_by, rate_limit, rotated_from)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${COLUMNS}`,
      [randomUUID(), spec.tenantId, spec.name, spec.role, prefix, hash, actorOf(p), spec.rateLimit, spec.rotatedFrom],
    )) as KeyRow[];
    return { key, apiKey: toDto(rows[0]!) };
  }

  async create(p: Principal, body: CreateApiKeyDto, start: AuditStart): Promise<ApiKeySecretDto> {
    let tenantId: string;
    try {
      tenantId = this.tenantFor(p, body.tenantId);
    } catch (err) {
      this.audit.record(start, 'denied', 403, { code: 'FORBIDDEN', tenantId: body.tenantId ?? null });
      throw err;
    }
    start.tenantId = tenantId; // the entry belongs to the tenant whose key it is
    return this.audit.inTransaction(
      start,
      async (q) => {
        const created = await this.insert(q, p, {
          tenantId,
          name: body.name,
          role: body.role,
          rateLimit: body.rateLimit ?? null,
          rotatedFrom: null,
        });
        return {
          result: created,
          targetId: created.apiKey.id,
          details: { name: body.name, role: body.role, prefix: created.apiKey.prefix },
        };
      },
      201,
    );
  }

  async list(p: Principal, q: ListApiKeysQuery): Promise<ApiKeyPageDto> {
    const params: unknown[] = [];
    const where: string[] = [];
    const bootstrap = this.keys.isBootstrap(p);
    const tenant = bootstrap ? q.tenantId : p.tenantId;
    if (!bootstrap && q.tenantId !== undefined && q.tenantId !== p.tenantId) {
      throw new ForbiddenError('only the bootstrap admin key may list keys of another tenant');
    }
    if (tenant !== undefined) {
      params.push(tenant);
      where.push(`tenant_id = $${params.length}`);
    }
    if (!q.includeRevoked) where.push('revoked_at IS NULL');
    const cursor = decodeCursor(q.cursor);
    if (cursor) {
      params.push(cursor.at, cursor.id);
      where.push(`(date_trunc('milliseconds', created_at), id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    const limit = q.limit ?? 50;
    params.push(limit + 1);
    const rows = await this.db.query<KeyRow[]>(
      `SELECT ${COLUMNS} FROM gateway.api_keys ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY date_trunc('milliseconds', created_at) DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page.map(toDto), nextCursor: rows.length > limit && last ? encodeCursor(last.created_at, last.id) : null };
  }

  private async own(q: QueryRunner | DataSource, p: Principal, id: string, lock = false): Promise<KeyRow> {
    const rows = (await q.query(`SELECT ${COLUMNS} FROM gateway.api_keys WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id])) as KeyRow[];
    const row = rows[0];
    if (!row || (!this.keys.isBootstrap(p) && row.tenant_id !== p.tenantId)) throw new NotFoundError('api-key', id);
    return row;
  }

  async get(p: Principal, id: string): Promise<ApiKeyDto> {
    return toDto(await this.own(this.db, p, id));
  }

  /** Idempotent: revoking a revoked key answers it unchanged (its first revokedAt), like a repeated DELETE. */
  async revoke(p: Principal, id: string, start: AuditStart): Promise<ApiKeyDto> {
    const out = await this.audit.inTransaction(start, async (q) => {
      const row = await this.own(q, p, id, true);
      const rows = (await q.query(
        `UPDATE gateway.api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 RETURNING ${COLUMNS}`,
        [id],
      )) as [KeyRow[], number] | KeyRow[];
      const updated = (Array.isArray(rows[0]) ? rows[0] : rows) as KeyRow[];
      return { result: toDto(updated[0] ?? row), targetId: id, details: { prefix: row.prefix } };
    });
    this.keysChanged(out.tenantId, id);
    return out;
  }

  async rotate(p: Principal, id: string, start: AuditStart): Promise<ApiKeySecretDto> {
    const out = await this.audit.inTransaction(start, async (q) => {
      const row = await this.own(q, p, id, true);
      if (row.revoked_at) {
        throw new InvalidStateTransitionError(`api key ${id} is revoked; revoked keys cannot be rotated`, {
          keyId: id,
          revokedAt: row.revoked_at.toISOString(),
        });
      }
      await q.query('UPDATE gateway.api_keys SET revoked_at = now() WHERE id = $1', [id]);
      const created = await this.insert(q, p, {
        tenantId: row.tenant_id,
        name: row.name,
        role: row.role,
        rateLimit: row.rate_limit,
        rotatedFrom: row.id,
      });
      return { result: created, targetId: id, details: { newKeyId: created.apiKey.id, prefix: created.apiKey.prefix } };
    });
    this.keysChanged(out.apiKey.tenantId, id);
    return out;
  }

  /** Drops verified keys from every replica's cache so the change applies at once. */
  private keysChanged(tenantId: string, keyId: string): void {
    this.keys.invalidate();
    try {
      this.bus.publish(ApiKeyEvents.changed, {
        source: 'gateway',
        events: [{ type: 'apikey.revoked', ts: new Date().toISOString(), tenantId, data: { keyId } }],
      });
    } catch (err) {
      this.logger.warn('could not announce the key change to other replicas', { err });
    }
  }
}
