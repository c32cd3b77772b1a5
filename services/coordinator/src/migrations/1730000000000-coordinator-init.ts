import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Agents, tasks (attempt history embedded as jsonb so one row write covers a transition),
 * dead letters and the transactional outbox: the coordinator's own schema.
 */
export class CoordinatorInit1730000000000 implements MigrationInterface {
  name = 'CoordinatorInit1730000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE coordinator.agents (
        id                text PRIMARY KEY,
        tenant_id         text        NOT NULL,
        name              text        NOT NULL,
        domain            text        NOT NULL,
        tier              text        NOT NULL,
        capabilities      text[]      NOT NULL,
        concurrency       integer     NOT NULL,
        state             text        NOT NULL,
        instance_id       text        NOT NULL,
        version           text,
        metadata          jsonb       NOT NULL DEFAULT '{}'::jsonb,
        stats             jsonb       NOT NULL DEFAULT '{}'::jsonb,
        registered_at     timestamptz NOT NULL DEFAULT now(),
        last_heartbeat_at timestamptz,
        updated_at        timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX agents_tenant_idx ON coordinator.agents (tenant_id)`);
    await q.query(`
      CREATE TABLE coordinator.capabilities (
        tenant_id        text        NOT NULL,
        name             text        NOT NULL,
        first_seen_at    timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, name)
      )`);
    await q.query(`
      CREATE TABLE coordinator.tasks (
        id              uuid PRIMARY KEY,
        tenant_id       text        NOT NULL,
        capability      text        NOT NULL,
        priority        smallint    NOT NULL,
        state           text        NOT NULL,
        input           jsonb       NOT NULL,
        options         jsonb       NOT NULL,
        idempotency_key text,
        attempt         integer     NOT NULL DEFAULT 0,
        lease_epoch     integer     NOT NULL DEFAULT 0,
        agent_id        text,
        attempts        jsonb       NOT NULL DEFAULT '[]'::jsonb,
        result          jsonb,
        error           jsonb,
        checkpoint      jsonb,
        progress        jsonb,
        traceparent     text,
        labels          jsonb       NOT NULL DEFAULT '{}'::jsonb,
        deadline        timestamptz,
        created_at      timestamptz NOT NULL,
        updated_at      timestamptz NOT NULL,
        queued_at       timestamptz,
        started_at      timestamptz,
        finished_at     timestamptz,
        next_attempt_at timestamptz
      ) WITH (fillfactor = 80)`);
    await q.query(
      `CREATE UNIQUE INDEX tasks_idempotency_idx ON coordinator.tasks (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL`,
    );
    await q.query(`CREATE INDEX tasks_tenant_created_idx ON coordinator.tasks (tenant_id, created_at DESC, id DESC)`);
    await q.query(
      `CREATE INDEX tasks_active_idx ON coordinator.tasks (state) WHERE state NOT IN ('succeeded', 'failed', 'cancelled', 'dead_lettered', 'timed_out')`,
    );
    await q.query(`
      CREATE TABLE coordinator.dead_letters (
        id          uuid PRIMARY KEY,
        task_id     uuid        NOT NULL REFERENCES coordinator.tasks (id),
        tenant_id   text        NOT NULL,
        capability  text        NOT NULL,
        reason      text        NOT NULL,
        errors      jsonb       NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        replayed_at timestamptz,
        replayed_by text
      )`);
    await q.query(`CREATE INDEX dead_letters_tenant_idx ON coordinator.dead_letters (tenant_id, created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX dead_letters_task_idx ON coordinator.dead_letters (task_id)`);
    await q.query(`
      CREATE TABLE coordinator.outbox (
        id         uuid PRIMARY KEY,
        seq        bigserial   NOT NULL,
        subject    text        NOT NULL,
        payload    jsonb       NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX outbox_seq_idx ON coordinator.outbox (seq)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE coordinator.outbox`);
    await q.query(`DROP TABLE coordinator.dead_letters`);
    await q.query(`DROP TABLE coordinator.tasks`);
    await q.query(`DROP TABLE coordinator.capabilities`);
    await q.query(`DROP TABLE coordinator.agents`);
  }
}
