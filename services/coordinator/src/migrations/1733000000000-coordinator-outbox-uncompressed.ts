import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 9: outbox payloads (a tick's events, tens of kB) were compressed with pglz on the way into
 * TOAST — and only ever read back in a crash. Storing them uncompressed (STORAGE EXTERNAL) halved
 * what the outbox costs Postgres in a micro-benchmark of the tick statement (100 tasks per tick:
 * 0.098 -> 0.076 CPU-ms per task for the whole statement, 0.060 without any outbox). New rows only;
 * nothing is rewritten.
 */
export class CoordinatorOutboxUncompressed1733000000000 implements MigrationInterface {
  name = 'CoordinatorOutboxUncompressed1733000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE coordinator.outbox ALTER COLUMN payload SET STORAGE EXTERNAL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE coordinator.outbox ALTER COLUMN payload SET STORAGE EXTENDED`);
  }
}
