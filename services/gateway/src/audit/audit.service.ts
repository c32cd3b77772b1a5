import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { type AuditEntryDto, type AuditOutcome, DatabaseUnavailableError, type AuditPageDto } from '@swarm-mesh/contracts';
import { Batcher, preparedQuery } from '@swarm-mesh/persistence';
import { DATA_SOURCE, LOGGER, SERVICE_CONFIG, type ServiceConfig, toErrorResponse } from '@swarm-mesh/service-kit';
import type { Logger } from '@swarm-mesh/telemetry';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { DataSource, QueryRunner } from 'typeorm';
import type { GatewayEnv } from '../gateway.env';
import { API_PREFIX } from '../http/api-prefix';
import { decodeCursor, encodeCursor, iso } from '../http/cursor';
import type { Principal } from '../auth/principal';

/** What is known of a mutating call before its effect. */
export interface AuditStart {
  id: string;
  tenantId: string;
  actor: string;
  keyId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  traceId: string | null;
  /** Set once the entry is written complete (so the interceptor does not write a second one). */
  recorded?: boolean;
}

interface AuditRow extends Omit<AuditStart, 'recorded'> {
  outcome: AuditOutcome;
  httpStatus: number | null;
  details: Record<string, unknown> | null;
  completed: boolean;
}

interface AuditCompletion {
  id: string;
  /** Statements it was part of that failed. */
  tries: number;
  outcome: AuditOutcome;
  httpStatus: number;
  targetId: string | null;
  details: Record<string, unknown> | null;
}

/** Filters of `GET /audit`. */
export interface AuditFilters {
  action?: string;
  outcome?: AuditOutcome;
  targetType?: string;
  targetId?: string;
  actor?: string;
  since?: string;
  until?: string;
  limit?: number;
  cursor?: string;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const API_ROUTE_PREFIX = `/${API_PREFIX}/`;

const INSERT_SQL = `
  INSERT INTO gateway.audit_log (id, at, tenant_id, actor, key_id, action, target_type, target_id, outcome, http_status, trace_id, details, completed_at)
  SELECT u.id, date_trunc('milliseconds', clock_timestamp()), u.tenant_id, u.actor, u.key_id, u.action, u.target_type, u.target_id, u.outcome, u.http_status, u.trace_id, u.details,
         CASE WHEN u.completed THEN now() END
  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int[], $10::text[],
              $11::jsonb[], $12::boolean[])
    AS u(id, tenant_id, actor, key_id, action, target_type, target_id, outcome, http_status, trace_id, details, completed)`;

/** Completions as a data-modifying CTE; parameters from `$first` on. */
const completeCte = (first: number): string => `
  UPDATE gateway.audit_log a
     SET outcome = u.outcome, http_status = u.http_status, target_id = COALESCE(a.target_id, u.target_id),
         details = COALESCE(u.details, a.details), completed_at = now()
    FROM unnest($${first}::uuid[], $${first + 1}::text[], $${first + 2}::int[], $${first + 3}::text[], $${first + 4}::jsonb[])
      AS u(id, outcome, http_status, target_id, details)
   WHERE a.id = u.id`;

const COMPLETE_SQL = completeCte(1);
/** New entries and completions of earlier ones in one statement (one round trip). */
const INSERT_AND_COMPLETE_SQL = `WITH ins AS (${INSERT_SQL}), done AS (${completeCte(13)}) SELECT 1`;

/** How long a completion may wait to ride along with the next batch of new entries before it is written alone. */
const COMPLETION_LINGER_MS = 50;
/** Most completions one statement carries. */
const MAX_COMPLETIONS = 2_000;
/** Statements a completion may fail in (Postgres unavailable) before it is given up (the entry stays pending). */
const COMPLETION_TRIES = 3;

function completeParams(rows: AuditCompletion[]): unknown[] {
  return [
    rows.map((r) => r.id),
    rows.map((r) => r.outcome),
    rows.map((r) => r.httpStatus),
    rows.map((r) => r.targetId),
    rows.map((r) => (r.details ? JSON.stringify(r.details) : null)),
  ];
}

function insertParams(rows: AuditRow[]): unknown[] {
  return [
    rows.map((r) => r.id),
    rows.map((r) => r.tenantId),
    rows.map((r) => r.actor),
    rows.map((r) => (r.keyId && UUID_RE.test(r.keyId) ? r.keyId : null)),
    rows.map((r) => r.action),
    rows.map((r) => r.targetType),
    rows.map((r) => r.targetId),
    rows.map((r) => r.outcome),
    rows.map((r) => r.httpStatus),
    rows.map((r) => r.traceId),
    rows.map((r) => (r.details ? JSON.stringify(r.details) : null)),
    rows.map((r) => r.completed),
  ];
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The audit entry of a mutating call, made by the audit interceptor. */
    auditStart?: AuditStart;
  }
}

