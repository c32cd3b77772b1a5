import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Execution samples, one per finished attempt: the optimizer's own schema. */
export class PerformanceInit1730000000000 implements MigrationInterface {
  name = 'PerformanceInit1730000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE performance.execution_samples (
        id            bigserial PRIMARY KEY,
        task_id       uuid        NOT NULL,
        attempt       integer     NOT NULL,
        tenant_id     text        NOT NULL,
        capability    text        NOT NULL,
        agent_id      text,
        pool          text,
        queue_wait_ms integer,
        run_ms        integer,
        tokens_in     integer,
        tokens_out    integer,
        cost          numeric(14, 6),
        outcome       text        NOT NULL,
        finished_at   timestamptz NOT NULL,
        UNIQUE (task_id, attempt)
      )`);
    await q.query(`CREATE INDEX samples_capability_time_idx ON performance.execution_samples (capability, finished_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE performance.execution_samples`);
  }
}
