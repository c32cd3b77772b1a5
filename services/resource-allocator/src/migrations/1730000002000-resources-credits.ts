import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue #5: pools gain capabilities, sharing, pricing and pause state; allocations become the
 * credit grants and explicit allocations (the sliding-window ledger survives a restart);
 * per-task leases, reservations, budgets and learned estimates get their tables.
 */
export class ResourcesCredits1730000002000 implements MigrationInterface {
  name = 'ResourcesCredits1730000002000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE resources.pools
        ADD COLUMN capabilities     text[]  NOT NULL DEFAULT '{}',
        ADD COLUMN tenants          text[]  NOT NULL DEFAULT '{}',
        ADD COLUMN pricing          jsonb,
        ADD COLUMN default_estimate jsonb,
        ADD COLUMN paused           boolean NOT NULL DEFAULT false,
        ADD COLUMN pause_reason     text,
        ADD COLUMN deleted_at       timestamptz`);
    await q.query(`ALTER TABLE resources.pools DROP CONSTRAINT IF EXISTS pools_tenant_id_name_key`);
    await q.query(`CREATE UNIQUE INDEX pools_live_name_idx ON resources.pools (tenant_id, name) WHERE deleted_at IS NULL`);
    await q.query(`
      ALTER TABLE resources.allocations
        ADD COLUMN kind       text        NOT NULL DEFAULT 'grant' CHECK (kind IN ('grant', 'explicit')),
        ADD COLUMN spent      jsonb,
        ADD COLUMN window_end timestamptz`);
    await q.query(`CREATE INDEX allocations_window_idx ON resources.allocations (window_end)`);
    await q.query(`
      CREATE TABLE resources.leases (
        task_id     uuid        NOT NULL,
        attempt     integer     NOT NULL,
        pool_id     uuid        NOT NULL,
        tenant_id   text        NOT NULL,
        workflow_id text,
        capability  text        NOT NULL,
        priority    text        NOT NULL,
        holder      text        NOT NULL,
        grant_id    uuid,
        estimate    jsonb       NOT NULL,
        usage       jsonb,
        outcome     text,
        admitted_at timestamptz NOT NULL,
        expires_at  timestamptz NOT NULL,
        released_at timestamptz,
        PRIMARY KEY (task_id, attempt)
      )`);
    await q.query(`CREATE INDEX leases_live_idx ON resources.leases (pool_id) WHERE released_at IS NULL`);
    await q.query(`
      CREATE TABLE resources.reservations (
        id          uuid PRIMARY KEY,
        tenant_id   text        NOT NULL,
        pool_id     uuid        NOT NULL REFERENCES resources.pools (id),
        workflow_id text,
        starts_at   timestamptz NOT NULL,
        ends_at     timestamptz NOT NULL CHECK (ends_at > starts_at),
        amounts     jsonb       NOT NULL,
        note        text,
        created_at  timestamptz NOT NULL DEFAULT now(),
        deleted_at  timestamptz
      )`);
    await q.query(`CREATE INDEX reservations_pool_idx ON resources.reservations (pool_id, ends_at) WHERE deleted_at IS NULL`);
    await q.query(`
      CREATE TABLE resources.budgets (
        id                uuid PRIMARY KEY,
        tenant_id         text        NOT NULL,
        workflow_id       text,
        limit_usd         double precision NOT NULL CHECK (limit_usd >= 0),
        period_ms         bigint      NOT NULL,
        near_limit_ratio  double precision NOT NULL,
        action            text        NOT NULL,
        spent_usd         double precision NOT NULL DEFAULT 0,
        period_started_at timestamptz NOT NULL,
        created_at        timestamptz NOT NULL DEFAULT now(),
        updated_at        timestamptz NOT NULL DEFAULT now(),
        deleted_at        timestamptz
      )`);
    await q.query(
      `CREATE UNIQUE INDEX budgets_owner_idx ON resources.budgets (tenant_id, coalesce(workflow_id, '')) WHERE deleted_at IS NULL`,
    );
    await q.query(`
      CREATE TABLE resources.estimates (
        pool_id    uuid             NOT NULL,
        capability text             NOT NULL,
        tokens_in  double precision NOT NULL,
        tokens_out double precision NOT NULL,
        cost_usd   double precision NOT NULL,
        samples    integer          NOT NULL,
        updated_at timestamptz      NOT NULL DEFAULT now(),
        PRIMARY KEY (pool_id, capability)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE resources.estimates`);
    await q.query(`DROP TABLE resources.budgets`);
    await q.query(`DROP TABLE resources.reservations`);
    await q.query(`DROP TABLE resources.leases`);
    await q.query(`DROP INDEX resources.allocations_window_idx`);
    await q.query(`ALTER TABLE resources.allocations DROP COLUMN kind, DROP COLUMN spent, DROP COLUMN window_end`);
    await q.query(`DROP INDEX resources.pools_live_name_idx`);
    await q.query(
      `ALTER TABLE resources.pools DROP COLUMN capabilities, DROP COLUMN tenants, DROP COLUMN pricing, DROP COLUMN default_estimate, DROP COLUMN paused, DROP COLUMN pause_reason, DROP COLUMN deleted_at`,
    );
  }
}
