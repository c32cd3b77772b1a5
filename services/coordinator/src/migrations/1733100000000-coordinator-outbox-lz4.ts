import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 9: outbox payloads (a tick's events, ~40 kB per 100 events) go compressed with lz4 where
 * the server has it (PostgreSQL 14+ built with lz4, as Debian's and the official images are):
 * a micro-benchmark of the outbox row's insert + delete measured 367–453 µs of backend CPU per row
 * uncompressed (1733000000000) and 320–393 µs with lz4 (pglz: 500–653), and 44 KiB of WAL per
 * row uncompressed against 5.2 KiB with lz4. A server without lz4 keeps them uncompressed. New
 * rows only; nothing is rewritten.
 */
export class CoordinatorOutboxLz41733100000000 implements MigrationInterface {
  name = 'CoordinatorOutboxLz41733100000000';

  async up(q: QueryRunner): Promise<void> {
    const rows = (await q.query(
      `SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)`,
    )) as unknown[];
    if (rows.length === 0) return;
    await q.query(`ALTER TABLE coordinator.outbox ALTER COLUMN payload SET STORAGE EXTENDED, ALTER COLUMN payload SET COMPRESSION lz4`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE coordinator.outbox ALTER COLUMN payload SET COMPRESSION default, ALTER COLUMN payload SET STORAGE EXTERNAL`);
  }
}
