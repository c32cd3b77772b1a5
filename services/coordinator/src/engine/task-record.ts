import {
  type AttemptOutcome,
  PRIORITIES,
  type Priority,
  type RoutingStrategy,
  type SubmittedTaskDto,
  type TaskApprovalDto,
  type TaskDto,
  type TaskErrorDto,
  type TaskState,
  type TaskTier,
  TERMINAL_TASK_STATES,
  type ApprovalKind,
  type ApprovalStatus,
} from '@swarm-mesh/contracts';
import type { ValidationReport, ValidationSpec } from '../validation/output-validator';
import { traceIdOf } from '@swarm-mesh/telemetry';

/** One attempt as stored in `tasks.attempts` (jsonb). Times are epoch milliseconds. */
export interface AttemptEntry {
  attempt: number;
  epoch: number;
  agentId: string | null;
  dispatchedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  outcome: AttemptOutcome | null;
  error: TaskErrorDto | null;
  /** Resources the attempt reported using. */
  usage?: Record<string, unknown>;
  /** Time the task waited for a resource grant before this attempt (ms). */
  admissionWaitMs?: number;
  /** The pool whose capacity admitted the attempt, when one did. */
  pool?: string;
}

/** Task options fixed at submit (plus the replay marker). Stored in `tasks.options` (jsonb). */
export interface TaskOptions {
  maxAttempts: number;
  backoffMs: number[];
  jitter: number;
  scheduleToStartMs?: number;
  startToCloseMs?: number;
  heartbeatMs?: number;
  progressMs?: number;
  routing?: { strategy?: RoutingStrategy; affinityKey?: string; agentId?: string };
  resources?: Record<string, unknown>;
  /** Output checks (normalised at submit). */
  validation?: ValidationSpec;
  /** A human approval gate after success. */
  approval?: { required: boolean; approvers?: string[] };
  /** Attempts up to this number do not count against maxAttempts (set by a dead-letter replay). */
  budgetFromAttempt?: number;
}

/** Progress last reported by the running attempt. */
export interface ProgressEntry {
  percent?: number;
  message?: string;
  at: number;
}

/**
 * The coordinator's working copy of a task. Persisted fields mirror `coordinator.tasks`; the
 * `rt` part is memory only (rebuilt after a restart).
 */
export interface TaskRecord {
  id: string;
  tenantId: string;
  capability: string;
  priority: number;
  state: TaskState;
  input: Record<string, unknown>;
  options: TaskOptions;
  idempotencyKey: string | null;
  attempt: number;
  epoch: number;
  agentId: string | null;
  attempts: AttemptEntry[];
  result: Record<string, unknown> | null;
  error: TaskErrorDto | null;
  checkpoint: Record<string, unknown> | null;
  progress: ProgressEntry | null;
  traceparent: string | null;
  labels: Record<string, string>;
  deadline: number | null;
  createdAt: number;
  updatedAt: number;
  queuedAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  nextAttemptAt: number | null;
  rt: TaskRuntime;
  /** Place in a workflow or a subtask tree; undefined for a plain task (the hot path). */
  link?: TaskLink;
  /** The human decision on the task (approval gate or review), mirrored from `approvals`. */
  review?: ReviewEntry;
  /** The last validation report of the task (memory only; terminal events carry it). */
  lastValidation?: ValidationReport;
}

/** Where a linked task sits. Written once at insert (columns of `tasks`). */
export interface TaskLink {
  workflowId: string | null;
  nodeKey: string | null;
  parentTaskId: string | null;
  rootTaskId: string | null;
  tier: TaskTier;
  depth: number;
  spawnKey: string | null;
}

/** A row of `approvals`. Times are epoch milliseconds. */
export interface ReviewEntry {
  kind: ApprovalKind;
  status: ApprovalStatus;
  approvers: string[] | null;
  requestedAt: number;
  decidedBy: string | null;
  decidedByName: string | null;
  decidedAt: number | null;
  comment: string | null;
}

/** Memory-only bookkeeping. */
export interface TaskRuntime {
  /** Invalidates stale queue entries (lazy deletion). */
  queueToken: number;
  /** Last heartbeat (or start) of the running attempt. */
  lastBeatAt: number;
  /** Last progressSeq seen and when it changed. */
  progressSeq: number;
  progressChangedAt: number;
  /** The agent acknowledged holding the attempt (started report or listed in a heartbeat). */
  held: boolean;
  /** First time admission refused the task while an agent was free (waiting for resources). */
  admissionBlockedAt: number | null;
  /** A `task.sla_missed` event was emitted for the current deadline. */
  slaMissed: boolean;
}

export function newRuntime(now: number): TaskRuntime {
  return {
    queueToken: 0,
    lastBeatAt: now,
    progressSeq: 0,
    progressChangedAt: now,
    held: false,
    admissionBlockedAt: null,
    slaMissed: false,
  };
}

export function isTerminal(state: TaskState): boolean {
  return TERMINAL_TASK_STATES.includes(state);
}

export function priorityName(rank: number): Priority {
  return PRIORITIES[Math.max(0, Math.min(3, rank))]!;
}

/** Failed or timed-out attempts that count against maxAttempts. */
export function countedFailures(t: TaskRecord): number {
  const from = t.options.budgetFromAttempt ?? 0;
  let n = 0;
  for (const a of t.attempts) if (a.attempt > from && (a.outcome === 'failed' || a.outcome === 'timed_out')) n++;
  return n;
}

