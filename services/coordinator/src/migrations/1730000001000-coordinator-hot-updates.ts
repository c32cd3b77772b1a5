import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Lets task updates be HOT (heap-only): an index on `state` made every transition write a new
 * entry into every index of the table. The active set is read once at start-up with a scan;
 * lists go through (tenant_id, created_at).
 */
export class CoordinatorHotUpdates1730000001000 implements MigrationInterface {
  name = 'CoordinatorHotUpdates1730000001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS coordinator.tasks_active_idx`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX tasks_active_idx ON coordinator.tasks (state) WHERE state NOT IN ('succeeded', 'failed', 'cancelled', 'dead_lettered', 'timed_out')`,
    );
  }
}
