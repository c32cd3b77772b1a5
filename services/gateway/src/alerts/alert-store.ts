import { Inject, Injectable } from '@nestjs/common';
import {
  type AlertChannelDto,
  type AlertDeliveryDto,
  type AlertDto,
  type AlertKind,
  type AlertPageDto,
  type AlertRuleDto,
  type AlertRulePageDto,
  type AlertSeverity,
  type CreateAlertRuleDto,
  NotFoundError,
  type UpdateAlertRuleDto,
  ValidationError,
} from '@swarm-mesh/contracts';
import { DATA_SOURCE } from '@swarm-mesh/service-kit';
import { randomUUID } from 'node:crypto';
import type { DataSource, QueryRunner } from 'typeorm';
import { type AuditStart, AuditService } from '../audit/audit.service';
import { decodeCursor, encodeCursor, iso } from '../http/cursor';
import { checkThreshold } from './alert-rules';
import type { ListAlertRulesQuery, ListAlertsQuery } from './alerts.dto';

export const DEFAULT_WINDOW_MS = 300_000;
export const DEFAULT_COOLDOWN_MS = 300_000;

interface RuleRow {
  id: string;
  tenant_id: string;
  name: string;
  kind: AlertKind;
  threshold: number | null;
  window_ms: string;
  cooldown_ms: string;
  severity: AlertSeverity;
  channels: AlertChannelDto[];
  enabled: boolean;
  created_at: Date;
  updated_at: Date;
  last_fired_at: Date | null;
}

interface AlertRow {
  id: string;
  rule_id: string | null;
  tenant_id: string;
  kind: AlertKind;
  severity: AlertSeverity;
  title: string;
  message: string;
  data: Record<string, unknown>;
  fired_at: Date;
  deliveries: Array<{
    channel: AlertDeliveryDto['channel'];
    target: string;
    state: AlertDeliveryDto['state'];
    attempts: number;
    last_error: string | null;
    delivered_at: string | null;
  }> | null;
}

/** A pending delivery claimed for an attempt. */
export interface DueDelivery {
  id: string;
  attempts: number;
  channel: AlertChannelDto['type'];
  target: string;
  alert: AlertDto;
}

/** What a rule firing produces. */
export interface NewAlert {
  ruleId: string | null;
  tenantId: string;
  kind: AlertKind;
  severity: AlertSeverity;
  title: string;
  message: string;
  data: Record<string, unknown>;
  channels: AlertChannelDto[];
}

const RULE_COLUMNS =
  'id, tenant_id, name, kind, threshold, window_ms, cooldown_ms, severity, channels, enabled, created_at, updated_at, last_fired_at';

export function ruleDto(r: RuleRow): AlertRuleDto {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    name: r.name,
    kind: r.kind,
    threshold: r.threshold,
    windowMs: Number(r.window_ms),
    cooldownMs: Number(r.cooldown_ms),
    severity: r.severity,
    channels: r.channels,
    enabled: r.enabled,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    lastFiredAt: iso(r.last_fired_at),
  };
}

function alertDto(r: AlertRow): AlertDto {
  return {
    id: r.id,
    ruleId: r.rule_id,
    tenantId: r.tenant_id,
    kind: r.kind,
    severity: r.severity,
    title: r.title,
    message: r.message,
    data: r.data,
    firedAt: r.fired_at.toISOString(),
    deliveries: (r.deliveries ?? []).map((d) => ({
      channel: d.channel,
      target: d.target,
      state: d.state,
      attempts: d.attempts,
      lastError: d.last_error,
      deliveredAt: d.delivered_at === null ? null : new Date(d.delivered_at).toISOString(),
    })),
  };
}