/** The audit entry of an authenticated request (the interceptor's, when it made one). */
export function auditStartOf(req: FastifyRequest, reply: FastifyReply, principal: Principal): AuditStart {
  if (req.auditStart) return req.auditStart;
  const route = req.routeOptions.url ?? req.url.split('?')[0] ?? req.url;
  const rest = route.startsWith(API_ROUTE_PREFIX) ? route.slice(API_ROUTE_PREFIX.length) : route.replace(/^\//, '');
  const targetType = rest.split('/')[0] || null;
  const params = (req.params ?? {}) as Record<string, unknown>;
  const rawId = params.id ?? params.name;
  const traceHeader = reply.getHeader('x-trace-id');
  return {
    id: randomUUID(),
    tenantId: principal.tenantId,
    actor: principal.name ? `api-key:${principal.keyId} (${principal.name})`.slice(0, 300) : `api-key:${principal.keyId}`,
    keyId: principal.keyId,
    action: `${req.method} ${route}`.slice(0, 300),
    targetType: targetType ? targetType.slice(0, 100) : null,
    targetId: typeof rawId === 'string' && rawId.length > 0 ? rawId.slice(0, 300) : null,
    traceId: typeof traceHeader === 'string' ? traceHeader.slice(0, 64) : null,
  };
}

/**
 * The audit log (gateway.audit_log). A mutating call forwarded to another service is written
 * `pending` (committed) before the command leaves, then completed with the outcome of the
 * reply (ARCHITECTURE.md). Both writes go through group commit (one multi-row statement per
 * batch), so the REST hot path pays one shared round trip, not one per request. Changes the
 * gateway owns itself (API keys, alert rules) write their entry in the same transaction as the
 * change (`inTransaction`).
 */
@Injectable()
export class AuditService implements OnModuleDestroy {
  private readonly inserts: Batcher<AuditRow, void>;
  /** Completions waiting to ride along with the next insert batch (or their own statement after COMPLETION_LINGER_MS). */
  private completions: AuditCompletion[] = [];
  private completionTimer: NodeJS.Timeout | null = null;
  private completionFlush: Promise<void> | null = null;

  constructor(
    @Inject(DATA_SOURCE) private readonly db: DataSource,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SERVICE_CONFIG) config: ServiceConfig<GatewayEnv>,
  ) {
    const maxDelayMs = config.extra.GATEWAY_AUDIT_FLUSH_MS;
    this.inserts = new Batcher<AuditRow, void>({
      maxBatch: 500,
      maxDelayMs,
      // an idle gateway writes at once (no timer on sparse traffic); a busy one shares commits
      busyWindowMs: maxDelayMs * 5,
      concurrency: 2,
      flush: async (rows) => {
        const done = this.takeCompletions();
        try {
          if (done.length === 0) await preparedQuery(this.db, 'gateway_audit_insert', INSERT_SQL, insertParams(rows));
          else
            await preparedQuery(this.db, 'gateway_audit_insert_complete', INSERT_AND_COMPLETE_SQL, [
              ...insertParams(rows),
              ...completeParams(done),
            ]);
        } catch (err) {
          this.retryCompletions(done, err);
          throw err;
        }
        return rows.map(() => undefined);
      },
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.inserts.close();
    await this.flushCompletions();
  }

  private takeCompletions(): AuditCompletion[] {
    const done = this.completions.length <= MAX_COMPLETIONS ? this.completions : this.completions.slice(0, MAX_COMPLETIONS);
    this.completions = this.completions.length <= MAX_COMPLETIONS ? [] : this.completions.slice(MAX_COMPLETIONS);
    if (this.completions.length === 0 && this.completionTimer) {
      clearTimeout(this.completionTimer);
      this.completionTimer = null;
    }
    return done;
  }

  /** Completions whose statement failed go back to the queue, up to COMPLETION_TRIES statements each. */
  private retryCompletions(done: AuditCompletion[], err: unknown): void {
    const again = done.filter((c) => ++c.tries < COMPLETION_TRIES);
    if (again.length < done.length)
      this.logger.error('audit completion failed; the entries stay pending', {
        auditIds: done.filter((c) => c.tries >= COMPLETION_TRIES).map((c) => c.id),
        err,
      });
    if (again.length === 0) return;
    this.completions.unshift(...again);
    this.armCompletionTimer();
  }

  private armCompletionTimer(): void {
    this.completionTimer ??= setTimeout(() => {
      this.completionTimer = null;
      void this.flushCompletions();
    }, COMPLETION_LINGER_MS);
    this.completionTimer.unref();
  }

  /** Writes the waiting completions in statements of their own (nothing else took them in time). */
  private async flushCompletions(): Promise<void> {
    if (this.completionFlush) return this.completionFlush;
    this.completionFlush = (async () => {
      while (this.completions.length > 0) {
        const done = this.takeCompletions();
        try {
          await preparedQuery(this.db, 'gateway_audit_complete', COMPLETE_SQL, completeParams(done));
        } catch (err) {
          this.retryCompletions(done, err);
          return;
        }
      }
    })().finally(() => (this.completionFlush = null));
    return this.completionFlush;
  }

  /** Writes the pending entry; resolves once it is committed (the effect may then start). */
  async begin(start: AuditStart, details: Record<string, unknown> | null = null): Promise<void> {
    try {
      const { recorded: _r, ...row } = start;
      await this.inserts.add({ ...row, outcome: 'pending', httpStatus: null, details, completed: false });
    } catch (err) {
      this.logger.error('audit write failed', { err });
      throw new DatabaseUnavailableError('cannot write the audit log: the gateway database is unavailable');
    }
  }

  /**
   * Completes an entry with the outcome. Not awaited by the request: it rides along with the next
   * batch of new entries, or is written on its own after COMPLETION_LINGER_MS.
   */
  complete(id: string, outcome: AuditOutcome, httpStatus: number, targetId: string | null, details: Record<string, unknown> | null): void {
    this.completions.push({ id, tries: 0, outcome, httpStatus, targetId, details });
    this.armCompletionTimer();
  }

  /** Records a finished call in one write (refusals, failed gateway-owned changes). */
  record(start: AuditStart, outcome: AuditOutcome, httpStatus: number, details: Record<string, unknown> | null): void {
    start.recorded = true;
    const { recorded: _r, ...row } = start;
    this.inserts.add({ ...row, outcome, httpStatus, details, completed: true }).catch((err: unknown) => {
      this.logger.error('audit write failed', { action: start.action, err });
    });
  }

  /** A mutation refused by role (403). */
  recordDenied(req: FastifyRequest, reply: FastifyReply, principal: Principal, needed: string): void {
    this.record(auditStartOf(req, reply, principal), 'denied', 403, { code: 'FORBIDDEN', needed });
  }

  /**
   * Runs a change the gateway owns in one transaction together with its (succeeded) audit
   * entry. A failure rolls both back and records the failed attempt instead.
   */
  async inTransaction<T>(
    start: AuditStart,
    work: (q: QueryRunner) => Promise<{ result: T; targetId?: string | null; details?: Record<string, unknown> | null }>,
    successStatus = 200,
  ): Promise<T> {
    const qr = this.db.createQueryRunner();
    try {
      await qr.connect();
      await qr.startTransaction();
      const out = await work(qr);
      const { recorded: _r, ...base } = start;
      const row: AuditRow = {
        ...base,
        targetId: out.targetId ?? start.targetId,
        outcome: 'succeeded',
        httpStatus: successStatus,
        details: out.details ?? null,
        completed: true,
      };
      await qr.query(INSERT_SQL, insertParams([row]));
      await qr.commitTransaction();
      start.recorded = true;
      return out.result;
    } catch (err) {
      if (qr.isTransactionActive) await qr.rollbackTransaction().catch(() => {});
      const { status, body } = toErrorResponse(err);
      this.record(start, 'failed', status, { code: body.code });
      throw err;
    } finally {
      await qr.release().catch(() => {});
    }
  }

  /** A page of the tenant's entries, newest first (all tenants for `tenantId` undefined). */
  async list(tenantId: string | undefined, f: AuditFilters): Promise<AuditPageDto> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, v: unknown): void => {
      params.push(v);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (tenantId !== undefined) add('tenant_id = ?', tenantId);
    if (f.action !== undefined) add('action = ?', f.action);
    if (f.outcome !== undefined) add('outcome = ?', f.outcome);
    if (f.targetType !== undefined) add('target_type = ?', f.targetType);
    if (f.targetId !== undefined) add('target_id = ?', f.targetId);
    if (f.actor !== undefined) add('actor LIKE ?', `${f.actor.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    if (f.since !== undefined) add('at >= ?', f.since);
    if (f.until !== undefined) add('at < ?', f.until);
    const cursor = decodeCursor(f.cursor);
    if (cursor) {
      params.push(cursor.at, cursor.id);
      where.push(`(at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    const limit = f.limit ?? 50;
    params.push(limit + 1);
    const rows = await this.db.query<
      Array<{
        id: string;
        at: Date;
        tenant_id: string;
        actor: string;
        action: string;
        target_type: string | null;
        target_id: string | null;
        outcome: AuditOutcome;
        http_status: number | null;
        trace_id: string | null;
        details: Record<string, unknown> | null;
        completed_at: Date | null;
      }>
    >(
      `SELECT id, at, tenant_id, actor, action, target_type, target_id, outcome, http_status, trace_id, details, completed_at
         FROM gateway.audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, limit);
    const items: AuditEntryDto[] = page.map((r) => ({
      id: r.id,
      at: r.at.toISOString(),
      tenantId: r.tenant_id,
      actor: r.actor,
      action: r.action,
      targetType: r.target_type,
      targetId: r.target_id,
      outcome: r.outcome,
      httpStatus: r.http_status,
      traceId: r.trace_id,
      details: r.details,
      completedAt: iso(r.completed_at),
    }));
    const last = page[page.length - 1];
    return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.at, last.id) : null };
  }
}
