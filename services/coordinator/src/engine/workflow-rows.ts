import type { ReviewEntry } from './task-record';

/** A `workflows` row as the tick statement reads it (times in epoch ms). */
export interface WorkflowRow {
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

/** An approval to upsert. */
export interface ApprovalRow {
  taskId: string;
  tenantId: string;
  workflowId: string | null;
  review: ReviewEntry;
}

const ts = (col: string): string => `to_timestamp(v.${col} / 1000.0)`;

const WORKFLOW_RECORD = `id uuid, tenant_id text, name text, state text, failure_policy text, priority smallint, spec jsonb, node_count int,
  template text, params jsonb, idempotency_key text, labels jsonb, error jsonb, summary jsonb, coverage float8, created_at float8,
  updated_at float8, finished_at float8`;

export const INSERT_WORKFLOWS = (p: string): string => `INSERT INTO coordinator.workflows (id, tenant_id, name, state, failure_policy,
    priority, spec, node_count, template, params, idempotency_key, labels, error, summary, coverage, created_at, updated_at, finished_at)
  SELECT v.id, v.tenant_id, v.name, v.state, v.failure_policy, v.priority, v.spec, v.node_count, v.template, v.params, v.idempotency_key,
    v.labels, v.error, v.summary, v.coverage, ${ts('created_at')}, ${ts('updated_at')}, ${ts('finished_at')}
  FROM jsonb_to_recordset(${p}) AS v(${WORKFLOW_RECORD})`;

export const UPDATE_WORKFLOWS = (p: string): string => `UPDATE coordinator.workflows w SET state = v.state, error = v.error,
    summary = v.summary, coverage = v.coverage, updated_at = ${ts('updated_at')}, finished_at = ${ts('finished_at')}
  FROM jsonb_to_recordset(${p}) AS v(${WORKFLOW_RECORD}) WHERE w.id = v.id`;

export const UPSERT_APPROVALS = (p: string): string => `INSERT INTO coordinator.approvals (task_id, tenant_id, workflow_id, kind, status,
    approvers, requested_at, decided_by, decided_by_name, decided_at, comment)
  SELECT v.task_id, v.tenant_id, v.workflow_id, v.kind, v.status, v.approvers, ${ts('requested_at')}, v.decided_by, v.decided_by_name,
    ${ts('decided_at')}, v.comment
  FROM jsonb_to_recordset(${p}) AS v(task_id uuid, tenant_id text, workflow_id uuid, kind text, status text, approvers jsonb,
    requested_at float8, decided_by text, decided_by_name text, decided_at float8, comment text)
  ON CONFLICT (task_id) DO UPDATE SET kind = EXCLUDED.kind, status = EXCLUDED.status, approvers = EXCLUDED.approvers,
    requested_at = EXCLUDED.requested_at, decided_by = EXCLUDED.decided_by, decided_by_name = EXCLUDED.decided_by_name,
    decided_at = EXCLUDED.decided_at, comment = EXCLUDED.comment`;

export function approvalRow(a: ApprovalRow): Record<string, unknown> {
  const r = a.review;
  return {
    task_id: a.taskId,
    tenant_id: a.tenantId,
    workflow_id: a.workflowId,
    kind: r.kind,
    status: r.status,
    approvers: r.approvers,
    requested_at: r.requestedAt,
    decided_by: r.decidedBy,
    decided_by_name: r.decidedByName,
    decided_at: r.decidedAt,
    comment: r.comment,
  };
}
