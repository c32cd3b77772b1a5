import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the optimizer learns and decides: richer samples, rollups (log-scale histograms per
 * time bucket, so baselines never scan raw samples), regressions, recommendations (each applied
 * change with its before/after) and the tuning in force (published to NATS KV).
 */
export class PerformanceAnalytics1730000001000 implements MigrationInterface {
  name = 'PerformanceAnalytics1730000001000';

  async up(q: QueryRunner): Promise<void> {
    // attempt 0 = a task that ended before any attempt (cancelled or timed out while queued)
    await q.query(`
      ALTER TABLE performance.execution_samples
        ADD COLUMN provider    text,
        ADD COLUMN model       text,
        ADD COLUMN priority    smallint,
        ADD COLUMN total_ms    integer,
        ADD COLUMN error_code  text,
        ADD COLUMN validation  text,
        ADD COLUMN deadline_at timestamptz,
        ADD COLUMN workflow_id text,
        ADD COLUMN task_state  text`);
    await q.query(`DROP INDEX performance.samples_capability_time_idx`);
    await q.query(
      `CREATE INDEX samples_tenant_capability_time_idx ON performance.execution_samples (tenant_id, capability, finished_at DESC)`,
    );
    // retention deletes by time; rows arrive in time order, so a BRIN index is tiny and enough
    await q.query(`CREATE INDEX samples_finished_brin ON performance.execution_samples USING brin (finished_at)`);
    await q.query(
      `CREATE INDEX samples_deadline_idx ON performance.execution_samples (tenant_id, finished_at DESC) WHERE deadline_at IS NOT NULL AND task_state IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX samples_workflow_idx ON performance.execution_samples (tenant_id, finished_at DESC) WHERE workflow_id IS NOT NULL`,
    );

    // sparse histograms {bin: count}, added together on upsert
    await q.query(`
      CREATE FUNCTION performance.hist_merge(a jsonb, b jsonb) RETURNS jsonb
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT coalesce(jsonb_object_agg(k, s), '{}'::jsonb)
        FROM (SELECT k, sum(v)::bigint AS s
              FROM (SELECT key AS k, value::bigint AS v FROM jsonb_each_text(coalesce(a, '{}'::jsonb))
                    UNION ALL
                    SELECT key, value::bigint FROM jsonb_each_text(coalesce(b, '{}'::jsonb))) x
              GROUP BY k) y
      $$`);

    // the log-scale bin of a duration (analysis/histogram.ts: G = 1.05)
    await q.query(`
      CREATE FUNCTION performance.hist_bin(ms integer) RETURNS integer
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN ms IS NULL OR ms <= 0 THEN 0 ELSE floor(ln(1 + ms::double precision) / ln(1.05))::integer END
      $$`);

    // pool = the task's resource pool, else the provider the agent reported ('' = unknown)
    await q.query(`
      CREATE TABLE performance.sample_rollups (
        tenant_id        text        NOT NULL,
        bucket_start     timestamptz NOT NULL,
        capability       text        NOT NULL,
        pool             text        NOT NULL,
        agent_id         text        NOT NULL,
        attempts         integer     NOT NULL DEFAULT 0,
        succeeded        integer     NOT NULL DEFAULT 0,
        failed           integer     NOT NULL DEFAULT 0,
        timed_out        integer     NOT NULL DEFAULT 0,
        other            integer     NOT NULL DEFAULT 0,
        run_n            integer     NOT NULL DEFAULT 0,
        run_sum_ms       bigint      NOT NULL DEFAULT 0,
        run_hist         jsonb       NOT NULL DEFAULT '{}',
        queue_n          integer     NOT NULL DEFAULT 0,
        queue_sum_ms     bigint      NOT NULL DEFAULT 0,
        queue_hist       jsonb       NOT NULL DEFAULT '{}',
        lost_run_ms      bigint      NOT NULL DEFAULT 0,
        tasks            integer     NOT NULL DEFAULT 0,
        tasks_succeeded  integer     NOT NULL DEFAULT 0,
        total_sum_ms     bigint      NOT NULL DEFAULT 0,
        total_hist       jsonb       NOT NULL DEFAULT '{}',
        deadline_tasks   integer     NOT NULL DEFAULT 0,
        deadline_missed  integer     NOT NULL DEFAULT 0,
        cost_n           integer     NOT NULL DEFAULT 0,
        cost_sum         numeric(18, 6) NOT NULL DEFAULT 0,
        tokens_n         integer     NOT NULL DEFAULT 0,
        tokens_sum       bigint      NOT NULL DEFAULT 0,
        validation_failed integer    NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant_id, bucket_start, capability, pool, agent_id)
      )`);
    await q.query(`CREATE INDEX rollups_bucket_idx ON performance.sample_rollups (bucket_start)`);

    await q.query(`
      CREATE TABLE performance.regressions (
        id             uuid        PRIMARY KEY,
        tenant_id      text        NOT NULL,
        capability     text        NOT NULL,
        pool           text,
        agent_id       text,
        metric         text        NOT NULL,
        status         text        NOT NULL,
        severity       text        NOT NULL,
        summary        text        NOT NULL,
        evidence       jsonb       NOT NULL,
        latest         jsonb,
        detected_at    timestamptz NOT NULL,
        last_seen_at   timestamptz NOT NULL,
        resolved_at    timestamptz
      )`);
    await q.query(
      `CREATE UNIQUE INDEX regressions_one_active ON performance.regressions (tenant_id, capability, coalesce(pool, ''), coalesce(agent_id, ''), metric) WHERE status = 'active'`,
    );
    await q.query(`CREATE INDEX regressions_tenant_time_idx ON performance.regressions (tenant_id, detected_at DESC, id DESC)`);

    await q.query(`
      CREATE TABLE performance.recommendations (
        id              uuid        PRIMARY KEY,
        tenant_id       text        NOT NULL,
        kind            text        NOT NULL,
        target          text        NOT NULL,
        status          text        NOT NULL,
        capability      text        NOT NULL,
        pool            text,
        agent_id        text,
        summary         text        NOT NULL,
        evidence        jsonb       NOT NULL,
        expected_effect jsonb       NOT NULL,
        proposal        jsonb       NOT NULL,
        created_at      timestamptz NOT NULL,
        updated_at      timestamptz NOT NULL,
        last_seen_at    timestamptz NOT NULL,
        applied_at      timestamptz,
        applied_by      text,
        applied_auto    boolean,
        before          jsonb,
        after           jsonb,
        reverted_at     timestamptz,
        reverted_by     text,
        restored        jsonb
      )`);
    await q.query(`CREATE UNIQUE INDEX recommendations_one_open ON performance.recommendations (tenant_id, target) WHERE status = 'open'`);
    await q.query(`CREATE INDEX recommendations_tenant_time_idx ON performance.recommendations (tenant_id, created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX recommendations_target_idx ON performance.recommendations (tenant_id, target, updated_at DESC)`);

    // the tuning in force; NATS KV holds a copy the optimizer republishes from here
    await q.query(`
      CREATE TABLE performance.tuning (
        tenant_id          text        NOT NULL,
        kind               text        NOT NULL,
        capability         text        NOT NULL,
        value              jsonb       NOT NULL,
        recommendation_id  uuid,
        updated_at         timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, kind, capability)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE performance.tuning`);
    await q.query(`DROP TABLE performance.recommendations`);
    await q.query(`DROP TABLE performance.regressions`);
    await q.query(`DROP TABLE performance.sample_rollups`);
    await q.query(`DROP FUNCTION performance.hist_merge(jsonb, jsonb)`);
    await q.query(`DROP FUNCTION performance.hist_bin(integer)`);
    await q.query(`DROP INDEX performance.samples_workflow_idx`);
    await q.query(`DROP INDEX performance.samples_deadline_idx`);
    await q.query(`DROP INDEX performance.samples_finished_brin`);
    await q.query(`DROP INDEX performance.samples_tenant_capability_time_idx`);
    await q.query(`CREATE INDEX samples_capability_time_idx ON performance.execution_samples (capability, finished_at DESC)`);
    await q.query(`
      ALTER TABLE performance.execution_samples
        DROP COLUMN provider, DROP COLUMN model, DROP COLUMN priority, DROP COLUMN total_ms, DROP COLUMN error_code,
        DROP COLUMN validation, DROP COLUMN deadline_at, DROP COLUMN workflow_id, DROP COLUMN task_state`);
  }
}