/** Attempts lost to dead agents (poison-pill guard). */
export function lostAttempts(t: TaskRecord): number {
  const from = t.options.budgetFromAttempt ?? 0;
  let n = 0;
  for (const a of t.attempts) if (a.attempt > from && a.outcome === 'lost') n++;
  return n;
}

export function currentAttempt(t: TaskRecord): AttemptEntry | undefined {
  const last = t.attempts[t.attempts.length - 1];
  return last && last.epoch === t.epoch ? last : undefined;
}

/** The compact per-task answer of a batch submit. */
export function toSubmittedTaskDto(t: TaskRecord): SubmittedTaskDto {
  return {
    id: t.id,
    state: t.state,
    capability: t.capability,
    priority: priorityName(t.priority),
    idempotencyKey: t.idempotencyKey,
    traceId: traceIdOf(t.traceparent) ?? null,
    createdAt: new Date(t.createdAt).toISOString(),
  };
}

/** Errors kept on attempts are capped so a task's history always fits a reply. */
export function capError(e: TaskErrorDto): TaskErrorDto {
  const out: TaskErrorDto = { ...e, message: e.message.length > 2000 ? `${e.message.slice(0, 2000)}…` : e.message };
  if (out.details !== undefined && Buffer.byteLength(JSON.stringify(out.details)) > 4096) {
    out.details = { truncated: true };
  }
  return out;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** Builds the outgoing DTO with listed fields (records never leave the service). */
export function toTaskDto(t: TaskRecord): TaskDto {
  const o = t.options;
  return {
    id: t.id,
    tenantId: t.tenantId,
    capability: t.capability,
    state: t.state,
    priority: priorityName(t.priority),
    input: t.input,
    result: t.result,
    error: t.error,
    attempts: t.attempts.map((a) => ({
      attempt: a.attempt,
      epoch: a.epoch,
      agentId: a.agentId,
      dispatchedAt: new Date(a.dispatchedAt).toISOString(),
      startedAt: iso(a.startedAt),
      finishedAt: iso(a.finishedAt),
      outcome: a.outcome,
      error: a.error,
    })),
    attempt: t.attempt,
    // a replay's fresh budget counts from the attempts made before it
    maxAttempts: (o.budgetFromAttempt ?? 0) + o.maxAttempts,
    idempotencyKey: t.idempotencyKey,
    agentId: t.agentId,
    traceId: traceIdOf(t.traceparent) ?? null,
    progress: t.progress
      ? {
          ...(t.progress.percent !== undefined ? { percent: t.progress.percent } : {}),
          ...(t.progress.message !== undefined ? { message: t.progress.message } : {}),
          at: new Date(t.progress.at).toISOString(),
        }
      : null,
    labels: t.labels,
    deadline: iso(t.deadline),
    retry: { maxAttempts: o.maxAttempts, backoffMs: o.backoffMs, jitter: o.jitter },
    timeouts: {
      ...(o.scheduleToStartMs !== undefined ? { scheduleToStartMs: o.scheduleToStartMs } : {}),
      ...(o.startToCloseMs !== undefined ? { startToCloseMs: o.startToCloseMs } : {}),
      ...(o.heartbeatMs !== undefined ? { heartbeatMs: o.heartbeatMs } : {}),
      ...(o.progressMs !== undefined ? { progressMs: o.progressMs } : {}),
    },
    ...(o.routing ? { routing: o.routing } : {}),
    ...(o.resources ? { resources: o.resources } : {}),
    ...(o.validation ? { validation: publicValidation(o.validation) } : {}),
    ...(t.review ? { approval: toApprovalDto(t.review) } : o.approval?.required ? { approval: null } : {}),
    ...(t.link
      ? {
          workflowId: t.link.workflowId,
          nodeKey: t.link.nodeKey,
          parentTaskId: t.link.parentTaskId,
          rootTaskId: t.link.rootTaskId,
          tier: t.link.tier,
          depth: t.link.depth,
        }
      : {}),
    createdAt: new Date(t.createdAt).toISOString(),
    updatedAt: new Date(t.updatedAt).toISOString(),
    queuedAt: iso(t.queuedAt),
    startedAt: iso(t.startedAt),
    finishedAt: iso(t.finishedAt),
    nextAttemptAt: iso(t.nextAttemptAt),
  };
}

/** The stored checks as the API shows them (the spec as normalised at submit). */
function publicValidation(v: ValidationSpec): NonNullable<TaskDto['validation']> {
  return {
    ...(v.jsonSchema !== undefined ? { jsonSchema: v.jsonSchema } : {}),
    ...(v.requiredFields ? { requiredFields: v.requiredFields } : {}),
    ...(v.nonEmpty ? { nonEmpty: v.nonEmpty } : {}),
    ...(v.minSize !== undefined ? { minSize: v.minSize } : {}),
    forbiddenPatterns: v.forbiddenPatterns,
    onFailure: v.onFailure,
    maxValidationRetries: v.maxValidationRetries,
  };
}

export function toApprovalDto(r: ReviewEntry): TaskApprovalDto {
  return {
    kind: r.kind,
    status: r.status,
    ...(r.approvers ? { approvers: r.approvers } : {}),
    requestedAt: new Date(r.requestedAt).toISOString(),
    decidedBy: r.decidedBy,
    decidedByName: r.decidedByName,
    decidedAt: iso(r.decidedAt),
    comment: r.comment,
  };
}

/** Tier one level below `tier` (a microtask's children are microtasks too). */
export function childTier(tier: TaskTier | undefined): TaskTier {
  switch (tier ?? 'orchestrator') {
    case 'orchestrator':
      return 'master';
    case 'master':
      return 'specialist';
    default:
      return 'microtask';
  }
}
