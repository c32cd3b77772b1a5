import type { Pool } from 'pg';
import type { RegisterTemplateDto, TaskErrorDto, TaskState } from '@swarm-mesh/contracts';
import type { ReviewEntry } from './task-record';
import { decodeCursor, encodeCursor, reviewOf } from './task-store';

const ms = (col: string): string => `(extract(epoch from ${col}) * 1000)::float8 AS ${col}`;

/** A `workflows` row as read. */
export interface StoredWorkflow {
  id: string;
  tenantId: string;
  name: string;
  state: string;
  failurePolicy: string;
  priority: number;
  spec: unknown;
  nodeCount: number;
  template: string | null;
  params: Record<string, unknown> | null;
  idempotencyKey: string | null;
  labels: Record<string, string>;
  error: Record<string, unknown> | null;
  summary: Record<string, unknown> | null;
  coverage: number | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

/** One node's task as read for a workflow. */
export interface StoredNode {
  taskId: string;
  workflowId: string;
  nodeKey: string;
  capability: string;
  state: TaskState;
  attempt: number;
  result: Record<string, unknown> | null;
  error: TaskErrorDto | null;
  review: ReviewEntry | undefined;
  startedAt: number | null;
  finishedAt: number | null;
}

/** A task as a tree shows it. */
export interface TreeRow {
  id: string;
  capability: string;
  state: TaskState;
  tier: string | null;
  depth: number | null;
  nodeKey: string | null;
  spawnKey: string | null;
  parentTaskId: string | null;
  rootTaskId: string | null;
  review: ReviewEntry | undefined;
  createdAt: number;
  finishedAt: number | null;
}

export interface StoredTemplate {
  template: RegisterTemplateDto;
  version: number;
  createdAt: number;
  updatedAt: number;
}

const WF_COLUMNS = `id, tenant_id, name, state, failure_policy, priority, spec, node_count, template, params, idempotency_key, labels, error,
  summary, coverage, ${ms('created_at')}, ${ms('updated_at')}, ${ms('finished_at')}`;

interface WfRow {
  id: string;
  tenant_id: string;
  name: string;
  state: string;
  failure_policy: string;
  priority: number;
  spec: unknown;
  node_count: number;
  template: string | null;
  params: Record<string, unknown> | null;
  idempotency_key: string | null;
  labels: Record<string, string>;
  error: Record<string, unknown> | null;
  summary: Record<string, unknown> | null;
  coverage: number | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

function wf(r: WfRow): StoredWorkflow {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    name: r.name,
    state: r.state,
    failurePolicy: r.failure_policy,
    priority: r.priority,
    spec: r.spec,
    nodeCount: r.node_count,
    template: r.template,
    params: r.params,
    idempotencyKey: r.idempotency_key,
    labels: r.labels,
    error: r.error,
    summary: r.summary,
    coverage: r.coverage,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at,
  };
}

const APPROVAL = `(SELECT to_jsonb(a) FROM coordinator.approvals a WHERE a.task_id = t.id) AS approval`;

/** Reads of workflows, templates, trees and subtasks (writes go through the tick statement). */
export class WorkflowStore {
  constructor(private readonly pool: Pool) {}

  async runningWorkflows(): Promise<StoredWorkflow[]> {
    const { rows } = await this.pool.query<WfRow>(`SELECT ${WF_COLUMNS} FROM coordinator.workflows WHERE state = 'running'`);
    return rows.map(wf);
  }

  async getWorkflow(tenantId: string, id: string): Promise<StoredWorkflow | null> {
    const { rows } = await this.pool.query<WfRow>(`SELECT ${WF_COLUMNS} FROM coordinator.workflows WHERE id = $1 AND tenant_id = $2`, [
      id,
      tenantId,
    ]);
    return rows[0] ? wf(rows[0]) : null;
  }

