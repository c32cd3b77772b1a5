import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Issue #5: allocation policies per pool (or tenant default); conflicts name their pool. */
export class ConflictsPolicies1730000002000 implements MigrationInterface {
  name = 'ConflictsPolicies1730000002000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE conflicts.policies (
        tenant_id     text        NOT NULL,
        pool_id       uuid,
        kind          text        NOT NULL CHECK (kind IN ('priority_aging', 'fair_share', 'edf', 'fifo')),
        weights       jsonb       NOT NULL DEFAULT '{}'::jsonb,
        aging_step_ms bigint      NOT NULL,
        starvation_ms bigint      NOT NULL,
        preemption    boolean     NOT NULL,
        updated_at    timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE UNIQUE INDEX policies_scope_idx ON conflicts.policies (tenant_id, coalesce(pool_id, '00000000-0000-0000-0000-000000000000'::uuid))`,
    );
    await q.query(`ALTER TABLE conflicts.conflicts ADD COLUMN pool_id uuid`);
    await q.query(`CREATE INDEX conflicts_list_idx ON conflicts.conflicts (tenant_id, detected_at DESC, id DESC)`);
    await q.query(`CREATE INDEX resolutions_conflict_idx ON conflicts.resolutions (conflict_id, created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX conflicts.resolutions_conflict_idx`);
    await q.query(`DROP INDEX conflicts.conflicts_list_idx`);
    await q.query(`ALTER TABLE conflicts.conflicts DROP COLUMN pool_id`);
    await q.query(`DROP TABLE conflicts.policies`);
  }
}
