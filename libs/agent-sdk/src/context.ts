import type { AwaitMode, Ctor, Priority, SpawnTaskDto, TaskErrorDto, TaskState, TaskTier } from '@swarm-mesh/contracts';
import type { Logger } from '@swarm-mesh/telemetry';

/** Resources an attempt used; summed over `ctx.reportUsage()` calls and sent with the result. */
export interface TaskUsage {
  /** Input (prompt) tokens; integer ≥ 0. */
  tokensIn?: number;
  /** Output (completion) tokens; integer ≥ 0. */
  tokensOut?: number;
  /** Cost in US dollars; ≥ 0. */
  costUsd?: number;
  /** Provider name, e.g. `openai` (the last one reported wins). */
  provider?: string;
  /** Model name, e.g. `gpt-4o-mini` (the last one reported wins). */
  model?: string;
}

/** Why an attempt's AbortSignal fired (`signal.reason` is an `AttemptAbortedError` with this). */
export type AbortReason = 'cancelled' | 'timeout' | 'shutdown' | 'superseded';

/** The `reason` of an attempt's AbortSignal. */
export class AttemptAbortedError extends Error {
  constructor(readonly reason: AbortReason) {
    super(`attempt aborted: ${reason}`);
    this.name = 'AttemptAbortedError';
  }
}

/**
 * Why the previous attempt's result was refused by its validation checkpoint (the task's
 * `validation`): fix these and return again.
 */
export interface ValidationFeedback {
  /** The attempt whose result failed. */
  attempt: number | undefined;
  /** One line: how many checks failed and the first few. */
  message: string;
  /** Each failed check: `check` (jsonSchema, requiredFields, nonEmpty, minSize, forbiddenPatterns), `path`, `message`. */
  failures: Array<{ check: string; path: string; message: string }>;
}

/** A subtask to spawn: a task (capability, input, options…) plus an optional key and tier. */
export type SubtaskSpec = SpawnTaskDto;

/** Where a child ended (or stands, for `any` waits). */
export interface SubtaskOutcome {
  id: string;
  key: string | null;
  capability: string;
  state: TaskState;
  /** The child's result (when it succeeded). */
  result: Record<string, unknown> | null;
  error: TaskErrorDto | null;
}

/** A spawned child. */
export interface SubtaskHandle {
  readonly id: string;
  readonly key: string;
  readonly capability: string;
  readonly tier: TaskTier;
  readonly depth: number;
  /** Spawned by an earlier attempt of this task with the same key (not created again). */
  readonly existing: boolean;
  /** Waits for this child; resolves with its result, rejects with `ChildTaskFailedError` unless it succeeded. */
  result(): Promise<Record<string, unknown>>;
}

/** Options of `ctx.awaitChildren()`. */
export interface AwaitChildrenOptions {
  /** `all` (default): every child ended; `any`: the first one did. */
  mode?: AwaitMode;
  /** Give up after this long (TaskError `CHILDREN_TIMEOUT`). Default: wait as long as the attempt runs. */
  timeoutMs?: number;
}

/** What a handler receives for one attempt of a task. */
export interface TaskContext<I extends object = Record<string, unknown>> {
  readonly agentId: string;
  readonly taskId: string;
  readonly tenantId: string;
  readonly capability: string;
  readonly priority: Priority;
  /** The task input (validated against the handler's `input` class when one was given). */
  readonly input: I;
  /** This attempt's number, 1-based. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** Lease epoch fencing this attempt. */
  readonly epoch: number;
  /** Errors of earlier attempts, oldest first (empty on the first attempt). */
  readonly previousErrors: readonly TaskErrorDto[];
  /** The last checkpoint saved (by an earlier attempt, or this one), or undefined. */
  readonly checkpointData: Record<string, unknown> | undefined;
  /**
   * Fires on cancellation, start-to-close timeout, shutdown after the grace period, or when
   * the attempt is superseded. `signal.reason` is an `AttemptAbortedError`.
   */
  readonly signal: AbortSignal;
  /** Trace id of the task's trace (the `run <capability>` span), if tracing is on. */
  readonly traceId: string | undefined;
  /** The task's deadline (informational; the SDK does not enforce it). */
  readonly deadline: Date | undefined;
  /** When the SDK aborts this attempt for `startToCloseMs`, if the task has one. */
  readonly timeoutAt: Date | undefined;
  /**
   * The resource pool this attempt was admitted on (its name), when the capability is bound
   * to pools: call that pool's provider/model. Undefined when no pool manages the task.
   */
  readonly pool: string | undefined;
  /** Logger carrying taskId, attempt and capability. */
  readonly logger: Logger;
  /**
   * Reports progress: `percent` is a fraction 0..1, `message` ≤ 1000 characters (longer is
   * cut). Each call proves the attempt is moving (the coordinator's stuck detection).
   */
  progress(percent?: number, message?: string): void;
  /** Proves liveness; sends an early heartbeat only when the periodic one is overdue. */
  heartbeat(): void;
  /**
   * Saves a checkpoint (JSON object ≤ 256 KiB) and resolves once it is durable. A later
   * attempt receives it as `checkpointData`. Rejects with a `STALE_LEASE` SwarmError after
   * aborting this attempt when it has been superseded.
   */
  checkpoint(state: Record<string, unknown>): Promise<void>;
  /** Adds token use/cost to the attempt's `usage` (summed; provider/model: last wins). */
  reportUsage(usage: TaskUsage): void;
  /**
   * The validation failure of the previous attempt (from `previousErrors`, code
   * `VALIDATION_FAILED`), or undefined: what the checkpoint refused, to do better this time.
   */
  readonly feedback: ValidationFeedback | undefined;
  /**
   * Spawns subtasks (children of this task, one tier down unless they say otherwise) and
   * resolves once they are durable. Keys make it idempotent: a later attempt spawning the same
   * keys gets the existing children back (default keys `s<call>.<index>` are stable for a handler
   * that spawns the same way each time). With `{tasks, waitFor}` it also waits for them and
   * resolves with their outcomes. Rejects with `SUBTASK_LIMIT_EXCEEDED` past the depth, fan-out
   * or tree-size limits.
   */
  spawn(tasks: SubtaskSpec[]): Promise<SubtaskHandle[]>;
  spawn(request: { tasks: SubtaskSpec[]; waitFor: AwaitMode; timeoutMs?: number }): Promise<SubtaskOutcome[]>;
  /**
   * Waits for children (default: every child this attempt spawned or got back) and resolves with
   * their outcomes in order. The coordinator answers as soon as they end (long poll); the attempt
   * keeps heart-beating meanwhile and the wait counts as progress.
   */
  awaitChildren(children?: ReadonlyArray<SubtaskHandle | string>, options?: AwaitChildrenOptions): Promise<SubtaskOutcome[]>;
}