  async listWorkflows(f: {
    tenantId: string;
    state?: string;
    limit: number;
    cursor?: string;
  }): Promise<{ items: StoredWorkflow[]; nextCursor: string | null }> {
    const where = ['tenant_id = $1'];
    const values: unknown[] = [f.tenantId];
    if (f.state) {
      values.push(f.state);
      where.push(`state = $${values.length}`);
    }
    if (f.cursor) {
      const [createdAt, id] = decodeCursor(f.cursor);
      values.push(createdAt, id);
      where.push(`(created_at, id) < (to_timestamp($${values.length - 1} / 1000.0), $${values.length}::uuid)`);
    }
    values.push(f.limit + 1);
    const { rows } = await this.pool.query<WfRow>(
      `SELECT ${WF_COLUMNS} FROM coordinator.workflows WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT $${values.length}`,
      values,
    );
    const items = rows.slice(0, f.limit).map(wf);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > f.limit && last ? encodeCursor(last.createdAt, last.id) : null };
  }

  /** Existing workflow ids for idempotency keys of one tenant. */
  async findWorkflowKeys(tenantId: string, keys: string[]): Promise<Map<string, string>> {
    if (keys.length === 0) return new Map();
    const { rows } = await this.pool.query<{ id: string; idempotency_key: string }>(
      'SELECT id, idempotency_key FROM coordinator.workflows WHERE tenant_id = $1 AND idempotency_key = ANY($2::text[])',
      [tenantId, keys],
    );
    return new Map(rows.map((r) => [r.idempotency_key, r.id]));
  }

  /**
   * The node tasks of workflows. `withResults`: results of every node (true), of these node keys
   * only (a list), or none (false).
   */
  async nodes(workflowIds: string[], withResults: boolean | string[] = false): Promise<StoredNode[]> {
    if (workflowIds.length === 0) return [];
    const resultCol =
      withResults === true
        ? 't.result'
        : Array.isArray(withResults) && withResults.length > 0
          ? 'CASE WHEN t.node_key = ANY($2::text[]) THEN t.result END'
          : 'NULL::jsonb';
    const values: unknown[] = [workflowIds];
    if (Array.isArray(withResults) && withResults.length > 0) values.push(withResults);
    const { rows } = await this.pool.query<{
      id: string;
      workflow_id: string;
      node_key: string;
      capability: string;
      state: TaskState;
      attempt: number;
      result: Record<string, unknown> | null;
      error: TaskErrorDto | null;
      approval: Record<string, unknown> | null;
      started_at: number | null;
      finished_at: number | null;
    }>(
      `SELECT t.id, t.workflow_id, t.node_key, t.capability, t.state, t.attempt, ${resultCol} AS result, t.error, ${APPROVAL},
         (extract(epoch from t.started_at) * 1000)::float8 AS started_at, (extract(epoch from t.finished_at) * 1000)::float8 AS finished_at
       FROM coordinator.tasks t WHERE t.workflow_id = ANY($1::uuid[]) AND t.node_key IS NOT NULL`,
      values,
    );
    return rows.map((r) => ({
      taskId: r.id,
      workflowId: r.workflow_id,
      nodeKey: r.node_key,
      capability: r.capability,
      state: r.state,
      attempt: r.attempt,
      result: r.result,
      error: r.error,
      review: reviewOf(r.approval),
      startedAt: r.started_at,
      finishedAt: r.finished_at,
    }));
  }

  /** Tasks of a subtask tree (root and descendants), at most `limit`. */
  async tree(rootId: string, limit: number): Promise<TreeRow[]> {
    return this.treeRows(`t.id = $1 OR t.root_task_id = $1`, [rootId], limit);
  }

  /** Every task of a workflow (nodes and their subtasks), at most `limit`. */
  async workflowTree(workflowId: string, limit: number): Promise<TreeRow[]> {
    return this.treeRows(`t.workflow_id = $1`, [workflowId], limit);
  }

