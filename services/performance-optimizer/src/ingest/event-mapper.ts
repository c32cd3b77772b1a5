import type { MeshEventDto } from '@swarm-mesh/contracts';

/**
 * One finished attempt (or a task that ended before any attempt: attempt 0), as stored in
 * `performance.execution_samples`. Keys are the column names (`jsonb_to_recordset`).
 */
export interface SampleRow {
  task_id: string;
  attempt: number;
  tenant_id: string;
  capability: string;
  agent_id: string | null;
  /** The task's resource pool, else the provider the agent reported. */
  pool: string | null;
  provider: string | null;
  model: string | null;
  priority: number | null;
  queue_wait_ms: number | null;
  run_ms: number | null;
  total_ms: number | null;
  tokens_in: number | null;
  tokens_out: number | null;
  cost: number | null;
  /** succeeded | failed | timed_out | lost | preempted | cancelled | not_started */
  outcome: string;
  error_code: string | null;
  /** passed | failed (validation checkpoint), when the event says. */
  validation: string | null;
  deadline_at: string | null;
  workflow_id: string | null;
  /** The task's terminal state when this event ended the task, else null. */
  task_state: string | null;
  finished_at: string;
}

/** What the tracker remembers of a running attempt (events that end attempts do not all carry it). */
interface AttemptInfo {
  attempt: number;
  agentId: string | null;
  queueWaitMs: number | null;
  startedAt: number | null;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INT_MAX = 2_147_483_647;
const PRIORITY_RANK: Record<string, number> = { LOW: 0, MEDIUM: 1, HIGH: 2, CRITICAL: 3 };
/** Terminal events and the task state they report. */
const TERMINAL: Record<string, string> = {
  'task.succeeded': 'succeeded',
  'task.dead_lettered': 'dead_lettered',
  'task.cancelled': 'cancelled',
  'task.timed_out': 'timed_out',
  'task.failed': 'failed',
};
/** Events that end an attempt without ending the task, and the attempt's outcome. */
const REQUEUED: Record<string, string> = {
  'task.requeued': 'lost',
  'task.preempted_requeued': 'preempted',
  'task.cancelled_requeued': 'cancelled',
  // the attempt ran, its result failed validation and waits for a human decision
  'task.needs_review': 'failed',
};
const TIMEOUT_CODES = new Set(['START_TO_CLOSE_TIMEOUT', 'HEARTBEAT_TIMEOUT', 'STUCK']);

function int(v: unknown): number | null {
  if (typeof v !== 'number' || !Number.isFinite(v)) return null;
  const n = Math.round(v);
  return n >= 0 && n <= INT_MAX ? n : null;
}

function str(v: unknown, max = 200): string | null {
  return typeof v === 'string' && v.length > 0 ? v.slice(0, max) : null;
}

/** The last timestamp `iso` normalised: every event of one coordinator tick has the same `ts`. */
let lastIsoIn: string | undefined;
let lastIsoOut: string | null = null;

function iso(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  if (v === lastIsoIn) return lastIsoOut;
  const t = Date.parse(v);
  lastIsoIn = v;
  lastIsoOut = Number.isFinite(t) ? new Date(t).toISOString() : null;
  return lastIsoOut;
}

function obj(v: unknown): Record<string, unknown> | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

/**
 * Turns task events into samples. Cheap by design (the mesh runs thousands of tasks a second):
 * one switch on the type, a handful of field reads, no allocation for the events it skips.
 * It remembers running attempts (from `task.dispatched` / `task.running`) to fill what the
 * attempt-ending events leave out (the agent of a retried attempt, the run time of a
 * dead-lettered one); bounded to `maxTracked` attempts.
 */
export class EventMapper {
  private readonly running = new Map<string, AttemptInfo>();

  constructor(private readonly maxTracked = 200_000) {}

  get tracked(): number {
    return this.running.size;
  }