/** Checks that every channel has what its type needs. */
export function checkChannels(channels: AlertChannelDto[] | undefined): void {
  (channels ?? []).forEach((c, i) => {
    if ((c.type === 'webhook' || c.type === 'slack') && !c.url) {
      throw new ValidationError(`channels.${i}: a ${c.type} channel needs url`, [
        { path: `channels.${i}.url`, message: `required for ${c.type}`, constraint: 'isDefined' },
      ]);
    }
    if (c.type === 'email' && (!c.to || c.to.length === 0)) {
      throw new ValidationError(`channels.${i}: an email channel needs to[]`, [
        { path: `channels.${i}.to`, message: 'required for email', constraint: 'isDefined' },
      ]);
    }
  });
}

function target(c: AlertChannelDto): string {
  return c.type === 'email' ? (c.to ?? []).join(',') : (c.url ?? '');
}

const ALERT_SELECT = `
  SELECT a.id, a.rule_id, a.tenant_id, a.kind, a.severity, a.title, a.message, a.data, a.fired_at,
         (SELECT json_agg(json_build_object('channel', d.channel, 'target', d.target, 'state', d.state, 'attempts', d.attempts,
                                            'last_error', d.last_error, 'delivered_at', d.delivered_at) ORDER BY d.position)
            FROM gateway.alert_deliveries d WHERE d.alert_id = a.id) AS deliveries
    FROM gateway.alerts a`;

/** Alert rules, fired alerts and their deliveries in the gateway schema. */
@Injectable()
export class AlertStore {
  constructor(
    @Inject(DATA_SOURCE) private readonly db: DataSource,
    private readonly audit: AuditService,
  ) {}

  async createRule(tenantId: string, body: CreateAlertRuleDto, start: AuditStart): Promise<AlertRuleDto> {
    checkChannels(body.channels);
    checkThreshold(body.kind, body.threshold);
    return this.audit.inTransaction(
      start,
      async (q) => {
        const rows = (await q.query(
          `INSERT INTO gateway.alert_rules (id, tenant_id, name, kind, threshold, window_ms, cooldown_ms, severity, channels, enabled)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ${RULE_COLUMNS}`,
          [
            randomUUID(),
            tenantId,
            body.name,
            body.kind,
            body.threshold ?? null,
            body.windowMs ?? DEFAULT_WINDOW_MS,
            body.cooldownMs ?? DEFAULT_COOLDOWN_MS,
            body.severity ?? 'warning',
            JSON.stringify(body.channels),
            body.enabled ?? true,
          ],
        )) as RuleRow[];
        const rule = ruleDto(rows[0]!);
        return { result: rule, targetId: rule.id, details: { kind: rule.kind } };
      },
      201,
    );
  }

  private async ownRule(q: QueryRunner | DataSource, tenantId: string, id: string, lock = false): Promise<RuleRow> {
    const rows = (await q.query(
      `SELECT ${RULE_COLUMNS} FROM gateway.alert_rules WHERE id = $1 AND tenant_id = $2${lock ? ' FOR UPDATE' : ''}`,
      [id, tenantId],
    )) as RuleRow[];
    if (!rows[0]) throw new NotFoundError('alert-rule', id);
    return rows[0];
  }

  async getRule(tenantId: string, id: string): Promise<AlertRuleDto> {
    return ruleDto(await this.ownRule(this.db, tenantId, id));
  }

  async updateRule(tenantId: string, id: string, body: UpdateAlertRuleDto, start: AuditStart): Promise<AlertRuleDto> {
    checkChannels(body.channels);
    return this.audit.inTransaction(start, async (q) => {
      const row = await this.ownRule(q, tenantId, id, true);
      checkThreshold(row.kind, body.threshold);
      const sets: string[] = [];
      const params: unknown[] = [id];
      const set = (col: string, v: unknown): void => {
        params.push(v);
        sets.push(`${col} = $${params.length}`);
      };
      if (body.name !== undefined) set('name', body.name);
      if (body.threshold !== undefined) set('threshold', body.threshold);
      if (body.windowMs !== undefined) set('window_ms', body.windowMs);
      if (body.cooldownMs !== undefined) set('cooldown_ms', body.cooldownMs);
      if (body.severity !== undefined) set('severity', body.severity);
      if (body.channels !== undefined) set('channels', JSON.stringify(body.channels));
      if (body.enabled !== undefined) set('enabled', body.enabled);
      sets.push('updated_at = now()');
      const res = (await q.query(`UPDATE gateway.alert_rules SET ${sets.join(', ')} WHERE id = $1 RETURNING ${RULE_COLUMNS}`, params)) as [
        RuleRow[],
        number,
      ];
      return { result: ruleDto(res[0][0]!), targetId: id, details: { fields: Object.keys(body) } };
    });
  }