  private async treeRows(where: string, values: unknown[], limit: number): Promise<TreeRow[]> {
    const { rows } = await this.pool.query<{
      id: string;
      capability: string;
      state: TaskState;
      tier: string | null;
      depth: number | null;
      node_key: string | null;
      spawn_key: string | null;
      parent_task_id: string | null;
      root_task_id: string | null;
      approval: Record<string, unknown> | null;
      created_at: number;
      finished_at: number | null;
    }>(
      `SELECT t.id, t.capability, t.state, t.tier, t.depth, t.node_key, t.spawn_key, t.parent_task_id, t.root_task_id, ${APPROVAL},
         (extract(epoch from t.created_at) * 1000)::float8 AS created_at, (extract(epoch from t.finished_at) * 1000)::float8 AS finished_at
       FROM coordinator.tasks t WHERE ${where} ORDER BY t.created_at, t.id LIMIT ${Math.max(1, Math.floor(limit))}`,
      values,
    );
    return rows.map((r) => ({
      id: r.id,
      capability: r.capability,
      state: r.state,
      tier: r.tier,
      depth: r.depth,
      nodeKey: r.node_key,
      spawnKey: r.spawn_key,
      parentTaskId: r.parent_task_id,
      rootTaskId: r.root_task_id,
      review: reviewOf(r.approval),
      createdAt: r.created_at,
      finishedAt: r.finished_at,
    }));
  }

  /** Children of a parent among `ids` (state, result, error, approval). */
  async children(
    tenantId: string,
    parentId: string,
    ids: string[],
  ): Promise<
    Array<{
      id: string;
      spawnKey: string | null;
      capability: string;
      state: TaskState;
      result: Record<string, unknown> | null;
      error: TaskErrorDto | null;
      review: ReviewEntry | undefined;
    }>
  > {
    const { rows } = await this.pool.query<{
      id: string;
      spawn_key: string | null;
      capability: string;
      state: TaskState;
      result: Record<string, unknown> | null;
      error: TaskErrorDto | null;
      approval: Record<string, unknown> | null;
    }>(
      `SELECT t.id, t.spawn_key, t.capability, t.state, t.result, t.error, ${APPROVAL}
       FROM coordinator.tasks t WHERE t.id = ANY($1::uuid[]) AND t.parent_task_id = $2 AND t.tenant_id = $3`,
      [ids, parentId, tenantId],
    );
    return rows.map((r) => ({
      id: r.id,
      spawnKey: r.spawn_key,
      capability: r.capability,
      state: r.state,
      result: r.result,
      error: r.error,
      review: reviewOf(r.approval),
    }));
  }

  /** What a spawn needs to know about a parent: its children with these keys, how many it has, how big its tree is. */
  async spawnFacts(
    parentId: string,
    rootId: string,
    keys: string[],
  ): Promise<{
    existing: Map<string, { id: string; capability: string; state: TaskState; tier: string; depth: number }>;
    children: number;
    treeSize: number;
  }> {
    const { rows } = await this.pool.query<{
      id: string;
      spawn_key: string;
      capability: string;
      state: TaskState;
      tier: string;
      depth: number;
    }>(
      `SELECT id, spawn_key, capability, state, tier, depth FROM coordinator.tasks WHERE parent_task_id = $1 AND spawn_key = ANY($2::text[])`,
      [parentId, keys],
    );
    const counts = await this.pool.query<{ children: string; tree: string }>(
      `SELECT (SELECT count(*) FROM coordinator.tasks WHERE parent_task_id = $1) AS children,
              (SELECT count(*) FROM coordinator.tasks WHERE root_task_id = $2) AS tree`,
      [parentId, rootId],
    );
    return {
      existing: new Map(
        rows.map((r) => [r.spawn_key, { id: r.id, capability: r.capability, state: r.state, tier: r.tier, depth: r.depth }]),
      ),
      children: Number(counts.rows[0]?.children ?? 0),
      treeSize: Number(counts.rows[0]?.tree ?? 0),
    };
  }

