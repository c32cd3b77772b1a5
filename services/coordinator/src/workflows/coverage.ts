import type { GateStatus, RequirementStatus, TaskState, WorkflowNodeState } from '@swarm-mesh/contracts';
import type { RequirementSpec } from './graph';

/**
 * Where a node stands for the workflow: `done` = succeeded and (when it has an approval gate)
 * approved; `blocked` = waiting for a human (needs_review or awaiting_approval).
 */
export type NodeStatus = 'pending' | 'active' | 'needs_review' | 'awaiting_approval' | 'done' | 'failed' | 'cancelled' | 'rejected';

export function isEnded(s: NodeStatus): boolean {
  return s === 'done' || s === 'failed' || s === 'cancelled' || s === 'rejected';
}

export function isFailure(s: NodeStatus): boolean {
  return s === 'failed' || s === 'cancelled' || s === 'rejected';
}

/** The node status a task state and its approval give. */
export function nodeStatusOf(
  state: TaskState,
  approval: { kind: string; status: string } | null | undefined,
  approvalRequired: boolean,
): NodeStatus {
  switch (state) {
    case 'pending':
      return 'pending';
    case 'needs_review':
      return 'needs_review';
    case 'succeeded':
      if (approval?.status === 'rejected') return 'rejected';
      // its workflow ended while the gate waited: the gate never opens
      if (approval?.status === 'withdrawn') return 'cancelled';
      if (approvalRequired && approval?.status !== 'approved') return 'awaiting_approval';
      return 'done';
    case 'failed':
    case 'dead_lettered':
    case 'timed_out':
      return 'failed';
    case 'cancelled':
      return 'cancelled';
    default:
      return 'active';
  }
}

/** The public node state (task state, or the approval gate's). */
export function publicNodeState(status: NodeStatus, taskState: TaskState): WorkflowNodeState {
  if (status === 'awaiting_approval') return 'awaiting_approval';
  if (status === 'rejected') return 'rejected';
  if (status === 'cancelled') return 'cancelled'; // a succeeded task whose gate was withdrawn reads cancelled too
  return taskState;
}

export interface SourceStatus {
  node: string;
  field?: string;
  status: RequirementStatus;
  reason?: string;
}

export interface RequirementCoverage {
  id: string;
  description: string;
  status: RequirementStatus;
  satisfiedBy: SourceStatus[];
}

export interface Coverage {
  requirements: RequirementCoverage[];
  total: number;
  covered: number;
  failed: number;
  pending: number;
  coverage: number;
  minCoverage: number | null;
  gate: GateStatus;
}

/**
 * Requirement coverage. A source is covered when its node is done (and, with a `field`, the
 * field of its result is non-empty), failed when the node failed, was cancelled or rejected (or
 * the field came back empty), pending otherwise. A requirement is covered when all its sources
 * are, failed when one failed. The gate passes once coverage ≥ minCoverage and fails once it can
 * no longer get there; without requirements it passes when every node is done.
 */
export function computeCoverage(
  requirements: readonly RequirementSpec[],
  minCoverage: number | null,
  status: (node: string) => NodeStatus | undefined,
  fieldOk: (node: string, field: string) => boolean | undefined,
  allNodes: readonly NodeStatus[],
): Coverage {
  const reqs: RequirementCoverage[] = requirements.map((r) => {
    const sources: SourceStatus[] = r.satisfiedBy.map((s) => {
      const st = status(s.node);
      // a spec stored before null fields were normalised may hold field: null (= none)
      const field = typeof s.field === 'string' ? s.field : undefined;
      const base = { node: s.node, ...(field !== undefined ? { field } : {}) };
      if (st === undefined) return { ...base, status: 'failed', reason: 'no such node' };
      if (st === 'done') {
        if (field === undefined) return { ...base, status: 'covered' };
        const ok = fieldOk(s.node, field);
        if (ok === undefined) return { ...base, status: 'pending', reason: 'result not read yet' };
        return ok ? { ...base, status: 'covered' } : { ...base, status: 'failed', reason: `field ${field} of ${s.node}'s result is empty` };
      }
      if (isFailure(st)) return { ...base, status: 'failed', reason: `node ${s.node} ${st}` };
      return { ...base, status: 'pending', reason: `node ${s.node} is ${st.replace('_', ' ')}` };
    });
    const statusOf: RequirementStatus = sources.some((s) => s.status === 'failed')
      ? 'failed'
      : sources.every((s) => s.status === 'covered')
        ? 'covered'
        : 'pending';
    return { id: r.id, description: r.description, status: statusOf, satisfiedBy: sources };
  });
  const total = reqs.length;
  const covered = reqs.filter((r) => r.status === 'covered').length;
  const failed = reqs.filter((r) => r.status === 'failed').length;
  const pending = total - covered - failed;
  let gate: GateStatus;
  if (total === 0 || minCoverage === null) {
    if (allNodes.some(isFailure)) gate = 'failed';
    else if (allNodes.every((s) => s === 'done')) gate = 'passed';
    else gate = 'pending';
  } else if (covered / total >= minCoverage - 1e-9) gate = 'passed';
  else if ((total - failed) / total < minCoverage - 1e-9) gate = 'failed';
  else gate = 'pending';
  return { requirements: reqs, total, covered, failed, pending, coverage: total === 0 ? 1 : covered / total, minCoverage, gate };
}

/** Node counts of a workflow. */
export function progressOf(statuses: readonly NodeStatus[]): {
  total: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  active: number;
  pending: number;
  awaitingApproval: number;
  needsReview: number;
  percent: number;
} {
  const p = {
    total: statuses.length,
    succeeded: 0,
    failed: 0,
    cancelled: 0,
    active: 0,
    pending: 0,
    awaitingApproval: 0,
    needsReview: 0,
    percent: 0,
  };
  for (const s of statuses) {
    if (s === 'done') p.succeeded++;
    else if (s === 'failed' || s === 'rejected') p.failed++;
    else if (s === 'cancelled') p.cancelled++;
    else if (s === 'pending') p.pending++;
    else if (s === 'awaiting_approval') p.awaitingApproval++;
    else if (s === 'needs_review') p.needsReview++;
    else p.active++;
  }
  p.percent = p.total === 0 ? 1 : Math.round(((p.succeeded + p.failed + p.cancelled) / p.total) * 1000) / 1000;
  return p;
}