  async deleteRule(tenantId: string, id: string, start: AuditStart): Promise<AlertRuleDto> {
    return this.audit.inTransaction(start, async (q) => {
      const row = await this.ownRule(q, tenantId, id, true);
      await q.query('DELETE FROM gateway.alert_rules WHERE id = $1', [id]);
      return { result: ruleDto(row), targetId: id };
    });
  }

  async listRules(tenantId: string, q: ListAlertRulesQuery): Promise<AlertRulePageDto> {
    const params: unknown[] = [tenantId];
    let where = 'tenant_id = $1';
    const cursor = decodeCursor(q.cursor);
    if (cursor) {
      params.push(cursor.at, cursor.id);
      where += ` AND (date_trunc('milliseconds', created_at), id) < ($2::timestamptz, $3::uuid)`;
    }
    const limit = q.limit ?? 50;
    params.push(limit + 1);
    const rows = await this.db.query<RuleRow[]>(
      `SELECT ${RULE_COLUMNS} FROM gateway.alert_rules WHERE ${where}
       ORDER BY date_trunc('milliseconds', created_at) DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page.map(ruleDto), nextCursor: rows.length > limit && last ? encodeCursor(last.created_at, last.id) : null };
  }

  /** Every enabled rule (the evaluator's working set). */
  async enabledRules(): Promise<AlertRuleDto[]> {
    const rows = await this.db.query<RuleRow[]>(`SELECT ${RULE_COLUMNS} FROM gateway.alert_rules WHERE enabled`);
    return rows.map(ruleDto);
  }

  async listAlerts(tenantId: string, q: ListAlertsQuery): Promise<AlertPageDto> {
    const params: unknown[] = [tenantId];
    const where = ['a.tenant_id = $1'];
    if (q.kind !== undefined) {
      params.push(q.kind);
      where.push(`a.kind = $${params.length}`);
    }
    if (q.severity !== undefined) {
      params.push(q.severity);
      where.push(`a.severity = $${params.length}`);
    }
    if (q.ruleId !== undefined) {
      params.push(q.ruleId);
      where.push(`a.rule_id = $${params.length}`);
    }
    const cursor = decodeCursor(q.cursor);
    if (cursor) {
      params.push(cursor.at, cursor.id);
      where.push(`(a.fired_at, a.id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    const limit = q.limit ?? 50;
    params.push(limit + 1);
    const rows = await this.db.query<AlertRow[]>(
      `${ALERT_SELECT} WHERE ${where.join(' AND ')} ORDER BY a.fired_at DESC, a.id DESC LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page.map(alertDto), nextCursor: rows.length > limit && last ? encodeCursor(last.fired_at, last.id) : null };
  }

  async getAlert(tenantId: string, id: string): Promise<AlertDto> {
    const rows = await this.db.query<AlertRow[]>(`${ALERT_SELECT} WHERE a.id = $1 AND a.tenant_id = $2`, [id, tenantId]);
    if (!rows[0]) throw new NotFoundError('alert', id);
    return alertDto(rows[0]);
  }

  /** Stores a fired alert and one pending delivery per channel, in one transaction. */
  async insertAlert(a: NewAlert, q?: QueryRunner): Promise<AlertDto> {
    const run = async (qr: QueryRunner): Promise<AlertDto> => {
      const id = randomUUID();
      const rows = (await qr.query(
        `INSERT INTO gateway.alerts (id, rule_id, tenant_id, kind, severity, title, message, data, fired_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, date_trunc('milliseconds', clock_timestamp())) RETURNING fired_at`,
        [id, a.ruleId, a.tenantId, a.kind, a.severity, a.title.slice(0, 500), a.message.slice(0, 4000), JSON.stringify(a.data)],
      )) as Array<{ fired_at: Date }>;
      for (const [i, c] of a.channels.entries()) {
        await qr.query(`INSERT INTO gateway.alert_deliveries (id, alert_id, position, channel, target) VALUES ($1, $2, $3, $4, $5)`, [
          randomUUID(),
          id,
          i,
          c.type,
          target(c),
        ]);
      }
      if (a.ruleId) await qr.query('UPDATE gateway.alert_rules SET last_fired_at = now() WHERE id = $1', [a.ruleId]);
      return {
        id,
        ruleId: a.ruleId,
        tenantId: a.tenantId,
        kind: a.kind,
        severity: a.severity,
        title: a.title.slice(0, 500),
        message: a.message.slice(0, 4000),
        data: a.data,
        firedAt: rows[0]!.fired_at.toISOString(),
        deliveries: a.channels.map((c) => ({
          channel: c.type,
          target: target(c),
          state: 'pending',
          attempts: 0,
          lastError: null,
          deliveredAt: null,
        })),
      };
    };
    if (q) return run(q);
    const qr = this.db.createQueryRunner();
    try {
      await qr.connect();
      await qr.startTransaction();
      const out = await run(qr);
      await qr.commitTransaction();
      return out;
    } catch (err) {
      if (qr.isTransactionActive) await qr.rollbackTransaction().catch(() => {});
      throw err;
    } finally {
      await qr.release().catch(() => {});
    }
  }

  /**
   * Claims up to `limit` due deliveries for one attempt: their next attempt moves `leaseMs` ahead
   * (SKIP LOCKED: replicas never claim the same one), so a replica that dies mid-attempt leaves
   * them to be retried.
   */
  async claimDue(limit: number, leaseMs: number): Promise<DueDelivery[]> {
    const rows = await this.db.query<
      Array<AlertRow & { delivery_id: string; attempts: number; channel: AlertChannelDto['type']; target: string }>
    >(
      `WITH due AS (
         SELECT id FROM gateway.alert_deliveries
          WHERE state = 'pending' AND next_attempt_at <= now()
          ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED
       ), claimed AS (
         UPDATE gateway.alert_deliveries d SET next_attempt_at = now() + ($2::bigint * interval '1 millisecond')
           FROM due WHERE d.id = due.id
         RETURNING d.id AS delivery_id, d.alert_id, d.attempts, d.channel, d.target
       )
       SELECT c.delivery_id, c.attempts, c.channel, c.target, a.id, a.rule_id, a.tenant_id, a.kind, a.severity, a.title, a.message,
              a.data, a.fired_at, NULL AS deliveries
         FROM claimed c JOIN gateway.alerts a ON a.id = c.alert_id`,
      [limit, leaseMs],
    );
    return rows.map((r) => ({ id: r.delivery_id, attempts: r.attempts, channel: r.channel, target: r.target, alert: alertDto(r) }));
  }

  async deliveryDone(id: string): Promise<void> {
    await this.db.query(
      `UPDATE gateway.alert_deliveries SET state = 'delivered', attempts = attempts + 1, delivered_at = now(), last_error = NULL WHERE id = $1`,
      [id],
    );
  }

  /** A failed attempt: retried after `retryInMs`, or failed for good when null. */
  async deliveryFailed(id: string, error: string, retryInMs: number | null): Promise<void> {
    await this.db.query(
      `UPDATE gateway.alert_deliveries
          SET attempts = attempts + 1, last_error = $2,
              state = CASE WHEN $3::bigint IS NULL THEN 'failed' ELSE 'pending' END,
              next_attempt_at = now() + (COALESCE($3::bigint, 0) * interval '1 millisecond')
        WHERE id = $1`,
      [id, error.slice(0, 2000), retryInMs],
    );
  }
}