/** The last VALIDATION_FAILED error of earlier attempts, as feedback. */
export function feedbackOf(previousErrors: readonly TaskErrorDto[]): ValidationFeedback | undefined {
  for (let i = previousErrors.length - 1; i >= 0; i--) {
    const e = previousErrors[i]!;
    if (e.code !== 'VALIDATION_FAILED') continue;
    const raw = e.details?.failures;
    const failures = Array.isArray(raw)
      ? raw
          .filter((f): f is Record<string, unknown> => typeof f === 'object' && f !== null)
          .map((f) => ({ check: text(f.check), path: text(f.path), message: text(f.message) }))
      : [];
    return { attempt: e.attempt, message: e.message, failures };
  }
  return undefined;
}

/** A task handler: returns a JSON object (the result) or throws (see `TaskError`). */
export type TaskHandler<I extends object = Record<string, unknown>, O extends object = Record<string, unknown>> = (
  ctx: TaskContext<I>,
) => O | Promise<O>;

/** Options of `agent.handle()`. */
export interface HandlerOptions<I extends object> {
  /**
   * A class-validator DTO class the input must satisfy (unknown fields rejected). An invalid
   * input fails the attempt with `INVALID_INPUT` (not retryable) before the handler runs.
   */
  input?: Ctor<I>;
}

/** Adds `add` to `into` (integers summed, cost summed, names replaced); throws on invalid values. */
export function mergeUsage(into: TaskUsage, add: TaskUsage): void {
  if (typeof add !== 'object' || add === null) throw new TypeError('reportUsage expects an object');
  for (const k of ['tokensIn', 'tokensOut'] as const) {
    const v = add[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new TypeError(`usage.${k} must be an integer ≥ 0`);
    into[k] = (into[k] ?? 0) + v;
  }
  if (add.costUsd !== undefined) {
    if (typeof add.costUsd !== 'number' || !Number.isFinite(add.costUsd) || add.costUsd < 0) {
      throw new TypeError('usage.costUsd must be a number ≥ 0');
    }
    into.costUsd = (into.costUsd ?? 0) + add.costUsd;
  }
  for (const k of ['provider', 'model'] as const) {
    const v = add[k];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v.length < 1 || v.length > 200) throw new TypeError(`usage.${k} must be a string of 1–200 characters`);
    into[k] = v;
  }
}

/** True when `usage` carries at least one figure. */
export function hasUsage(usage: TaskUsage): boolean {
  return (
    usage.tokensIn !== undefined ||
    usage.tokensOut !== undefined ||
    usage.costUsd !== undefined ||
    usage.provider !== undefined ||
    usage.model !== undefined
  );
}

/**
 * True for a value that encodes to a JSON object: not null, not an array, and not a Date, Map,
 * Set, RegExp, Promise or binary buffer (those do not encode to an object of their fields).
 */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  if (v instanceof Date || v instanceof Map || v instanceof Set || v instanceof RegExp || v instanceof Promise) return false;
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return false;
  return typeof (v as { toJSON?: unknown }).toJSON !== 'function';
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
