import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Issue 7: per-key rate limits and rotation, audit completion, alert rules, fired alerts and their deliveries. */
export class GatewaySecurity1731000000000 implements MigrationInterface {
  name = 'GatewaySecurity1731000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE gateway.api_keys ADD COLUMN rate_limit integer CHECK (rate_limit > 0)`);
    await q.query(`ALTER TABLE gateway.api_keys ADD COLUMN rotated_from uuid`);
    await q.query(`ALTER TABLE gateway.audit_log ADD COLUMN completed_at timestamptz`);
    await q.query(`CREATE INDEX audit_log_pending_idx ON gateway.audit_log (at) WHERE outcome = 'pending'`);
    await q.query(`
      CREATE TABLE gateway.alert_rules (
        id            uuid PRIMARY KEY,
        tenant_id     text        NOT NULL,
        name          text        NOT NULL,
        kind          text        NOT NULL,
        threshold     double precision,
        window_ms     bigint      NOT NULL,
        cooldown_ms   bigint      NOT NULL,
        severity      text        NOT NULL,
        channels      jsonb       NOT NULL DEFAULT '[]',
        enabled       boolean     NOT NULL DEFAULT true,
        created_at    timestamptz NOT NULL DEFAULT now(),
        updated_at    timestamptz NOT NULL DEFAULT now(),
        last_fired_at timestamptz
      )`);
    await q.query(`CREATE INDEX alert_rules_tenant_idx ON gateway.alert_rules (tenant_id, created_at DESC)`);
    await q.query(`
      CREATE TABLE gateway.alerts (
        id        uuid PRIMARY KEY,
        rule_id   uuid,
        tenant_id text        NOT NULL,
        kind      text        NOT NULL,
        severity  text        NOT NULL,
        title     text        NOT NULL,
        message   text        NOT NULL,
        data      jsonb       NOT NULL DEFAULT '{}',
        fired_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX alerts_tenant_idx ON gateway.alerts (tenant_id, fired_at DESC, id DESC)`);
    await q.query(`
      CREATE TABLE gateway.alert_deliveries (
        id              uuid PRIMARY KEY,
        alert_id        uuid        NOT NULL REFERENCES gateway.alerts (id) ON DELETE CASCADE,
        position        integer     NOT NULL,
        channel         text        NOT NULL,
        target          text        NOT NULL,
        state           text        NOT NULL DEFAULT 'pending',
        attempts        integer     NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error      text,
        delivered_at    timestamptz
      )`);
    await q.query(`CREATE INDEX alert_deliveries_due_idx ON gateway.alert_deliveries (next_attempt_at) WHERE state = 'pending'`);
    await q.query(`CREATE INDEX alert_deliveries_alert_idx ON gateway.alert_deliveries (alert_id, position)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE gateway.alert_deliveries`);
    await q.query(`DROP TABLE gateway.alerts`);
    await q.query(`DROP TABLE gateway.alert_rules`);
    await q.query(`DROP INDEX gateway.audit_log_pending_idx`);
    await q.query(`ALTER TABLE gateway.audit_log DROP COLUMN completed_at`);
    await q.query(`ALTER TABLE gateway.api_keys DROP COLUMN rotated_from`);
    await q.query(`ALTER TABLE gateway.api_keys DROP COLUMN rate_limit`);
  }
}
