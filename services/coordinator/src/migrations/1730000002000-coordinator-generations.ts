import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Lease epochs become 64-bit so each coordinator start can begin a new epoch range (generation
 * × 2^32): a dispatch that was published but not yet written when a coordinator died can never
 * share its epoch with a later attempt. Outbox payloads are stored as text: they are written
 * once and read once, never queried, so parsing them into jsonb was wasted work.
 */
export class CoordinatorGenerations1730000002000 implements MigrationInterface {
  name = 'CoordinatorGenerations1730000002000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE coordinator.tasks ALTER COLUMN lease_epoch TYPE bigint`);
    await q.query(`ALTER TABLE coordinator.outbox ALTER COLUMN payload TYPE text USING payload::text`);
    await q.query(`CREATE TABLE coordinator.meta (key text PRIMARY KEY, value bigint NOT NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE coordinator.meta`);
    await q.query(`ALTER TABLE coordinator.outbox ALTER COLUMN payload TYPE jsonb USING payload::jsonb`);
    await q.query(`ALTER TABLE coordinator.tasks ALTER COLUMN lease_epoch TYPE integer`);
  }
}
