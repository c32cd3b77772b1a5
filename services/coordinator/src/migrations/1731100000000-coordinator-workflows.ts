import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Workflows (DAGs of tasks), workflow templates, human approvals, and the links that place a
 * task in a workflow or a subtask tree.
 *
 * The link columns on `tasks` are nullable without defaults (a catalogue-only change), written
 * once at insert by a separate statement for linked tasks and never updated, and their indexes
 * are partial: a plain task's insert and its updates stay as they were (updates stay HOT).
 */
export class CoordinatorWorkflows1731100000000 implements MigrationInterface {
  name = 'CoordinatorWorkflows1731100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE coordinator.tasks
        ADD COLUMN workflow_id    uuid,
        ADD COLUMN node_key       text,
        ADD COLUMN parent_task_id uuid,
        ADD COLUMN root_task_id   uuid,
        ADD COLUMN tier           text,
        ADD COLUMN depth          smallint,
        ADD COLUMN spawn_key      text`);
    await q.query(`CREATE INDEX tasks_workflow_idx ON coordinator.tasks (workflow_id) WHERE workflow_id IS NOT NULL`);
    await q.query(`CREATE INDEX tasks_root_idx ON coordinator.tasks (root_task_id) WHERE root_task_id IS NOT NULL`);
    await q.query(
      `CREATE UNIQUE INDEX tasks_spawn_key_idx ON coordinator.tasks (parent_task_id, spawn_key) WHERE parent_task_id IS NOT NULL`,
    );
    await q.query(`
      CREATE TABLE coordinator.workflows (
        id              uuid PRIMARY KEY,
        tenant_id       text        NOT NULL,
        name            text        NOT NULL,
        state           text        NOT NULL,
        failure_policy  text        NOT NULL,
        priority        smallint    NOT NULL,
        spec            jsonb       NOT NULL,
        node_count      integer     NOT NULL,
        template        text,
        params          jsonb,
        idempotency_key text,
        labels          jsonb       NOT NULL DEFAULT '{}'::jsonb,
        error           jsonb,
        summary         jsonb,
        coverage        float8,
        created_at      timestamptz NOT NULL,
        updated_at      timestamptz NOT NULL,
        finished_at     timestamptz
      )`);
    await q.query(`CREATE INDEX workflows_tenant_created_idx ON coordinator.workflows (tenant_id, created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX workflows_running_idx ON coordinator.workflows (state) WHERE state = 'running'`);
    await q.query(
      `CREATE UNIQUE INDEX workflows_idempotency_idx ON coordinator.workflows (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL`,
    );
    await q.query(`
      CREATE TABLE coordinator.workflow_templates (
        tenant_id   text        NOT NULL,
        name        text        NOT NULL,
        version     integer     NOT NULL,
        description text,
        params      jsonb       NOT NULL DEFAULT '[]'::jsonb,
        defaults    jsonb       NOT NULL DEFAULT '{}'::jsonb,
        workflow    jsonb       NOT NULL,
        created_by  text,
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, name)
      )`);
    await q.query(`
      CREATE TABLE coordinator.approvals (
        task_id         uuid PRIMARY KEY,
        tenant_id       text        NOT NULL,
        workflow_id     uuid,
        kind            text        NOT NULL,
        status          text        NOT NULL,
        approvers       jsonb,
        requested_at    timestamptz NOT NULL,
        decided_by      text,
        decided_by_name text,
        decided_at      timestamptz,
        comment         text
      )`);
    await q.query(`CREATE INDEX approvals_pending_idx ON coordinator.approvals (tenant_id) WHERE status = 'pending'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE coordinator.approvals`);
    await q.query(`DROP TABLE coordinator.workflow_templates`);
    await q.query(`DROP TABLE coordinator.workflows`);
    await q.query(`DROP INDEX coordinator.tasks_spawn_key_idx`);
    await q.query(`DROP INDEX coordinator.tasks_root_idx`);
    await q.query(`DROP INDEX coordinator.tasks_workflow_idx`);
    await q.query(`
      ALTER TABLE coordinator.tasks
        DROP COLUMN workflow_id, DROP COLUMN node_key, DROP COLUMN parent_task_id, DROP COLUMN root_task_id,
        DROP COLUMN tier, DROP COLUMN depth, DROP COLUMN spawn_key`);
  }
}
