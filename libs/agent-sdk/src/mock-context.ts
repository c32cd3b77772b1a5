import { randomUUID } from 'node:crypto';
import type { AttemptResultDto, Priority, TaskErrorDto } from '@swarm-mesh/contracts';
import { type Logger, silentLogger } from '@swarm-mesh/telemetry';
import {
  type AbortReason,
  AttemptAbortedError,
  type AwaitChildrenOptions,
  feedbackOf,
  isJsonObject,
  mergeUsage,
  type SubtaskHandle,
  type SubtaskOutcome,
  type SubtaskSpec,
  type TaskContext,
  type TaskHandler,
  type TaskUsage,
} from './context';
import { ChildTaskFailedError } from './errors';
import { settleAttempt } from './outcome';

/** Fields of a mock context; everything has a default. */
export interface MockTaskInit<I extends object> {
  input?: I;
  capability?: string;
  taskId?: string;
  tenantId?: string;
  agentId?: string;
  priority?: Priority;
  /** Default 1. */
  attempt?: number;
  /** Default 4. */
  maxAttempts?: number;
  epoch?: number;
  previousErrors?: TaskErrorDto[];
  checkpointData?: Record<string, unknown>;
  deadline?: Date;
  /** The pool the attempt was admitted on (ctx.pool). Default none. */
  pool?: string;
  logger?: Logger;
  /** Called for every `ctx.checkpoint()`; throw to simulate a refusal. Default: accept. */
  onCheckpoint?: (state: Record<string, unknown>) => void | Promise<void>;
  /** How each spawned child ends (awaitChildren / handle.result()). Default: succeeded with `{}`. */
  onChild?: (spec: SubtaskSpec, index: number) => Pick<SubtaskOutcome, 'state'> & Partial<Pick<SubtaskOutcome, 'result' | 'error'>>;
}

/** A context for unit-testing handlers without NATS, plus what the handler did with it. */
export interface MockTaskContext<I extends object> {
  ctx: TaskContext<I>;
  /** `ctx.progress()` calls, in order. */
  progress: Array<{ percent?: number; message?: string }>;
  /** States saved with `ctx.checkpoint()`. */
  checkpoints: Record<string, unknown>[];
  /** Sum of `ctx.reportUsage()` calls. */
  usage: TaskUsage;
  heartbeats: number;
  /** Subtasks spawned with `ctx.spawn()`, in order. */
  spawned: SubtaskSpec[];
  /** Fires the context's AbortSignal (default reason `cancelled`). */
  abort(reason?: AbortReason): void;
  abortReason(): AbortReason | undefined;
}

