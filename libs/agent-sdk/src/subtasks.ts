import { AgentProtocol, type AwaitMode, type ChildOutcomeDto, type SpawnedTaskDto, SwarmError } from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import type { AwaitChildrenOptions, SubtaskHandle, SubtaskOutcome, SubtaskSpec } from './context';
import { ChildTaskFailedError, TaskError } from './errors';

/** How long one long poll for children may be held by the coordinator. */
const POLL_MS = 20_000;
/** Retries of a spawn or poll the mesh refused before applying it (coordinator restarting, Postgres down). */
const MAX_TRANSIENT_DELAY_MS = 2_000;

const DONE = new Set(['succeeded', 'failed', 'cancelled', 'dead_lettered', 'timed_out']);

/** What an attempt's subtask calls need from the agent. */
export interface SubtaskChannel {
  readonly agentId: string;
  bus(): MeshBus | undefined;
  /** The coordinator says the attempt was superseded: abort it. */
  superseded(): void;
}

function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return abortable(
    new Promise<void>((r) => {
      setTimeout(r, ms).unref?.();
    }),
    signal,
  );
}

function transient(err: unknown): boolean {
  if (err instanceof SwarmError) return err.retryable;
  return false;
}

function outcomeOf(c: ChildOutcomeDto): SubtaskOutcome {
  return { id: c.id, key: c.key ?? null, capability: c.capability, state: c.state, result: c.result ?? null, error: c.error ?? null };
}

/**
 * The subtasks of one attempt: `ctx.spawn()` and `ctx.awaitChildren()`. Spawns are idempotent by
 * key (the coordinator returns the existing child for a key it knows), so transient failures are
 * retried; waits are long polls answered when children end.
 */
export class AttemptSubtasks {
  private calls = 0;
  /** Every child this attempt spawned (or got back), in order. */
  readonly children: SubtaskHandle[] = [];

  constructor(
    private readonly ch: SubtaskChannel,
    private readonly taskId: string,
    private readonly epoch: number,
    private readonly signal: AbortSignal,
  ) {}

  private async call<T>(fn: (bus: MeshBus) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      if (this.signal.aborted) throw this.signal.reason as Error;
      const bus = this.ch.bus();
      if (!bus) throw new Error('agent not connected');
      try {
        return await abortable(fn(bus), this.signal);
      } catch (err) {
        if (this.signal.aborted) throw this.signal.reason as Error;
        if (err instanceof SwarmError && err.code === 'STALE_LEASE') {
          this.ch.superseded();
          throw err;
        }
        if (!transient(err)) throw err;
        await sleep(Math.min(50 * 2 ** Math.min(attempt, 10), MAX_TRANSIENT_DELAY_MS), this.signal);
      }
    }
  }

  async spawn(specs: SubtaskSpec[]): Promise<SubtaskHandle[]> {
    if (!Array.isArray(specs) || specs.length === 0) throw new TypeError('spawn expects a non-empty array of tasks');
    const call = this.calls++;
    const tasks = specs.map((s, i) => ({ ...s, key: s.key ?? `s${call}.${i}` }));
    const reply = await this.call((bus) =>
      bus.request(AgentProtocol.spawn, { taskId: this.taskId, epoch: this.epoch, tasks }, { params: [this.ch.agentId] }),
    );
    const handles = reply.children.map((c) => this.handle(c));
    this.children.push(...handles);
    return handles;
  }

  private handle(c: SpawnedTaskDto): SubtaskHandle {
    const awaitOne = (id: string): Promise<SubtaskOutcome[]> => this.awaitChildren([id]);
    return {
      id: c.id,
      key: c.key,
      capability: c.capability,
      tier: c.tier,
      depth: c.depth,
      existing: c.existing,
      async result(): Promise<Record<string, unknown>> {
        const [o] = await awaitOne(c.id);
        if (o && o.state === 'succeeded') return o.result ?? {};
        throw new ChildTaskFailedError(o ?? { id: c.id, key: c.key, capability: c.capability, state: 'unknown', error: null });
      },
    };
  }

  async awaitChildren(children?: ReadonlyArray<SubtaskHandle | string>, options: AwaitChildrenOptions = {}): Promise<SubtaskOutcome[]> {
    const ids = [...new Set((children ?? this.children).map((c) => (typeof c === 'string' ? c : c.id)))];
    if (ids.length === 0) return [];
    const mode: AwaitMode = options.mode ?? 'all';
    const deadline = options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
    const ended = new Map<string, SubtaskOutcome>();
    for (;;) {
      const need = ids.filter((id) => !ended.has(id));
      const remaining = deadline - Date.now();
      const waitMs = Math.max(0, Math.min(POLL_MS, remaining));
      const reply = await this.call((bus) =>
        bus.request(
          AgentProtocol.children,
          { taskId: this.taskId, epoch: this.epoch, childIds: need, mode, waitMs: Math.floor(waitMs) },
          { params: [this.ch.agentId], timeoutMs: waitMs + 15_000 },
        ),
      );
      let omitted = false;
      for (const c of reply.children) {
        if (!DONE.has(c.state)) continue;
        if (c.resultOmitted) omitted = true;
        else ended.set(c.id, outcomeOf(c));
      }
      if (mode === 'any' && ended.size > 0) return ids.filter((id) => ended.has(id)).map((id) => ended.get(id)!);
      if (ended.size === ids.length) return ids.map((id) => ended.get(id)!);
      if (!omitted && Date.now() >= deadline)
        throw new TaskError(`subtasks did not end within ${options.timeoutMs} ms (${ended.size}/${ids.length} ended)`, {
          code: 'CHILDREN_TIMEOUT',
          details: { ended: ended.size, total: ids.length },
        });
    }
  }
}