  /** The sample of an event, or null when the event does not end an attempt (or is unusable). */
  map(e: MeshEventDto): SampleRow | null {
    const type = e.type;
    const d = e.data;
    if (type === 'task.dispatched' || type === 'task.running') {
      this.track(type, e, d);
      return null;
    }
    const terminal = TERMINAL[type];
    const requeued = REQUEUED[type];
    if (terminal === undefined && requeued === undefined && type !== 'task.retry_scheduled') return null;

    const rawId = d.taskId;
    if (typeof rawId !== 'string' || !UUID_RE.test(rawId)) return null;
    const taskId = rawId.toLowerCase();
    const capability = str(d.capability, 128);
    const finishedAt = iso(e.ts);
    const attempt = int(d.attempt) ?? 0;
    if (!capability || !finishedAt) return null;
    const at = this.running.get(taskId);
    const known = at && at.attempt === attempt ? at : undefined;
    if (at && (terminal !== undefined || at.attempt <= attempt)) this.running.delete(taskId);

    const usage = obj(d.usage);
    const error = obj(d.error);
    const errorCode = error ? str(error.code) : null;
    let outcome: string;
    if (type === 'task.succeeded') outcome = 'succeeded';
    else if (type === 'task.retry_scheduled') outcome = d.outcome === 'timed_out' ? 'timed_out' : 'failed';
    else if (requeued !== undefined) outcome = requeued;
    else if (attempt === 0) outcome = 'not_started';
    else if (type === 'task.cancelled') outcome = 'cancelled';
    else if (type === 'task.dead_lettered')
      outcome =
        typeof d.reason === 'string' && d.reason.startsWith('lost')
          ? 'lost'
          : errorCode && TIMEOUT_CODES.has(errorCode)
            ? 'timed_out'
            : 'failed';
    else outcome = 'failed';

    let runMs = int(d.runMs);
    if (runMs === null && known?.startedAt != null && attempt > 0) {
      const ended = Date.parse(finishedAt);
      if (ended >= known.startedAt) runMs = ended - known.startedAt;
    }
    const provider = usage ? str(usage.provider) : null;
    const validation = obj(d.validation);
    const priority = typeof d.priority === 'number' ? d.priority : typeof d.priority === 'string' ? PRIORITY_RANK[d.priority] : undefined;
    return {
      task_id: taskId,
      attempt,
      tenant_id: e.tenantId,
      capability,
      agent_id: str(d.agentId, 128) ?? known?.agentId ?? null,
      pool: str(d.pool) ?? provider,
      provider,
      model: usage ? str(usage.model) : null,
      priority: priority !== undefined && priority >= 0 && priority <= 3 ? Math.round(priority) : null,
      queue_wait_ms: int(d.queueWaitMs) ?? known?.queueWaitMs ?? null,
      run_ms: runMs,
      total_ms: terminal !== undefined ? (int(d.totalMs) ?? totalFrom(d.createdAt, finishedAt)) : null,
      tokens_in: usage ? int(usage.tokensIn) : null,
      tokens_out: usage ? int(usage.tokensOut) : null,
      cost: usage && typeof usage.costUsd === 'number' && usage.costUsd >= 0 && usage.costUsd < 1e8 ? usage.costUsd : null,
      outcome,
      error_code: errorCode,
      validation:
        validation && typeof validation.passed === 'boolean'
          ? validation.passed
            ? 'passed'
            : 'failed'
          : errorCode === 'VALIDATION_FAILED'
            ? 'failed'
            : null,
      deadline_at: terminal !== undefined ? iso(d.deadline) : null,
      workflow_id: str(d.workflowId),
      task_state: terminal ?? null,
      finished_at: finishedAt,
    };
  }

  private track(type: string, e: MeshEventDto, d: Record<string, unknown>): void {
    const rawId = d.taskId;
    if (typeof rawId !== 'string') return;
    const taskId = rawId.toLowerCase();
    const attempt = int(d.attempt) ?? 0;
    if (type === 'task.dispatched') {
      if (this.running.size >= this.maxTracked) this.evict();
      this.running.set(taskId, {
        attempt,
        agentId: typeof d.agentId === 'string' ? d.agentId : null,
        queueWaitMs: int(d.queueWaitMs),
        startedAt: null,
      });
    } else {
      const at = this.running.get(taskId);
      if (at && at.attempt === attempt) at.startedAt = Date.parse(e.ts) || null;
    }
  }

  /** Forgets the oldest tenth (attempts whose end this replica never saw). */
  private evict(): void {
    let n = Math.ceil(this.maxTracked / 10);
    for (const k of this.running.keys()) {
      this.running.delete(k);
      if (--n <= 0) break;
    }
  }
}

function totalFrom(createdAt: unknown, finishedAt: string): number | null {
  const c = iso(createdAt);
  if (!c) return null;
  const ms = Date.parse(finishedAt) - Date.parse(c);
  return ms >= 0 && ms <= INT_MAX ? ms : null;
}