/** Builds a `TaskContext` for handler unit tests (the `MockActivityEnvironment` of this SDK). */
export function mockTaskContext<I extends object = Record<string, unknown>>(init: MockTaskInit<I> = {}): MockTaskContext<I> {
  const controller = new AbortController();
  let reason: AbortReason | undefined;
  let checkpointData = init.checkpointData;
  const progress: Array<{ percent?: number; message?: string }> = [];
  const checkpoints: Record<string, unknown>[] = [];
  const usage: TaskUsage = {};
  const spawned: SubtaskSpec[] = [];
  const outcomes = new Map<string, SubtaskOutcome>();
  const handles: SubtaskHandle[] = [];
  const spawn = (specs: SubtaskSpec[]): SubtaskHandle[] => {
    const made = specs.map((spec): SubtaskHandle => {
      const index = spawned.length;
      spawned.push(spec);
      const id = randomUUID();
      const key = spec.key ?? `s0.${index}`;
      const end = init.onChild?.(spec, index) ?? { state: 'succeeded' as const, result: {} };
      const outcome: SubtaskOutcome = {
        id,
        key,
        capability: spec.capability,
        state: end.state,
        result: end.result ?? null,
        error: end.error ?? null,
      };
      outcomes.set(id, outcome);
      return {
        id,
        key,
        capability: spec.capability,
        tier: spec.tier ?? 'master',
        depth: 1,
        existing: false,
        result: () =>
          outcome.state === 'succeeded' ? Promise.resolve(outcome.result ?? {}) : Promise.reject(new ChildTaskFailedError(outcome)),
      };
    });
    handles.push(...made);
    return made;
  };
  const awaitChildren = (children?: ReadonlyArray<SubtaskHandle | string>, options: AwaitChildrenOptions = {}): SubtaskOutcome[] => {
    const ids = (children ?? handles).map((c) => (typeof c === 'string' ? c : c.id));
    const all = ids.map((id) => outcomes.get(id)).filter((o): o is SubtaskOutcome => o !== undefined);
    return options.mode === 'any' ? all.slice(0, 1) : all;
  };
  const out: MockTaskContext<I> = {
    progress,
    checkpoints,
    usage,
    spawned,
    heartbeats: 0,
    abort(r: AbortReason = 'cancelled') {
      if (controller.signal.aborted) return;
      reason = r;
      controller.abort(new AttemptAbortedError(r));
    },
    abortReason: () => reason,
    ctx: {
      agentId: init.agentId ?? 'mock-agent',
      taskId: init.taskId ?? randomUUID(),
      tenantId: init.tenantId ?? 'default',
      capability: init.capability ?? 'mock.task',
      priority: init.priority ?? 'MEDIUM',
      input: init.input ?? ({} as I),
      attempt: init.attempt ?? 1,
      maxAttempts: init.maxAttempts ?? 4,
      epoch: init.epoch ?? 1,
      previousErrors: init.previousErrors ?? [],
      get checkpointData() {
        return checkpointData;
      },
      signal: controller.signal,
      traceId: undefined,
      deadline: init.deadline,
      timeoutAt: undefined,
      pool: init.pool,
      logger: init.logger ?? silentLogger,
      progress(percent?: number, message?: string) {
        if (percent !== undefined && (!Number.isFinite(percent) || percent < 0 || percent > 1)) {
          throw new RangeError(`progress percent must be a fraction between 0 and 1 (got ${String(percent)})`);
        }
        progress.push({ ...(percent !== undefined ? { percent } : {}), ...(message !== undefined ? { message } : {}) });
      },
      heartbeat() {
        out.heartbeats++;
      },
      async checkpoint(state: Record<string, unknown>) {
        if (!isJsonObject(state)) throw new TypeError('checkpoint state must be a JSON object');
        if (controller.signal.aborted) throw controller.signal.reason;
        await init.onCheckpoint?.(state);
        checkpoints.push(state);
        checkpointData = state;
      },
      reportUsage(u: TaskUsage) {
        mergeUsage(usage, u);
      },
      get feedback() {
        return feedbackOf(init.previousErrors ?? []);
      },
      spawn: ((arg: SubtaskSpec[] | { tasks: SubtaskSpec[]; waitFor: 'all' | 'any' }) => {
        if (controller.signal.aborted) return Promise.reject(controller.signal.reason as Error);
        if (Array.isArray(arg)) return Promise.resolve(spawn(arg));
        return Promise.resolve(awaitChildren(spawn(arg.tasks), { mode: arg.waitFor }));
      }) as TaskContext['spawn'],
      awaitChildren: (children, options) => Promise.resolve(awaitChildren(children, options)),
    },
  };
  return out;
}

/**
 * Runs a handler against a mock context and returns the `AttemptResultDto` the agent would
 * report (same outcome rules), with the mock for further assertions.
 */
export async function runMockTask<I extends object, O extends object>(
  handler: TaskHandler<I, O>,
  init: MockTaskInit<I> = {},
  during?: (mock: MockTaskContext<I>) => void,
): Promise<{ result: AttemptResultDto; mock: MockTaskContext<I> }> {
  const mock = mockTaskContext(init);
  const startedAt = new Date().toISOString();
  let threw = false;
  let value: unknown;
  let error: unknown;
  // an async wrapper runs the handler synchronously up to its first await and turns a throw into a rejection
  const pending = (async () => handler(mock.ctx))();
  try {
    during?.(mock);
    value = await pending;
  } catch (err) {
    threw = true;
    error = err;
  }
  const result = settleAttempt(
    {
      taskId: mock.ctx.taskId,
      attempt: mock.ctx.attempt,
      epoch: mock.ctx.epoch,
      capability: mock.ctx.capability,
      startedAt,
      usage: mock.usage,
    },
    { threw, value, error, abortReason: mock.abortReason() },
    mock.ctx.agentId,
  );
  return { result, mock };
}
