import type { FailurePolicy, TaskErrorDto, TaskState, WorkflowState } from '@swarm-mesh/contracts';
import type { NodeStatus } from '../workflows/coverage';
import type { NodeSpec, WorkflowSpec } from '../workflows/graph';
import type { ReviewEntry } from './task-record';
import type { WorkflowRow } from './workflow-rows';

/** A node of an active workflow (memory). */
export interface WfNode {
  spec: NodeSpec;
  taskId: string;
  status: NodeStatus;
  taskState: TaskState;
  /** Keys of the nodes that depend on this one. */
  dependants: string[];
  /** The node's result, kept while a not-yet-released node's mapping still reads it. */
  result?: Record<string, unknown> | null;
  /** Unreleased nodes whose mapping reads this node's result. */
  readers: number;
  /** Requirement fields checked when the node succeeded: field → non-empty. */
  fields?: Map<string, boolean>;
  /** The task's last error (why a failed node failed). */
  error?: TaskErrorDto | null;
  /** The approval gate of a succeeded node (its task has left memory): withdrawn if the workflow ends first. */
  review?: ReviewEntry;
}

/** An active workflow (memory; rebuilt from Postgres at start). */
export interface WorkflowRecord {
  id: string;
  tenantId: string;
  name: string;
  state: WorkflowState;
  failurePolicy: FailurePolicy;
  priority: number;
  spec: WorkflowSpec;
  nodes: Map<string, WfNode>;
  /** Node keys in topological order (dependencies first). */
  order: string[];
  template: string | null;
  params: Record<string, unknown> | null;
  idempotencyKey: string | null;
  labels: Record<string, string>;
  error: { code: string; message: string; details?: Record<string, unknown> } | null;
  summary: Record<string, unknown> | null;
  coverage: number | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

export function workflowRow(w: WorkflowRecord): WorkflowRow {
  return {
    id: w.id,
    tenant_id: w.tenantId,
    name: w.name,
    state: w.state,
    failure_policy: w.failurePolicy,
    priority: w.priority,
    spec: w.spec,
    node_count: w.nodes.size,
    template: w.template,
    params: w.params,
    idempotency_key: w.idempotencyKey,
    labels: w.labels,
    error: w.error,
    summary: w.summary,
    coverage: w.coverage,
    created_at: w.createdAt,
    updated_at: w.updatedAt,
    finished_at: w.finishedAt,
  };
}

/** Requirement fields that read a node's result. */
export function requirementFields(spec: WorkflowSpec, node: string): string[] {
  const out = new Set<string>();
  for (const r of spec.requirements) for (const s of r.satisfiedBy) if (s.node === node && typeof s.field === 'string') out.add(s.field);
  return [...out];
}
