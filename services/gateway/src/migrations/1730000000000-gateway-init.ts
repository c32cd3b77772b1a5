import type { MigrationInterface, QueryRunner } from 'typeorm';

/** API keys and the audit log: the gateway's own schema. */
export class GatewayInit1730000000000 implements MigrationInterface {
  name = 'GatewayInit1730000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE gateway.api_keys (
        id           uuid PRIMARY KEY,
        tenant_id    text        NOT NULL,
        name         text        NOT NULL,
        role         text        NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
        prefix       text        NOT NULL UNIQUE,
        key_hash     text        NOT NULL,
        created_by   text,
        created_at   timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        revoked_at   timestamptz
      )`);
    await q.query(`CREATE INDEX api_keys_tenant_idx ON gateway.api_keys (tenant_id)`);
    await q.query(`
      CREATE TABLE gateway.audit_log (
        id          uuid PRIMARY KEY,
        at          timestamptz NOT NULL DEFAULT now(),
        tenant_id   text        NOT NULL,
        actor       text        NOT NULL,
        key_id      uuid,
        action      text        NOT NULL,
        target_type text,
        target_id   text,
        outcome     text        NOT NULL DEFAULT 'pending',
        http_status integer,
        trace_id    text,
        details     jsonb
      )`);
    await q.query(`CREATE INDEX audit_log_tenant_at_idx ON gateway.audit_log (tenant_id, at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE gateway.audit_log`);
    await q.query(`DROP TABLE gateway.api_keys`);
  }
}
