import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Provider capacity pools and their leases: the allocator's own schema. */
export class ResourcesInit1730000000000 implements MigrationInterface {
  name = 'ResourcesInit1730000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE resources.pools (
        id          uuid PRIMARY KEY,
        tenant_id   text        NOT NULL,
        name        text        NOT NULL,
        provider    text        NOT NULL,
        model       text        NOT NULL,
        key_ref     text,
        limits      jsonb       NOT NULL DEFAULT '{}'::jsonb,
        paused_until timestamptz,
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now(),
        UNIQUE (tenant_id, name)
      )`);
    await q.query(`
      CREATE TABLE resources.allocations (
        id          uuid PRIMARY KEY,
        pool_id     uuid        NOT NULL REFERENCES resources.pools (id),
        tenant_id   text        NOT NULL,
        holder      text        NOT NULL,
        granted     jsonb       NOT NULL,
        expires_at  timestamptz NOT NULL,
        released_at timestamptz,
        created_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX allocations_live_idx ON resources.allocations (pool_id) WHERE released_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE resources.allocations`);
    await q.query(`DROP TABLE resources.pools`);
  }
}