  /**
   * Median run time of recent successful attempts per capability (the plan's estimates), from the
   * tenant's last 5,000 tasks (bounded: never a scan of the whole table).
   */
  async capabilityDurations(tenantId: string, capabilities: string[]): Promise<Map<string, number>> {
    if (capabilities.length === 0) return new Map();
    const { rows } = await this.pool.query<{ capability: string; ms: number }>(
      `SELECT capability, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms FROM (
         SELECT capability, (extract(epoch from finished_at - started_at) * 1000)::float8 AS ms
         FROM (SELECT capability, state, started_at, finished_at FROM coordinator.tasks WHERE tenant_id = $1
               ORDER BY created_at DESC LIMIT 5000) recent
         WHERE state = 'succeeded' AND started_at IS NOT NULL AND finished_at IS NOT NULL AND capability = ANY($2::text[])
       ) s GROUP BY capability`,
      [tenantId, capabilities],
    );
    return new Map(rows.map((r) => [r.capability, Number(r.ms)]));
  }

  // ── templates ────────────────────────────────────────────────────────────

  async upsertTemplate(tenantId: string, t: RegisterTemplateDto, actor: string | null): Promise<StoredTemplate> {
    const { rows } = await this.pool.query<{ version: number; created_at: number; updated_at: number }>(
      `INSERT INTO coordinator.workflow_templates (tenant_id, name, version, description, params, defaults, workflow, created_by)
       VALUES ($1, $2, 1, $3, $4, $5, $6, $7)
       ON CONFLICT (tenant_id, name) DO UPDATE SET version = coordinator.workflow_templates.version + 1,
         description = EXCLUDED.description, params = EXCLUDED.params, defaults = EXCLUDED.defaults, workflow = EXCLUDED.workflow,
         updated_at = now()
       RETURNING version, (extract(epoch from created_at) * 1000)::float8 AS created_at, (extract(epoch from updated_at) * 1000)::float8 AS updated_at`,
      [
        tenantId,
        t.name,
        t.description ?? null,
        JSON.stringify(t.params ?? []),
        JSON.stringify(t.defaults ?? {}),
        JSON.stringify(t.workflow),
        actor,
      ],
    );
    const r = rows[0]!;
    return { template: t, version: r.version, createdAt: r.created_at, updatedAt: r.updated_at };
  }

  async getTemplate(tenantId: string, name: string): Promise<StoredTemplate | null> {
    const { rows } = await this.pool.query<TemplateRow>(
      `SELECT ${TEMPLATE_COLUMNS} FROM coordinator.workflow_templates WHERE tenant_id = $1 AND name = $2`,
      [tenantId, name],
    );
    return rows[0] ? template(rows[0]) : null;
  }

  async listTemplates(tenantId: string): Promise<StoredTemplate[]> {
    const { rows } = await this.pool.query<TemplateRow>(
      `SELECT ${TEMPLATE_COLUMNS} FROM coordinator.workflow_templates WHERE tenant_id = $1 ORDER BY name`,
      [tenantId],
    );
    return rows.map(template);
  }
}

const TEMPLATE_COLUMNS = `name, version, description, params, defaults, workflow, (extract(epoch from created_at) * 1000)::float8 AS created_at,
  (extract(epoch from updated_at) * 1000)::float8 AS updated_at`;

interface TemplateRow {
  name: string;
  version: number;
  description: string | null;
  params: RegisterTemplateDto['params'];
  defaults: Record<string, unknown>;
  workflow: RegisterTemplateDto['workflow'];
  created_at: number;
  updated_at: number;
}

function template(r: TemplateRow): StoredTemplate {
  return {
    template: {
      name: r.name,
      ...(r.description !== null ? { description: r.description } : {}),
      params: r.params ?? [],
      defaults: r.defaults ?? {},
      workflow: r.workflow,
    },
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
