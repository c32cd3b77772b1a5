import { randomUUID } from 'node:crypto';
import {
  type AgentAction,
  type AgentDomain,
  AgentProtocol,
  type AgentRegisterReply,
  type AgentRegistration,
  type AgentHeartbeat,
  type AgentReportBatch,
  type AgentTier,
  type CheckpointRequest,
  DatabaseUnavailableError,
  DuplicateIdempotencyKeyError,
  EventMessages,
  InternalError,
  InvalidStateTransitionError,
  MAX_TASK_INPUT_BYTES,
  MAX_TASK_RESULT_BYTES,
  NotFoundError,
  PayloadTooLargeError,
  PRIORITY_RANK,
  type Priority,
  type ResultBatch,
  StaleLeaseError,
  STREAMS,
  type SubmitTaskDto,
  SwarmError,
  type TaskErrorDto,
  UnknownCapabilityError,
  ConflictError,
  type SpawnRequest,
  type SpawnedTaskDto,
  type SubmitWorkflowDto,
  type TaskDecisionRequest,
  type TaskState,
  type TaskTier,
  type MeshEventBatch,
  type MeshEventDto,
} from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import { fromTraceparent, type Logger, meshTracer, SpanKind, toTraceparent, trace } from '@swarm-mesh/telemetry';
import { type AdmissionGate, AlwaysAdmit } from '../admission/admission-gate';
import type { CoordinatorOptions } from '../config/coordinator-options';
import { NoTuning, type TaskTuning } from '../tuning/task-tuning';
import { type AgentRecord, agentState, dispatchable, freeSlots, type Liveness } from './agent-record';
import { backoffDelay } from './backoff';
import type { CoordinatorMetrics } from './coordinator.metrics';
import { InternalErrorGuard } from './internal-error-guard';
import { ReadyQueues } from './ready-queues';
import { pickAgent } from './routing';
import {
  type AttemptEntry,
  capError,
  countedFailures,
  currentAttempt,
  isTerminal,
  lostAttempts,
  newRuntime,
  childTier,
  type ReviewEntry,
  type TaskLink,
  type TaskRecord,
} from './task-record';
import type { DeadLetterRow, OutboxRow, TaskStore } from './task-store';
import { type PendingControl, Tick } from './tick';
import { TimerHeap, type TimerKind } from './timer-heap';
import { normalizeValidation, summarize, type ValidationReport, type ValidationSpec, validateResult } from '../validation/output-validator';
import { computeCoverage, isEnded, isFailure, nodeStatusOf, progressOf } from '../workflows/coverage';
import { topologicalOrder, type WorkflowSpec } from '../workflows/graph';
import { getPath, mapInputs, UnresolvedReferenceError } from '../workflows/mapping';
import { isNonEmpty } from '../validation/output-validator';
import { requirementFields, type WfNode, type WorkflowRecord, workflowRow } from './workflow-record';
import { type StoredWorkflow, WorkflowStore } from './workflow-store';

/** Consumer name holding one agent's dispatches. */
export function dispatchConsumerName(agentId: string): string {
  return `agent_${agentId}`;
}

type Resolver<T> = { resolve: (v: T) => void; reject: (e: unknown) => void };

type Op =
  | ({
      kind: 'submit';
      tenantId: string;
      tasks: SubmitTaskDto[];
      traceparent: string | undefined;
      /** One task submitted alone (POST /tasks): error paths name its fields, not `tasks.0.…`. */
      single: boolean;
    } & Resolver<TaskRecord[]>)
  | ({ kind: 'results'; batch: ResultBatch } & Resolver<void>)
  | ({ kind: 'reports'; batch: AgentReportBatch } & Resolver<void>)
  | ({ kind: 'cancel'; tenantId: string; taskId: string; reason: string | undefined } & Resolver<TaskRecord>)
  | ({ kind: 'priority'; tenantId: string; taskId: string; priority: Priority } & Resolver<TaskRecord>)
  | ({ kind: 'replay'; tenantId: string; deadLetterId: string; actor: string } & Resolver<TaskRecord>)
  | ({ kind: 'checkpoint'; agentId: string; req: CheckpointRequest } & Resolver<void>)
  | ({ kind: 'register'; reg: AgentRegistration } & Resolver<AgentRegisterReply>)
  | ({ kind: 'control'; tenantId: string; agentId: string; action: AgentAction } & Resolver<AgentRecord>)
  /** An attempt the agent no longer holds (retried), or — fatal — whose result cannot be applied (failed, INTERNAL or `code`, not retried). */
  | ({
      kind: 'lost';
      taskId: string;
      epoch: number;
      reason: string;
      fatal?: boolean;
      /** Fatal: the error code of the failed attempt (default INTERNAL). */
      code?: string;
      /** Only if the attempt is this agent's. */
      agentId?: string;
    } & Resolver<void>)
  | ({ kind: 'preempt'; taskId: string; reason: string } & Resolver<boolean>)
  | ({ kind: 'fail'; taskId: string; error: TaskErrorDto } & Resolver<boolean>)
  | ({
      kind: 'workflow';
      tenantId: string;
      dto: SubmitWorkflowDto;
      spec: WorkflowSpec;
      template: string | null;
      params: Record<string, unknown> | null;
      traceparent: string | undefined;
    } & Resolver<string>)
  | ({ kind: 'cancel_workflow'; tenantId: string; workflowId: string; reason: string | undefined } & Resolver<void>)
  | ({ kind: 'decide'; req: TaskDecisionRequest } & Resolver<TaskRecord>)
  | ({ kind: 'spawn'; agentId: string; req: SpawnRequest; traceparent: string | undefined } & Resolver<SpawnedTaskDto[]>);

/** States a task of a workflow or subtask tree can end a wait in. */
const CHILD_DONE_STATES = new Set<TaskState>(['succeeded', 'failed', 'cancelled', 'dead_lettered', 'timed_out']);

/** A recent failed attempt on an agent (kept in memory for the agent's error log). */
export interface AgentErrorEntry {
  taskId: string;
  capability: string;
  attempt: number;
  outcome: string;
  error: TaskErrorDto;
  at: number;
}

const ACTIVE_RUN_STATES = new Set(['dispatched', 'running']);
/** Shortest time between two rebuilds of the working set after internal errors (InternalErrorGuard). */
const INTERNAL_ERROR_RELOAD_INTERVAL_MS = 30_000;

/**
 * The coordinator's single writer. Every change (submits, results, reports, cancels, timers,
 * dispatch decisions) is applied to the in-memory working set during a *tick* and committed
 * to Postgres in ONE transaction; only then are callers answered, dispatches published and
 * events emitted. Ticks run back to back, so load turns into larger batches, not more round
 * trips. If a commit fails, the working set is rebuilt from Postgres (the truth).
 */
export class CoordinatorEngine {
  /** Active (non-terminal) tasks. */
  readonly tasks = new Map<string, TaskRecord>();
  readonly agents = new Map<string, AgentRecord>();
  readonly queues: ReadyQueues;
  private readonly capabilities = new Map<string, Set<string>>();
  private readonly timers = new TimerHeap();
  private readonly rr = new Map<string, { n: number }>();
  private readonly agentErrors = new Map<string, AgentErrorEntry[]>();
  /** Tasks with a transition not yet written: id → when it must be. */
  private readonly lazy = new Map<string, number>();
  private ops: Op[] = [];
  private ticking = false;
  private tickScheduled = false;
  private lastSweep = 0;
  private lastAgentFlush = 0;
  private sweepTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private reloading: Promise<void> | null = null;
  private idleWaiters: Array<() => void> = [];
  /** Unexpected exceptions inside ticks: logged, counted, the working set rebuilt (rate-limited). */
  private readonly guard: InternalErrorGuard;
  /** Running workflows (rebuilt from Postgres at start). */
  readonly workflows = new Map<string, WorkflowRecord>();
  /** Reads of workflows, templates, trees and subtasks. */
  readonly workflowStore: WorkflowStore;
  /** Workflows touched in this tick: settled (releases, failure policy, completion) before dispatch. */
  private readonly dirtyWorkflows = new Set<WorkflowRecord>();
  /** Non-terminal children of each parent task (subtask trees). */
  private readonly activeChildren = new Map<string, Set<string>>();
  /** Long-polls of parent attempts waiting for their children, woken when a child ends. */
  private readonly childWaiters = new Map<string, Set<() => void>>();
  /** Workflow idempotency keys taken by ticks not yet visible to the prefetch query. */
  private readonly takenWorkflowKeys = new Map<string, string>();

  constructor(
    private readonly store: TaskStore,
    private readonly bus: MeshBus,
    private readonly options: CoordinatorOptions,
    private readonly logger: Logger,
    private readonly metrics: CoordinatorMetrics,
    /** Publishes committed outbox rows (events); set by the outbox relay. */
    private readonly publishOutbox: (rows: OutboxRow[]) => void,
    /** Resource admission (the allocator's credits); default: admit everything. */
    private readonly admission: AdmissionGate = new AlwaysAdmit(),
    /** Learned timeouts from the performance optimizer; default: none. */
    private readonly tuning: TaskTuning = new NoTuning(),
  ) {
    this.queues = new ReadyQueues(options.agingStepMs, (id) => this.tasks.get(id));
    this.guard = new InternalErrorGuard(INTERNAL_ERROR_RELOAD_INTERVAL_MS, (phase, err) => {
      this.metrics.internalErrors.inc({ phase });
      this.logger.error('internal error in a tick; refused or skipped, the working set will be rebuilt from Postgres', { phase, err });
    });
    this.workflowStore = new WorkflowStore(store.pool);
    admission.onCapacity(() => this.schedule());
  }

  // ── lifecycle ────────────────────────────────────────────────────────────

  /** Loads the working set from Postgres and starts the sweep timer. */
  async start(): Promise<void> {
    await this.load();
    this.sweepTimer = setInterval(() => this.schedule(), this.options.sweepIntervalMs);
    this.sweepTimer.unref();
    this.schedule();
  }

  /** Stops ticking after the current tick; pending ops are rejected as retryable. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    // parents long-polling for their children answer now (their SDK asks the next coordinator)
    for (const parentId of [...this.childWaiters.keys()]) this.wakeChildWaiters(parentId);
    if (this.ticking) await new Promise<void>((r) => this.idleWaiters.push(r));
    const err = new SwarmError('SERVICE_UNAVAILABLE', 'coordinator is stopping');
    for (const op of this.ops.splice(0)) op.reject(err);
  }

  private async load(): Promise<void> {
    const now = Date.now();
    this.tasks.clear();
    this.timers.clear();
    this.capabilities.clear();
    this.takenKeys.clear();
    this.lazy.clear();
    this.workflows.clear();
    this.dirtyWorkflows.clear();
    this.activeChildren.clear();
    this.takenWorkflowKeys.clear();
    // a new epoch range: attempts published but never written before a crash stay fenced
    const epochFloor = (await this.store.nextGeneration()) * 2 ** 32;
    for (const c of await this.store.loadCapabilities()) this.knownCaps(c.tenantId).add(c.name);
    const agentRows = await this.store.loadAgents();
    const previous = new Map(this.agents);
    this.agents.clear();
    for (const r of agentRows) {
      const prev = previous.get(r.id);
      const stats = r.stats as Partial<{ succeeded: number; failed: number; consecutiveFailures: number; breaker: AgentRecord['breaker'] }>;
      const a: AgentRecord = {
        id: r.id,
        tenantId: r.tenantId,
        name: r.name,
        domain: r.domain as AgentDomain,
        tier: r.tier as AgentTier,
        capabilities: r.capabilities,
        concurrency: r.concurrency,
        instanceId: r.instanceId,
        version: r.version,
        metadata: r.metadata,
        registeredAt: r.registeredAt,
        // a restarted coordinator gives every known agent a full dead-after period to heartbeat
        lastHeartbeatAt: prev?.lastHeartbeatAt ?? (r.state === 'dead' ? r.lastHeartbeatAt : now),
        liveness: prev?.liveness ?? (r.state === 'dead' ? 'dead' : 'healthy'),
        agentDraining: prev?.agentDraining ?? false,
        operatorDrain: prev?.operatorDrain ?? r.state === 'draining',
        assigned: new Map(),
        heartbeatSeq: prev?.heartbeatSeq ?? 0,
        cpuPercent: prev?.cpuPercent ?? null,
        memoryRssBytes: prev?.memoryRssBytes ?? null,
        succeeded: prev?.succeeded ?? stats.succeeded ?? 0,
        failed: prev?.failed ?? stats.failed ?? 0,
        consecutiveFailures: prev?.consecutiveFailures ?? stats.consecutiveFailures ?? 0,
        breaker: prev?.breaker ??
          stats.breaker ?? {
            state: 'closed',
            openedAt: null,
            retryAt: null,
            cooldownMs: this.options.breakerCooldownMs,
            trialTaskId: null,
          },
        dirty: false,
        announcedState: r.state as AgentRecord['announcedState'],
      };
      a.breaker.trialTaskId = null;
      this.agents.set(a.id, a);
    }
    const active = await this.store.loadActive();
    for (const t of active) {
      t.rt = newRuntime(now);
      this.tasks.set(t.id, t);
      switch (t.state) {
        case 'queued':
          t.epoch = Math.max(t.epoch, epochFloor);
          this.queues.enqueue(t);
          this.armScheduleToStart(t);
          break;
        case 'retry_scheduled':
          t.epoch = Math.max(t.epoch, epochFloor);
          this.timers.push({ at: t.nextAttemptAt ?? now, taskId: t.id, kind: 'retry', epoch: t.epoch });
          break;
        case 'dispatched':
        case 'running': {
          const agent = t.agentId ? this.agents.get(t.agentId) : undefined;
          if (agent) agent.assigned.set(t.id, t.epoch);
          // whatever happened while we were down, the agent has a few heartbeats to show it holds
          // the attempt (a dispatch committed but never published is requeued after that)
          this.timers.push({
            at: now + Math.max(3 * this.options.heartbeatIntervalMs, 1000),
            taskId: t.id,
            kind: 'dispatch_ack',
            epoch: t.epoch,
          });
          this.armRunTimers(t, now);
          break;
        }
        default:
          break;
      }
    }
    for (const t of this.tasks.values()) if (t.link?.parentTaskId) this.childSet(t.link.parentTaskId).add(t.id);
    await this.loadWorkflows();
    this.logger.info('working set loaded', { tasks: this.tasks.size, agents: this.agents.size, workflows: this.workflows.size });
  }

  private knownCaps(tenantId: string): Set<string> {
    let s = this.capabilities.get(tenantId);
    if (!s) {
      s = new Set();
      this.capabilities.set(tenantId, s);
    }
    return s;
  }

  // ── public operations (each resolves after its effects are committed) ────

  /** Submits tasks all or nothing; `single`: one task submitted alone (its error paths have no `tasks.0.` prefix). */
  submit(tenantId: string, tasks: SubmitTaskDto[], single = false): Promise<TaskRecord[]> {
    const traceparent = toTraceparent();
    return this.enqueueOp<TaskRecord[]>((r) => ({ kind: 'submit', tenantId, tasks, traceparent, single, ...r }));
  }

  applyResults(batch: ResultBatch): Promise<void> {
    return this.enqueueOp<void>((r) => ({ kind: 'results', batch, ...r }));
  }

  /**
   * Gives up on a results message the engine keeps refusing with INTERNAL (a bug applying it):
   * every attempt it reports that is still current ends failed with code INTERNAL, not retried,
   * so the message can be dropped instead of coming back forever.
   */
  abandonResults(batch: ResultBatch, reason: string): Promise<void> {
    return Promise.all(
      batch.results.map((r) =>
        this.enqueueOp<void>((res) => ({ kind: 'lost', taskId: r.taskId, epoch: r.epoch, reason, fatal: true, ...res })),
      ),
    ).then(() => undefined);
  }

  /**
   * A results message that failed validation (e.g. a result holding a string Postgres cannot
   * store): the attempts it names, if they are still that agent's current ones, fail at once
   * with INVALID_RESULT (not retried: the same work would produce the same result) instead of
   * waiting for their lease to expire.
   */
  refuseResults(agentId: string, attempts: ReadonlyArray<{ taskId: string; epoch: number }>, reason: string): Promise<void> {
    return Promise.all(
      attempts.map((r) =>
        this.enqueueOp<void>((res) => ({
          kind: 'lost',
          taskId: r.taskId,
          epoch: r.epoch,
          reason,
          fatal: true,
          code: 'INVALID_RESULT',
          agentId,
          ...res,
        })),
      ),
    ).then(() => undefined);
  }

  applyReports(batch: AgentReportBatch): Promise<void> {
    return this.enqueueOp<void>((r) => ({ kind: 'reports', batch, ...r }));
  }

  cancel(tenantId: string, taskId: string, reason?: string): Promise<TaskRecord> {
    return this.enqueueOp<TaskRecord>((r) => ({ kind: 'cancel', tenantId, taskId, reason, ...r }));
  }

  setPriority(tenantId: string, taskId: string, priority: Priority): Promise<TaskRecord> {
    return this.enqueueOp<TaskRecord>((r) => ({ kind: 'priority', tenantId, taskId, priority, ...r }));
  }

  replay(tenantId: string, deadLetterId: string, actor: string): Promise<TaskRecord> {
    return this.enqueueOp<TaskRecord>((r) => ({ kind: 'replay', tenantId, deadLetterId, actor, ...r }));
  }

  checkpoint(agentId: string, req: CheckpointRequest): Promise<void> {
    return this.enqueueOp<void>((r) => ({ kind: 'checkpoint', agentId, req, ...r }));
  }

  register(reg: AgentRegistration): Promise<AgentRegisterReply> {
    return this.enqueueOp<AgentRegisterReply>((r) => ({ kind: 'register', reg, ...r }));
  }

  /**
   * Takes a running attempt away (a higher-priority task needs its capacity): the attempt ends
   * `preempted`, the task goes back to its queue without counting a failure. Resolves false when
   * the task was not running.
   */
  preempt(taskId: string, reason: string): Promise<boolean> {
    return this.enqueueOp<boolean>((r) => ({ kind: 'preempt', taskId, reason, ...r }));
  }

  /**
   * Fails a task that has not started and never can (admission refuses it for good: budget
   * exhausted with policy `reject`, unknown pool): it ends `failed` with the coded error.
   * Resolves false when the task was not waiting any more.
   */
  failWaiting(taskId: string, error: TaskErrorDto): Promise<boolean> {
    return this.enqueueOp<boolean>((r) => ({ kind: 'fail', taskId, error, ...r }));
  }

  /** Submits a validated workflow; resolves with its id once it is durable. */
  submitWorkflow(
    tenantId: string,
    dto: SubmitWorkflowDto,
    spec: WorkflowSpec,
    origin: { template: string | null; params: Record<string, unknown> | null } = { template: null, params: null },
  ): Promise<string> {
    const traceparent = toTraceparent();
    return this.enqueueOp<string>((r) => ({ kind: 'workflow', tenantId, dto, spec, ...origin, traceparent, ...r }));
  }

  cancelWorkflow(tenantId: string, workflowId: string, reason?: string): Promise<void> {
    return this.enqueueOp<void>((r) => ({ kind: 'cancel_workflow', tenantId, workflowId, reason, ...r }));
  }

  /** Approves or rejects a task behind its approval gate or in needs_review. */
  decide(req: TaskDecisionRequest): Promise<TaskRecord> {
    return this.enqueueOp<TaskRecord>((r) => ({ kind: 'decide', req, ...r }));
  }

  /** A running attempt spawns subtasks; resolves once they are durable. */
  spawn(agentId: string, req: SpawnRequest): Promise<SpawnedTaskDto[]> {
    const traceparent = toTraceparent();
    return this.enqueueOp<SpawnedTaskDto[]>((r) => ({ kind: 'spawn', agentId, req, traceparent, ...r }));
  }

  /**
   * Checks that a parent attempt still holds its lease (STALE_LEASE otherwise) and counts the
   * wait as progress (a parent waiting for its children is not stuck). Returns its tenant.
   */
  touchParentAttempt(agentId: string, taskId: string, epoch: number): string {
    const t = this.tasks.get(taskId);
    if (!t || t.agentId !== agentId || !ACTIVE_RUN_STATES.has(t.state)) throw new StaleLeaseError(taskId, epoch, t?.epoch ?? -1);
    if (t.epoch !== epoch) throw new StaleLeaseError(taskId, epoch, t.epoch);
    const now = Date.now();
    t.rt.progressChangedAt = now;
    t.rt.lastBeatAt = now;
    return t.tenantId;
  }

  /**
   * Registers a waiter woken (after the commit) when a child of `parentId` ends. Register before
   * reading the children's states, so that no ending is missed in between.
   */
  childWaiter(parentId: string): { promise: Promise<void>; cancel: () => void } {
    let set = this.childWaiters.get(parentId);
    if (!set) {
      set = new Set();
      this.childWaiters.set(parentId, set);
    }
    let wake!: () => void;
    const promise = new Promise<void>((resolve) => (wake = resolve));
    const s = set;
    s.add(wake);
    return {
      promise,
      cancel: () => {
        s.delete(wake);
        if (s.size === 0 && this.childWaiters.get(parentId) === s) this.childWaiters.delete(parentId);
      },
    };
  }

  /** True once stop() was called. */
  get isStopped(): boolean {
    return this.stopped;
  }

  private wakeChildWaiters(parentId: string): void {
    const set = this.childWaiters.get(parentId);
    if (!set) return;
    this.childWaiters.delete(parentId);
    for (const w of set) w();
  }

  controlAgent(tenantId: string, agentId: string, action: AgentAction): Promise<AgentRecord> {
    return this.enqueueOp<AgentRecord>((r) => ({ kind: 'control', tenantId, agentId, action, ...r }));
  }

  private enqueueOp<T>(make: (r: Resolver<T>) => Op): Promise<T> {
    if (this.stopped) return Promise.reject(new SwarmError('SERVICE_UNAVAILABLE', 'coordinator is stopping'));
    return new Promise<T>((resolve, reject) => {
      this.ops.push(make({ resolve, reject }));
      this.schedule();
    });
  }

  /**
   * Heartbeats touch only memory (liveness, held attempts, progress); what must be persisted
   * follows through ops and the periodic agent flush.
   */
  heartbeat(hb: AgentHeartbeat): void {
    const now = Date.now();
    const a = this.agents.get(hb.agentId);
    if (!a) {
      // an agent we do not know at all (its registration was lost): make that process register again
      this.sendControl({ agentId: hb.agentId, instanceId: hb.instanceId, kind: 'restart', reason: 'unknown agent; register again' });
      return;
    }
    // a replaced process still heart-beating while it shuts down: not ours any more
    if (a.instanceId !== hb.instanceId) return;
    if (hb.seq < a.heartbeatSeq) return; // reordered
    a.heartbeatSeq = hb.seq;
    a.lastHeartbeatAt = now;
    a.cpuPercent = hb.cpuPercent ?? a.cpuPercent;
    a.memoryRssBytes = hb.memoryRssBytes ?? a.memoryRssBytes;
    const draining = hb.mode === 'draining';
    if (draining !== a.agentDraining) {
      a.agentDraining = draining;
      a.dirty = true;
    }
    if (a.liveness !== 'healthy') {
      a.liveness = 'healthy';
      a.dirty = true;
    }
    const listed = new Set<string>();
    const stale: Array<{ taskId: string; epoch: number }> = [];
    for (const r of hb.running) {
      listed.add(r.taskId);
      const t = this.tasks.get(r.taskId);
      if (t && t.epoch === r.epoch && t.agentId === a.id && ACTIVE_RUN_STATES.has(t.state)) {
        t.rt.held = true;
        t.rt.lastBeatAt = now;
        if (r.progressSeq !== t.rt.progressSeq) {
          t.rt.progressSeq = r.progressSeq;
          t.rt.progressChangedAt = now;
        }
      } else if (a.assigned.get(r.taskId) !== r.epoch) {
        stale.push({ taskId: r.taskId, epoch: r.epoch });
      }
    }
    if (stale.length > 0) this.sendControl({ agentId: a.id, kind: 'cancel', tasks: stale, reason: 'superseded attempt' });
    // attempts the agent no longer lists: finished (result in flight) or lost
    const grace = Math.max(3 * this.options.heartbeatIntervalMs, 1000);
    for (const [taskId, epoch] of a.assigned) {
      if (listed.has(taskId)) continue;
      const t = this.tasks.get(taskId);
      if (!t || t.epoch !== epoch || t.agentId !== a.id || !ACTIVE_RUN_STATES.has(t.state)) {
        // fenced (cancelled, timed out or moved) and the agent has let go: the slot is free again
        a.assigned.delete(taskId);
        continue;
      }
      if (t.rt.held && now - t.rt.lastBeatAt > grace) {
        void this.enqueueOp<void>((r) => ({
          kind: 'lost',
          taskId,
          epoch,
          reason: `agent ${a.id} no longer holds the attempt`,
          ...r,
        })).catch(() => {});
      }
    }
    this.schedule();
  }

  // ── the tick loop ────────────────────────────────────────────────────────

  private schedule(): void {
    if (this.tickScheduled || this.ticking || this.stopped) return;
    this.tickScheduled = true;
    setImmediate(() => {
      this.tickScheduled = false;
      void this.runTicks();
    });
  }

  private async runTicks(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      if (this.reloading) await this.reloading;
      do {
        await this.tick();
      } while (this.ops.length > 0 && !this.stopped);
    } catch (err) {
      this.logger.error('tick loop failed', { err });
    } finally {
      this.ticking = false;
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
      if (this.ops.length > 0 && !this.stopped) this.schedule();
    }
  }

  private async tick(): Promise<void> {
    const started = performance.now();
    const ops = this.ops.splice(0, this.options.tickMaxOps);
    const tick = new Tick(Date.now());
    const prefetched = await this.prefetch(ops).catch((err: unknown) => {
      for (const op of ops) op.reject(this.dbError(err));
      return null;
    });
    if (!prefetched) return;
    for (const op of ops) {
      try {
        this.apply(op, tick, prefetched);
      } catch (err) {
        if (InternalErrorGuard.isInternal(err)) {
          this.guard.fault(`op:${op.kind}`, err);
          op.reject(new InternalError('the coordinator failed to apply this request (logged); nothing of it was answered as done'));
        } else {
          op.reject(err);
        }
      }
    }
    // each phase on its own: a bug in one is logged, the others and the commit still happen
    if (tick.now - this.lastSweep >= this.options.sweepIntervalMs) {
      this.lastSweep = tick.now;
      this.guard.run('sweep', () => this.sweep(tick));
    }
    if (this.dirtyWorkflows.size > 0) this.guard.run('workflows', () => this.settleWorkflows(tick));
    this.guard.run('dispatch', () => this.dispatchRound(tick));
    if (tick.now - this.lastAgentFlush >= this.options.agentFlushIntervalMs) {
      this.lastAgentFlush = tick.now;
      for (const a of this.agents.values()) if (a.dirty || a.lastHeartbeatAt !== null) tick.agents.add(a);
    } else {
      for (const a of this.agents.values()) if (a.dirty) tick.agents.add(a);
    }
    this.guard.run('agent-states', () => this.announceAgentStates(tick));
    this.guard.run('lazy-writes', () => this.flushLazy(tick));

    // each events message is serialised once: the outbox row stores this text and the relay publishes it
    const outbox: OutboxRow[] = [];
    const batch = (subject: string, events: MeshEventDto[]): OutboxRow => ({
      id: randomUUID(),
      subject,
      json: JSON.stringify({ source: 'coordinator', events } satisfies MeshEventBatch),
    });
    if (tick.taskEvents.length > 0) outbox.push(batch(EventMessages.tasks.subject, tick.taskEvents));
    if (tick.agentEvents.length > 0) outbox.push(batch(EventMessages.agents.subject, tick.agentEvents));
    if (tick.workflowEvents.length > 0) outbox.push(batch(EventMessages.workflows.subject, tick.workflowEvents));

    if (tick.hasWrites()) {
      const commitStarted = performance.now();
      try {
        await this.store.commit({
          inserts: [...tick.inserts.values()],
          updates: [...tick.updates.values()],
          deadLetters: tick.deadLetters,
          deadLetterReplays: tick.deadLetterReplays,
          agents: [...tick.agents],
          capabilities: tick.capabilities,
          outbox,
          ...(tick.workflowInserts.size > 0 ? { workflowInserts: [...tick.workflowInserts.values()].map(workflowRow) } : {}),
          ...(tick.workflowUpdates.size > 0 ? { workflowUpdates: [...tick.workflowUpdates.values()].map(workflowRow) } : {}),
          ...(tick.approvals.size > 0 ? { approvals: [...tick.approvals.values()] } : {}),
        });
      } catch (err) {
        this.metrics.commitErrors.inc();
        this.logger.error('commit failed; rebuilding the working set from Postgres', { err, ops: ops.length });
        const e = this.dbError(err);
        for (const f of tick.failed) f(e);
        await this.reload();
        this.guard.reloaded();
        return;
      }
      this.metrics.commitSeconds.observe((performance.now() - commitStarted) / 1000);
      this.metrics.tickRows.observe(tick.inserts.size + tick.updates.size);
      for (const a of tick.agents) a.dirty = false;
    }
    // committed: now the world may hear of it
    for (const f of tick.after) {
      try {
        f();
      } catch (err) {
        this.logger.error('post-commit action failed', { err });
      }
    }
    for (const [agent, tasks] of tick.dispatches) this.publishDispatch(agent, tasks);
    for (const c of tick.controls) this.sendControl(c);
    for (const agentId of tick.purges) void this.purgeDispatches(agentId);
    if (outbox.length > 0) this.publishOutbox(outbox);
    this.metrics.tickSeconds.observe((performance.now() - started) / 1000);
    if (this.guard.takeReload()) {
      this.logger.warn('rebuilding the working set from Postgres after an internal error');
      await this.reload();
    }
  }

  private dbError(err: unknown): SwarmError {
    return err instanceof SwarmError ? err : new DatabaseUnavailableError(`postgres: ${(err as Error)?.message ?? String(err)}`);
  }

  private async reload(): Promise<void> {
    this.reloading ??= (async () => {
      let delay = 200;
      for (;;) {
        if (this.stopped) return;
        try {
          await this.load();
          return;
        } catch (err) {
          this.logger.warn('reload failed; retrying', { error: (err as Error).message, retryInMs: delay });
          await new Promise((r) => setTimeout(r, delay));
          delay = Math.min(delay * 2, 5000);
        }
      }
    })().finally(() => {
      this.reloading = null;
    });
    await this.reloading;
  }

  /** Reads the tick needs before applying ops (idempotency keys, tasks not in memory, dead letters). */
  private async prefetch(ops: Op[]): Promise<Prefetched> {
    const keysByTenant = new Map<string, string[]>();
    const missing: Array<{ tenantId: string; taskId: string }> = [];
    const dls: Array<{ tenantId: string; id: string }> = [];
    const rare: Op[] = [];
    for (const op of ops) {
      if (op.kind === 'submit') {
        const keys = op.tasks.map((t) => t.idempotencyKey).filter((k): k is string => k !== undefined);
        if (keys.length > 0) keysByTenant.set(op.tenantId, [...(keysByTenant.get(op.tenantId) ?? []), ...keys]);
      } else if ((op.kind === 'cancel' || op.kind === 'priority') && !this.tasks.has(op.taskId)) {
        missing.push({ tenantId: op.tenantId, taskId: op.taskId });
      } else if (op.kind === 'replay') {
        dls.push({ tenantId: op.tenantId, id: op.deadLetterId });
      } else if (op.kind === 'workflow' || op.kind === 'cancel_workflow' || op.kind === 'decide' || op.kind === 'spawn') {
        rare.push(op);
      }
    }
    const out: Prefetched = {
      keys: new Map(),
      tasks: new Map(),
      deadLetters: new Map(),
      workflowKeys: new Map(),
      workflows: new Map(),
      spawns: new Map(),
    };
    if (rare.length > 0) await this.prefetchRare(rare, out);
    for (const [tenantId, keys] of keysByTenant) out.keys.set(tenantId, await this.store.findIdempotencyKeys(tenantId, keys));
    for (const m of missing) {
      const t = await this.store.getTask(m.tenantId, m.taskId);
      if (t) out.tasks.set(t.id, t);
    }
    for (const d of dls) {
      const dl = await this.store.getDeadLetter(d.tenantId, d.id);
      if (dl) {
        out.deadLetters.set(dl.id, dl);
        if (!this.tasks.has(dl.taskId)) {
          const t = await this.store.getTask(d.tenantId, dl.taskId);
          if (t) out.tasks.set(t.id, t);
        }
      }
    }
    return out;
  }

  /** Reads for the workflow, decision and spawn ops (rare next to submits and results). */
  private async prefetchRare(ops: Op[], out: Prefetched): Promise<void> {
    for (const op of ops) {
      if (op.kind === 'workflow' && op.dto.idempotencyKey !== undefined) {
        const found = await this.workflowStore.findWorkflowKeys(op.tenantId, [op.dto.idempotencyKey]);
        const m = out.workflowKeys.get(op.tenantId) ?? new Map<string, string>();
        for (const [k, v] of found) m.set(k, v);
        out.workflowKeys.set(op.tenantId, m);
      } else if (op.kind === 'cancel_workflow' && !this.workflows.has(op.workflowId)) {
        const w = await this.workflowStore.getWorkflow(op.tenantId, op.workflowId);
        if (w) out.workflows.set(w.id, w);
      } else if (op.kind === 'decide' && !this.tasks.has(op.req.taskId)) {
        const t = await this.store.getTask(op.req.tenantId, op.req.taskId);
        if (t) out.tasks.set(t.id, t);
      } else if (op.kind === 'spawn') {
        const parent = this.tasks.get(op.req.taskId);
        if (!parent) continue;
        const keys = op.req.tasks.map((c) => c.key).filter((k): k is string => k !== undefined);
        const facts = await this.workflowStore.spawnFacts(parent.id, parent.link?.rootTaskId ?? parent.id, keys);
        const prev = out.spawns.get(parent.id);
        if (prev) for (const [k, v] of prev.existing) facts.existing.set(k, v);
        out.spawns.set(parent.id, facts);
      }
    }
  }

  private apply(op: Op, tick: Tick, pre: Prefetched): void {
    switch (op.kind) {
      case 'submit':
        return this.applySubmit(op, tick, pre);
      case 'results':
        this.applyResultBatch(op.batch, tick);
        tick.after.push(() => op.resolve());
        tick.failed.push(op.reject);
        return;
      case 'reports':
        this.applyReportBatch(op.batch, tick);
        tick.after.push(() => op.resolve());
        tick.failed.push(op.reject);
        return;
      case 'cancel':
        return this.applyCancel(op, tick, pre);
      case 'priority':
        return this.applyPriority(op, tick, pre);
      case 'replay':
        return this.applyReplay(op, tick, pre);
      case 'checkpoint':
        return this.applyCheckpoint(op, tick);
      case 'register':
        return this.applyRegister(op, tick);
      case 'control':
        return this.applyControl(op, tick);
      case 'fail': {
        const t = this.tasks.get(op.taskId);
        const waiting = t !== undefined && (t.state === 'queued' || t.state === 'retry_scheduled');
        if (waiting) {
          if (t.state === 'queued') this.queues.remove(t);
          t.state = 'failed';
          t.finishedAt = tick.now;
          t.error = capError({ ...op.error, at: new Date(tick.now).toISOString() });
          this.metrics.completed.inc({ capability: t.capability, state: 'failed' });
          this.finish(t, tick, 'task.failed', { error: t.error, reason: op.error.message });
        }
        tick.after.push(() => op.resolve(waiting));
        tick.failed.push(op.reject);
        return;
      }
      case 'preempt': {
        const t = this.tasks.get(op.taskId);
        const running = t !== undefined && ACTIVE_RUN_STATES.has(t.state);
        if (running) this.endAttempt(t, tick, 'preempted', { message: op.reason, code: 'PREEMPTED', retryable: true });
        tick.after.push(() => op.resolve(running));
        tick.failed.push(op.reject);
        return;
      }
      case 'workflow':
        return this.applyWorkflow(op, tick, pre);
      case 'cancel_workflow':
        return this.applyCancelWorkflow(op, tick, pre);
      case 'decide':
        return this.applyDecide(op, tick, pre);
      case 'spawn':
        return this.applySpawn(op, tick, pre);
      case 'lost': {
        const t = this.tasks.get(op.taskId);
        if (t && t.epoch === op.epoch && ACTIVE_RUN_STATES.has(t.state) && (op.agentId === undefined || t.agentId === op.agentId)) {
          if (op.fatal) this.endAttempt(t, tick, 'failed', { message: op.reason, code: op.code ?? 'INTERNAL', retryable: false });
          else this.endAttempt(t, tick, 'lost', { message: op.reason, code: 'ATTEMPT_LOST', retryable: true });
        }
        tick.after.push(() => op.resolve());
        tick.failed.push(op.reject);
        return;
      }
    }
  }

  // ── submit ───────────────────────────────────────────────────────────────

  /**
   * A task pinned to one agent (`routing.agentId`) that no registered agent of the tenant is, or
   * that does not offer its capability, would wait forever: refused like an unknown capability.
   * Dead agents count as registered (they may come back).
   */
  private checkPinnedAgent(tenantId: string, capability: string, id: string, path: string): void {
    const a = this.agents.get(id);
    let why: { message: string; constraint: string } | undefined;
    if (!a || a.tenantId !== tenantId) why = { message: `no agent "${id}" is registered`, constraint: 'knownAgent' };
    else if (!a.capabilities.includes(capability))
      why = {
        message: `agent "${id}" does not offer "${capability}" (it offers ${a.capabilities.join(', ')})`,
        constraint: 'agentOffersCapability',
      };
    if (why) throw new SwarmError('VALIDATION_FAILED', `${path}: ${why.message}`, { violations: [{ path, ...why }] });
  }

  private applySubmit(op: Extract<Op, { kind: 'submit' }>, tick: Tick, pre: Prefetched): void {
    const known = this.knownCaps(op.tenantId);
    if (this.options.rejectUnknownCapabilities) {
      const unknown = [...new Set(op.tasks.map((t) => t.capability).filter((c) => !known.has(c)))];
      if (unknown.length > 0) throw new UnknownCapabilityError(unknown);
    }
    const existing = pre.keys.get(op.tenantId);
    const seen = new Set<string>();
    let validations: Array<ValidationSpec | undefined> | undefined;
    op.tasks.forEach((dto, index) => {
      if (dto.validation)
        (validations ??= [])[index] = this.validationOf(dto.validation, op.single ? 'validation' : `tasks.${index}.validation`);
      if (dto.routing?.agentId !== undefined && this.options.rejectUnknownCapabilities)
        this.checkPinnedAgent(op.tenantId, dto.capability, dto.routing.agentId, `${op.single ? '' : `tasks.${index}.`}routing.agentId`);
      const size = Buffer.byteLength(JSON.stringify(dto.input ?? {}));
      if (size > MAX_TASK_INPUT_BYTES) {
        const e = new PayloadTooLargeError(size, MAX_TASK_INPUT_BYTES);
        throw new SwarmError(e.code, `task ${index}: input ${e.message}`, { ...e.details, index });
      }
      const key = dto.idempotencyKey;
      if (key !== undefined) {
        const prior = existing?.get(key) ?? this.takenKeys.get(`${op.tenantId}\u0000${key}`);
        if (prior || seen.has(key)) {
          const err = new DuplicateIdempotencyKeyError(key, prior ?? '(same request)');
          throw new SwarmError(err.code, err.message, { ...err.details, index });
        }
        seen.add(key);
      }
    });
    const now = tick.now;
    const created: TaskRecord[] = op.tasks.map((dto, index) => {
      const validation = validations?.[index];
      const t: TaskRecord = {
        id: randomUUID(),
        tenantId: op.tenantId,
        capability: dto.capability,
        priority: PRIORITY_RANK[dto.priority ?? 'MEDIUM'],
        state: 'queued',
        input: dto.input ?? {},
        options: {
          maxAttempts: dto.retry?.maxAttempts ?? this.options.defaultMaxAttempts,
          backoffMs: dto.retry?.backoffMs ?? this.options.defaultBackoffMs,
          jitter: dto.retry?.jitter ?? this.options.defaultJitter,
          ...(dto.timeouts?.scheduleToStartMs !== undefined ? { scheduleToStartMs: dto.timeouts.scheduleToStartMs } : {}),
          ...(dto.timeouts?.startToCloseMs !== undefined ? { startToCloseMs: dto.timeouts.startToCloseMs } : {}),
          ...(dto.timeouts?.heartbeatMs !== undefined ? { heartbeatMs: dto.timeouts.heartbeatMs } : {}),
          ...(dto.timeouts?.progressMs !== undefined ? { progressMs: dto.timeouts.progressMs } : {}),
          ...(dto.routing ? { routing: { ...dto.routing } } : {}),
          ...(dto.resources ? { resources: { ...dto.resources } } : {}),
          ...(validation ? { validation } : {}),
          ...(dto.approval?.required ? { approval: approvalOption(dto.approval) } : {}),
        },
        idempotencyKey: dto.idempotencyKey ?? null,
        attempt: 0,
        epoch: 0,
        agentId: null,
        attempts: [],
        result: null,
        error: null,
        checkpoint: null,
        progress: null,
        traceparent: op.traceparent ?? null,
        labels: dto.labels ?? {},
        deadline: dto.deadline ? Date.parse(dto.deadline) : null,
        createdAt: now,
        updatedAt: now,
        queuedAt: now,
        startedAt: null,
        finishedAt: null,
        nextAttemptAt: null,
        rt: newRuntime(now),
      };
      if (t.idempotencyKey) this.takenKeys.set(`${t.tenantId}\u0000${t.idempotencyKey}`, t.id);
      this.tasks.set(t.id, t);
      this.queues.enqueue(t);
      this.armScheduleToStart(t);
      tick.insert(t);
      tick.taskEvent(t, 'task.queued');
      return t;
    });
    this.metrics.submitted.inc(created.length);
    tick.after.push(() => op.resolve(created));
    tick.failed.push((e) => {
      for (const t of created) if (t.idempotencyKey) this.takenKeys.delete(`${t.tenantId}\u0000${t.idempotencyKey}`);
      op.reject(e);
    });
  }

  /** Idempotency keys taken by ticks not yet visible to the prefetch query (same process). */
  private readonly takenKeys = new Map<string, string>();

  /**
   * Transitions that may be written late (dispatched, running, progress): if the task reaches
   * another state within `lazyWriteMs` (a short task finishing), only that state is written,
   * so a short task costs two row writes (insert, final) instead of four. What a crash can lose
   * this way is an attempt that was published but not yet written: the task is queued again
   * (at-least-once execution) and a fresh epoch range (generation) fences the lost attempt.
   */
  private touchLazily(t: TaskRecord, tick: Tick): void {
    if (this.options.lazyWriteMs <= 0 || tick.inserts.has(t.id)) {
      tick.touch(t);
      return;
    }
    t.updatedAt = tick.now;
    if (!this.lazy.has(t.id)) this.lazy.set(t.id, tick.now + this.options.lazyWriteMs);
  }

  /** Moves lazy writes that are due (or that the tick writes anyway) into the tick. */
  private flushLazy(tick: Tick): void {
    for (const [id, due] of this.lazy) {
      if (tick.updates.has(id)) {
        this.lazy.delete(id);
      } else if (due <= tick.now) {
        this.lazy.delete(id);
        const t = this.tasks.get(id);
        if (t) tick.updates.set(id, t);
      }
    }
  }

  private armScheduleToStart(t: TaskRecord): void {
    // the deadline (SLA) is watched across attempts; armed wherever a task becomes ready
    if (t.deadline !== null && !t.rt.slaMissed) this.timers.push({ at: t.deadline, taskId: t.id, kind: 'deadline', epoch: -1 });
    if (t.options.scheduleToStartMs !== undefined && t.attempt === 0) {
      // from when it became ready: its submit, or for a workflow node the release after its dependencies
      const from = t.link?.workflowId ? (t.queuedAt ?? t.createdAt) : t.createdAt;
      this.timers.push({ at: from + t.options.scheduleToStartMs, taskId: t.id, kind: 'schedule_to_start', epoch: t.epoch });
    }
  }

  /** The task's own start-to-close timeout, else the optimizer's learned one for it. */
  private startToCloseOf(t: TaskRecord): number | undefined {
    return t.options.startToCloseMs ?? this.tuning.startToCloseMs(t);
  }

  private armRunTimers(t: TaskRecord, now: number): void {
    const startedAt = t.startedAt ?? now;
    const startToClose = this.startToCloseOf(t);
    if (startToClose !== undefined)
      this.timers.push({ at: startedAt + startToClose, taskId: t.id, kind: 'start_to_close', epoch: t.epoch });
    if (t.options.heartbeatMs !== undefined)
      this.timers.push({ at: now + t.options.heartbeatMs, taskId: t.id, kind: 'heartbeat', epoch: t.epoch });
    const stuck = t.options.progressMs ?? this.options.stuckAfterMs;
    if (stuck > 0) this.timers.push({ at: now + stuck, taskId: t.id, kind: 'progress', epoch: t.epoch });
  }

  // ── results and reports ──────────────────────────────────────────────────

  private applyResultBatch(batch: ResultBatch, tick: Tick): void {
    const agent = this.agents.get(batch.agentId);
    for (const r of batch.results) {
      if (agent && agent.assigned.get(r.taskId) === r.epoch) agent.assigned.delete(r.taskId);
      const t = this.tasks.get(r.taskId);
      if (!t || t.epoch !== r.epoch || !ACTIVE_RUN_STATES.has(t.state) || t.agentId !== batch.agentId) {
        this.metrics.staleResults.inc();
        // an attempt the record never saw (published, then lost in a crash before it was written):
        // keep it visible in the history; it changes nothing else
        if (t && r.epoch < t.epoch && !t.attempts.some((a) => a.epoch === r.epoch)) {
          t.attempts.push({
            attempt: r.attempt,
            epoch: r.epoch,
            agentId: batch.agentId,
            dispatchedAt: Date.parse(r.startedAt) || tick.now,
            startedAt: Date.parse(r.startedAt) || null,
            finishedAt: Date.parse(r.finishedAt) || tick.now,
            outcome: 'superseded',
            error: r.error ? capError(r.error) : null,
          });
          t.attempts.sort((a, b) => a.epoch - b.epoch);
          tick.touch(t);
        }
        continue; // duplicate delivery or superseded attempt: changes nothing
      }
      const at = currentAttempt(t);
      if (at) {
        at.startedAt ??= Date.parse(r.startedAt) || tick.now;
        if (r.usage) at.usage = { ...r.usage };
      }
      t.startedAt ??= at?.startedAt ?? tick.now;
      if (r.outcome === 'succeeded') {
        const size = Buffer.byteLength(JSON.stringify(r.result ?? {}));
        if (size > MAX_TASK_RESULT_BYTES) {
          this.endAttempt(t, tick, 'failed', {
            message: `result is ${size} bytes; the limit is ${MAX_TASK_RESULT_BYTES}`,
            code: 'RESULT_TOO_LARGE',
            retryable: false,
          });
          continue;
        }
        const checks = t.options.validation;
        if (checks !== undefined) {
          const report = validateResult(checks, r.result ?? {}, size);
          t.lastValidation = report;
          if (!report.passed) {
            this.failValidation(t, tick, r.result ?? {}, report);
            continue;
          }
        }
        t.result = r.result ?? {};
        this.endAttempt(t, tick, 'succeeded', null);
      } else if (r.outcome === 'failed') {
        const error = r.error ?? { message: 'attempt failed without an error', retryable: true };
        // the agent's own start-to-close timer may beat ours: it is the same timeout
        this.endAttempt(t, tick, error.code === 'START_TO_CLOSE_TIMEOUT' ? 'timed_out' : 'failed', error);
      } else {
        // the agent aborted on its own (shutdown grace ran out): not the task's fault
        this.endAttempt(t, tick, 'cancelled', r.error ?? { message: 'attempt aborted by the agent', code: 'ABORTED', retryable: true });
      }
    }
  }

  private applyReportBatch(batch: AgentReportBatch, tick: Tick): void {
    const agent = this.agents.get(batch.agentId);
    if (!agent || agent.instanceId !== batch.instanceId) return;
    for (const rep of batch.reports) {
      const t = this.tasks.get(rep.taskId);
      if (!t || t.epoch !== rep.epoch || t.agentId !== agent.id || !ACTIVE_RUN_STATES.has(t.state)) continue;
      t.rt.held = true;
      t.rt.lastBeatAt = tick.now;
      if (rep.kind === 'started') {
        if (t.state === 'dispatched') {
          const startedAt = Math.min(Date.parse(rep.at) || tick.now, tick.now);
          t.state = 'running';
          t.startedAt = startedAt;
          const at = currentAttempt(t);
          if (at) at.startedAt = startedAt;
          this.armRunTimers(t, tick.now);
          this.touchLazily(t, tick);
          tick.taskEvent(t, 'task.running');
        }
      } else {
        t.progress = {
          ...(rep.percent !== undefined ? { percent: rep.percent } : {}),
          ...(rep.message !== undefined ? { message: rep.message } : {}),
          at: Date.parse(rep.at) || tick.now,
        };
        t.rt.progressChangedAt = tick.now;
        this.touchLazily(t, tick);
        tick.taskEvent(t, 'task.progress', { percent: rep.percent, message: rep.message });
      }
    }
  }

  /**
   * Ends the current attempt of a dispatched/running task and decides what comes next:
   * success, retry with backoff, requeue (lost/cancelled/preempted are not failures), or
   * dead letter.
   */
  private endAttempt(t: TaskRecord, tick: Tick, outcome: AttemptEntry['outcome'] & string, error: TaskErrorDto | null): void {
    const now = tick.now;
    const at = currentAttempt(t);
    const agent = t.agentId ? this.agents.get(t.agentId) : undefined;
    if (at) {
      at.finishedAt = now;
      at.outcome = outcome;
      at.error = error ? capError({ ...error, attempt: at.attempt, at: new Date(now).toISOString() }) : null;
    }
    // a timed-out or preempted attempt may still run on the agent: its slot stays taken until the agent lets go
    if (agent && agent.assigned.get(t.id) === t.epoch && outcome !== 'timed_out' && outcome !== 'preempted') agent.assigned.delete(t.id);
    if (agent) this.recordAgentOutcome(agent, t, outcome, at?.error ?? null, tick);
    this.admission.onAttemptEnd(t, outcome, at?.usage);
    if (error) t.error = at?.error ?? error;
    const queueWaitMs = at ? at.dispatchedAt - (t.queuedAt ?? t.createdAt) : undefined;
    const runMs = at?.startedAt ? now - at.startedAt : undefined;
    // what learners downstream need about the attempt that just ended (its agent is cleared below)
    const timing = {
      queueWaitMs,
      runMs,
      usage: at?.usage,
      agentId: at?.agentId ?? null,
      outcome,
      ...(at?.admissionWaitMs !== undefined ? { admissionWaitMs: at.admissionWaitMs } : {}),
      pool: at?.pool ?? t.options.resources?.pool ?? null,
    };

    if (outcome === 'succeeded') {
      t.state = 'succeeded';
      t.finishedAt = now;
      t.error = null;
      this.finish(t, tick, 'task.succeeded', { ...timing, totalMs: now - t.createdAt });
      this.metrics.completed.inc({ capability: t.capability, state: 'succeeded' });
      this.metrics.latency.observe({ capability: t.capability }, (now - t.createdAt) / 1000);
      return;
    }
    if (outcome === 'timed_out' || outcome === 'lost' || outcome === 'preempted') {
      // fence the attempt: the agent may still be running it
      if (agent && t.agentId)
        tick.controls.push({
          agentId: t.agentId,
          kind: 'cancel',
          tasks: [{ taskId: t.id, epoch: t.epoch }],
          reason: error?.message ?? outcome,
        });
    }
    const failures = countedFailures(t);
    const retryable = error?.retryable !== false;
    if (outcome === 'lost' || outcome === 'cancelled' || outcome === 'preempted') {
      if (outcome === 'lost' && lostAttempts(t) >= this.options.maxLostAttempts) {
        this.deadLetter(t, tick, `lost on ${lostAttempts(t)} agents`, timing);
        return;
      }
      this.requeue(t, tick, outcome === 'lost' ? 'task.requeued' : `task.${outcome}_requeued`, timing);
      return;
    }
    // failed or timed_out
    if (retryable && failures < t.options.maxAttempts) {
      const delay = backoffDelay(t.options.backoffMs, failures, t.options.jitter);
      t.state = 'retry_scheduled';
      t.nextAttemptAt = now + delay;
      t.agentId = null;
      this.timers.push({ at: t.nextAttemptAt, taskId: t.id, kind: 'retry', epoch: t.epoch });
      tick.touch(t);
      tick.taskEvent(t, 'task.retry_scheduled', {
        ...timing,
        error: t.error,
        delayMs: delay,
        outcome,
        traceparent: t.traceparent,
      });
      return;
    }
    this.deadLetter(
      t,
      tick,
      retryable ? `failed ${failures} of ${t.options.maxAttempts} attempts` : `non-retryable error: ${error?.message ?? 'unknown'}`,
      timing,
    );
  }

  private recordAgentOutcome(agent: AgentRecord, t: TaskRecord, outcome: string, error: TaskErrorDto | null, tick: Tick): void {
    if (agent.breaker.trialTaskId === t.id) agent.breaker.trialTaskId = null;
    if (outcome === 'succeeded') {
      agent.succeeded++;
      agent.consecutiveFailures = 0;
      if (agent.breaker.state !== 'closed') {
        agent.breaker = { state: 'closed', openedAt: null, retryAt: null, cooldownMs: this.options.breakerCooldownMs, trialTaskId: null };
        tick.agentEvent(agent, 'agent.breaker_closed');
      }
      agent.dirty = true;
      return;
    }
    if (outcome !== 'failed' && outcome !== 'timed_out') return;
    agent.failed++;
    if (error) {
      const list = this.agentErrors.get(agent.id) ?? [];
      list.push({ taskId: t.id, capability: t.capability, attempt: t.attempt, outcome, error, at: tick.now });
      if (list.length > 100) list.shift();
      this.agentErrors.set(agent.id, list);
    }
    if (error?.retryable === false) return; // the task's fault (bad input), not the agent's
    if (error?.code === 'VALIDATION_FAILED') return; // a result that failed its checks: feedback for the task, not a sick agent
    agent.consecutiveFailures++;
    agent.dirty = true;
    const b = agent.breaker;
    if (b.state === 'half_open' || (b.state === 'closed' && agent.consecutiveFailures >= this.options.breakerThreshold)) {
      const cooldown =
        b.state === 'half_open' ? Math.min(b.cooldownMs * 2, 16 * this.options.breakerCooldownMs) : this.options.breakerCooldownMs;
      agent.breaker = { state: 'open', openedAt: tick.now, retryAt: tick.now + cooldown, cooldownMs: cooldown, trialTaskId: null };
      tick.agentEvent(agent, 'agent.quarantined', {
        consecutiveFailures: agent.consecutiveFailures,
        retryAt: new Date(tick.now + cooldown).toISOString(),
      });
      this.logger.warn('agent quarantined by its circuit breaker', {
        agentId: agent.id,
        consecutiveFailures: agent.consecutiveFailures,
        cooldownMs: cooldown,
      });
    }
  }

  private requeue(t: TaskRecord, tick: Tick, event: string, data: Record<string, unknown> = {}): void {
    t.state = 'queued';
    t.agentId = null;
    t.queuedAt = tick.now;
    t.nextAttemptAt = null;
    t.epoch++; // fence whatever still runs
    this.queues.enqueue(t);
    tick.touch(t);
    tick.taskEvent(t, event, { ...data, traceparent: t.traceparent });
  }

  private deadLetter(t: TaskRecord, tick: Tick, reason: string, data: Record<string, unknown> = {}): void {
    t.state = 'dead_lettered';
    t.finishedAt = tick.now;
    t.agentId = null;
    const errors = t.attempts.filter((a) => a.error).map((a) => a.error!);
    const dl: DeadLetterRow = {
      id: randomUUID(),
      taskId: t.id,
      tenantId: t.tenantId,
      capability: t.capability,
      reason,
      errors,
      createdAt: tick.now,
      replayedAt: null,
      replayedBy: null,
    };
    tick.deadLetters.push(dl);
    this.metrics.deadLettered.inc({ capability: t.capability });
    this.metrics.completed.inc({ capability: t.capability, state: 'dead_lettered' });
    this.finish(t, tick, 'task.dead_lettered', { ...data, reason, deadLetterId: dl.id, error: t.error });
  }

  /** Announces a missed deadline once per task, explaining where the time went. */
  private slaMissed(t: TaskRecord, tick: Tick): void {
    t.rt.slaMissed = true;
    let queueMs = 0;
    let runMs = 0;
    for (const a of t.attempts) {
      if (a.startedAt !== null) runMs += (a.finishedAt ?? tick.now) - a.startedAt;
      queueMs += (a.startedAt ?? a.finishedAt ?? tick.now) - a.dispatchedAt;
    }
    const totalMs = tick.now - t.createdAt;
    tick.taskEvent(t, 'task.sla_missed', {
      deadline: t.deadline === null ? null : new Date(t.deadline).toISOString(),
      lateMs: Math.max(0, tick.now - (t.deadline ?? tick.now)),
      totalMs,
      // where the time went: running attempts, dispatched but not yet started, and the rest waiting
      // (queue, resources, retry backoff, dependencies)
      runMs,
      dispatchMs: queueMs,
      waitingMs: Math.max(0, totalMs - runMs - queueMs),
      attempts: t.attempt,
      traceparent: t.traceparent,
    });
  }

  /** A task reached a terminal state: persist, announce, forget. */
  private finish(t: TaskRecord, tick: Tick, event: string, data: Record<string, unknown>): void {
    // an ended task has no next attempt (a cancelled retry_scheduled task kept its old one)
    t.nextAttemptAt = null;
    tick.touch(t);
    if (t.deadline !== null && !t.rt.slaMissed && tick.now > t.deadline && t.state === 'succeeded') this.slaMissed(t, tick);
    // terminal events carry what learners downstream need (the optimizer's samples, SLA checks)
    tick.taskEvent(t, event, {
      ...data,
      traceparent: t.traceparent,
      deadline: t.deadline === null ? null : new Date(t.deadline).toISOString(),
      createdAt: new Date(t.createdAt).toISOString(),
      pool: data.pool ?? t.options.resources?.pool ?? null,
      attempts: t.attempt,
      ...(t.options.validation !== undefined ? { validation: this.validationReportOf(t) } : {}),
      ...(t.link !== undefined ? { workflowId: t.link.workflowId, nodeKey: t.link.nodeKey, parentTaskId: t.link.parentTaskId } : {}),
    });
    if (t.state === 'queued') this.queues.remove(t);
    this.tasks.delete(t.id);
    if (t.idempotencyKey) this.takenKeys.delete(`${t.tenantId}\u0000${t.idempotencyKey}`);
    if (t.link !== undefined || t.options.approval !== undefined || (this.activeChildren.size > 0 && this.activeChildren.has(t.id)))
      this.onTaskEnded(t, tick);
    this.completeSpan(t, event);
  }

  // ── commands ─────────────────────────────────────────────────────────────

  private findTask(tenantId: string, taskId: string, pre: Prefetched): TaskRecord {
    const t = this.tasks.get(taskId) ?? pre.tasks.get(taskId);
    if (!t || t.tenantId !== tenantId) throw new NotFoundError('task', taskId);
    return t;
  }

  private applyCancel(op: Extract<Op, { kind: 'cancel' }>, tick: Tick, pre: Prefetched): void {
    const t = this.findTask(op.tenantId, op.taskId, pre);
    if (isTerminal(t.state)) throw new InvalidStateTransitionError(`task ${t.id} is already ${t.state}`, { taskId: t.id, state: t.state });
    this.cancelTask(t, tick, op.reason ?? 'cancelled by request');
    tick.after.push(() => op.resolve(t));
    tick.failed.push(op.reject);
  }

  private applyPriority(op: Extract<Op, { kind: 'priority' }>, tick: Tick, pre: Prefetched): void {
    const t = this.findTask(op.tenantId, op.taskId, pre);
    if (isTerminal(t.state)) throw new InvalidStateTransitionError(`task ${t.id} is already ${t.state}`, { taskId: t.id, state: t.state });
    const rank = PRIORITY_RANK[op.priority];
    if (rank !== t.priority) {
      const queued = t.state === 'queued' && this.tasks.has(t.id);
      if (queued) this.queues.remove(t);
      t.priority = rank;
      if (queued) this.queues.enqueue(t);
      tick.touch(t);
      tick.taskEvent(t, 'task.priority_changed', { priorityName: op.priority });
    }
    tick.after.push(() => op.resolve(t));
    tick.failed.push(op.reject);
  }

  private applyReplay(op: Extract<Op, { kind: 'replay' }>, tick: Tick, pre: Prefetched): void {
    const dl = pre.deadLetters.get(op.deadLetterId);
    if (!dl || dl.tenantId !== op.tenantId) throw new NotFoundError('dead-letter', op.deadLetterId);
    if (dl.replayedAt !== null)
      throw new InvalidStateTransitionError(`dead letter ${dl.id} was already replayed`, {
        deadLetterId: dl.id,
        replayedAt: new Date(dl.replayedAt).toISOString(),
      });
    const t = this.findTask(op.tenantId, dl.taskId, pre);
    if (t.state !== 'dead_lettered')
      throw new InvalidStateTransitionError(`task ${t.id} is ${t.state}, not dead_lettered`, { taskId: t.id, state: t.state });
    const workflowId = t.link?.workflowId;
    if (workflowId && !this.workflows.has(workflowId))
      // its workflow has ended (failed, cancelled): running the node again would change nothing it reports
      throw new InvalidStateTransitionError(
        `task ${t.id} is a node of workflow ${workflowId}, which has ended; submit the workflow again`,
        {
          taskId: t.id,
          workflowId,
        },
      );
    dl.replayedAt = tick.now;
    t.options = { ...t.options, budgetFromAttempt: t.attempt };
    t.state = 'queued';
    t.error = null; // queued again: the last failure lives on in attempts[] and the dead letter
    t.queuedAt = tick.now;
    t.finishedAt = null;
    t.nextAttemptAt = null;
    t.agentId = null;
    t.rt = newRuntime(tick.now);
    this.tasks.set(t.id, t);
    this.queues.enqueue(t);
    tick.touch(t);
    tick.deadLetterReplays.push({ id: dl.id, replayedBy: op.actor, at: tick.now });
    tick.taskEvent(t, 'task.replayed', { deadLetterId: dl.id, actor: op.actor });
    tick.after.push(() => op.resolve(t));
    tick.failed.push(op.reject);
  }

  private applyCheckpoint(op: Extract<Op, { kind: 'checkpoint' }>, tick: Tick): void {
    const t = this.tasks.get(op.req.taskId);
    if (!t || t.agentId !== op.agentId || !ACTIVE_RUN_STATES.has(t.state))
      throw new StaleLeaseError(op.req.taskId, op.req.epoch, t?.epoch ?? -1);
    if (t.epoch !== op.req.epoch) throw new StaleLeaseError(t.id, op.req.epoch, t.epoch);
    t.checkpoint = op.req.state;
    t.rt.lastBeatAt = tick.now;
    tick.touch(t);
    tick.after.push(() => op.resolve());
    tick.failed.push(op.reject);
  }

  private applyRegister(op: Extract<Op, { kind: 'register' }>, tick: Tick): void {
    const reg = op.reg;
    const now = tick.now;
    let a = this.agents.get(reg.agentId);
    if (a && a.tenantId !== reg.tenantId)
      throw new ConflictError(`agent id ${reg.agentId} belongs to another tenant`, { agentId: reg.agentId });
    const keep: Array<{ taskId: string; epoch: number }> = [];
    if (a && a.instanceId === reg.instanceId) {
      for (const [taskId, epoch] of a.assigned) {
        const t = this.tasks.get(taskId);
        if (t && t.epoch === epoch && ACTIVE_RUN_STATES.has(t.state)) keep.push({ taskId, epoch });
        else a.assigned.delete(taskId);
      }
    } else if (a) {
      // a new process took over this id: whatever the old one held is lost
      this.loseAgentTasks(a, tick, `agent ${a.id} restarted (new instance)`);
      tick.purges.push(a.id);
    }
    const fields = {
      tenantId: reg.tenantId,
      name: reg.name,
      domain: reg.domain,
      tier: reg.tier,
      capabilities: [...new Set(reg.capabilities)],
      concurrency: reg.concurrency,
      instanceId: reg.instanceId,
      version: reg.version ?? null,
      metadata: reg.metadata ?? {},
    };
    if (!a) {
      a = {
        id: reg.agentId,
        ...fields,
        registeredAt: now,
        lastHeartbeatAt: now,
        liveness: 'healthy',
        agentDraining: false,
        operatorDrain: false,
        assigned: new Map(),
        heartbeatSeq: 0,
        cpuPercent: null,
        memoryRssBytes: null,
        succeeded: 0,
        failed: 0,
        consecutiveFailures: 0,
        breaker: { state: 'closed', openedAt: null, retryAt: null, cooldownMs: this.options.breakerCooldownMs, trialTaskId: null },
        dirty: true,
        announcedState: 'healthy',
      };
      this.agents.set(a.id, a);
    } else {
      const newInstance = a.instanceId !== reg.instanceId;
      Object.assign(a, fields);
      if (newInstance) {
        a.registeredAt = now;
        a.heartbeatSeq = 0;
        a.agentDraining = false;
      }
      a.lastHeartbeatAt = now;
      a.liveness = 'healthy';
      a.dirty = true;
    }
    const caps = this.knownCaps(a.tenantId);
    for (const c of a.capabilities) {
      if (!caps.has(c)) {
        caps.add(c);
        tick.capabilities.push({ tenantId: a.tenantId, name: c });
      }
    }
    tick.agents.add(a);
    tick.agentEvent(a, 'agent.registered', {
      instanceId: a.instanceId,
      capabilities: a.capabilities,
      concurrency: a.concurrency,
      kept: keep.length,
    });
    const reply: AgentRegisterReply = {
      state: agentState(a),
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      dispatchStream: this.bus.name(STREAMS.DISPATCH),
      dispatchConsumer: this.bus.name(dispatchConsumerName(a.id)),
      keep,
    };
    tick.after.push(() => op.resolve(reply));
    tick.failed.push(op.reject);
  }

  private applyControl(op: Extract<Op, { kind: 'control' }>, tick: Tick): void {
    const a = this.agents.get(op.agentId);
    if (!a || a.tenantId !== op.tenantId) throw new NotFoundError('agent', op.agentId);
    switch (op.action) {
      case 'drain':
        a.operatorDrain = true;
        tick.controls.push({ agentId: a.id, kind: 'drain', reason: 'operator drain' });
        break;
      case 'resume':
        // the agent reported draining because of our drain: it resumes on the control sent below
        if (a.operatorDrain) a.agentDraining = false;
        a.operatorDrain = false;
        if (a.breaker.state !== 'closed') {
          a.breaker = { state: 'closed', openedAt: null, retryAt: null, cooldownMs: this.options.breakerCooldownMs, trialTaskId: null };
          a.consecutiveFailures = 0;
        }
        tick.controls.push({ agentId: a.id, kind: 'resume', reason: 'operator resume' });
        break;
      case 'restart':
        if (a.liveness === 'dead')
          throw new InvalidStateTransitionError(`agent ${a.id} is dead: there is no process to restart`, { agentId: a.id, state: 'dead' });
        tick.controls.push({ agentId: a.id, kind: 'restart', reason: 'operator restart' });
        break;
    }
    a.dirty = true;
    tick.agents.add(a);
    tick.agentEvent(a, `agent.${op.action}_requested`);
    tick.after.push(() => op.resolve(a));
    tick.failed.push(op.reject);
  }

  // ── workflows, subtasks, validation checkpoints, approvals ───────────────

  private validationOf(dto: NonNullable<SubmitTaskDto['validation']>, path: string): ValidationSpec {
    return normalizeValidation(dto, path);
  }

  private childSet(parentId: string): Set<string> {
    let s = this.activeChildren.get(parentId);
    if (!s) {
      s = new Set();
      this.activeChildren.set(parentId, s);
    }
    return s;
  }

  /** A linked task (workflow node or subtask), not yet in memory or queued. */
  private newLinkedTask(
    tenantId: string,
    dto: TaskFields,
    priority: number,
    validation: ValidationSpec | undefined,
    state: TaskState,
    link: TaskLink,
    traceparent: string | null,
    now: number,
    labels: Record<string, string> | undefined,
  ): TaskRecord {
    return {
      id: randomUUID(),
      tenantId,
      capability: dto.capability,
      priority,
      state,
      input: dto.input ?? {},
      options: {
        maxAttempts: dto.retry?.maxAttempts ?? this.options.defaultMaxAttempts,
        backoffMs: dto.retry?.backoffMs ?? this.options.defaultBackoffMs,
        jitter: dto.retry?.jitter ?? this.options.defaultJitter,
        ...(dto.timeouts?.scheduleToStartMs !== undefined ? { scheduleToStartMs: dto.timeouts.scheduleToStartMs } : {}),
        ...(dto.timeouts?.startToCloseMs !== undefined ? { startToCloseMs: dto.timeouts.startToCloseMs } : {}),
        ...(dto.timeouts?.heartbeatMs !== undefined ? { heartbeatMs: dto.timeouts.heartbeatMs } : {}),
        ...(dto.timeouts?.progressMs !== undefined ? { progressMs: dto.timeouts.progressMs } : {}),
        ...(dto.routing ? { routing: { ...dto.routing } } : {}),
        ...(dto.resources ? { resources: { ...dto.resources } } : {}),
        ...(validation ? { validation } : {}),
        ...(dto.approval?.required ? { approval: approvalOption(dto.approval) } : {}),
      },
      idempotencyKey: null,
      attempt: 0,
      epoch: 0,
      agentId: null,
      attempts: [],
      result: null,
      error: null,
      checkpoint: null,
      progress: null,
      traceparent,
      labels: labels ?? {},
      deadline: dto.deadline ? Date.parse(dto.deadline) : null,
      createdAt: now,
      updatedAt: now,
      queuedAt: state === 'queued' ? now : null,
      startedAt: null,
      finishedAt: null,
      nextAttemptAt: null,
      rt: newRuntime(now),
      link,
    };
  }

  private applyWorkflow(op: Extract<Op, { kind: 'workflow' }>, tick: Tick, pre: Prefetched): void {
    const dto = op.dto;
    if (this.options.rejectUnknownCapabilities) {
      const known = this.knownCaps(op.tenantId);
      const unknown = [...new Set(dto.nodes.map((n) => n.capability).filter((c) => !known.has(c)))];
      if (unknown.length > 0) throw new UnknownCapabilityError(unknown);
      dto.nodes.forEach((n, i) => {
        if (n.routing?.agentId !== undefined)
          this.checkPinnedAgent(op.tenantId, n.capability, n.routing.agentId, `nodes.${i}.routing.agentId`);
      });
    }
    const key = dto.idempotencyKey;
    if (key !== undefined) {
      const prior = pre.workflowKeys.get(op.tenantId)?.get(key) ?? this.takenWorkflowKeys.get(`${op.tenantId}\u0000${key}`);
      if (prior)
        throw new SwarmError('DUPLICATE_IDEMPOTENCY_KEY', `idempotency key "${key}" already names workflow ${prior}`, {
          idempotencyKey: key,
          existingWorkflowId: prior,
        });
    }
    const byKey = new Map(dto.nodes.map((n) => [n.key, n]));
    const validations = op.spec.nodes.map((ns, i) => {
      const n = byKey.get(ns.key)!;
      const size = Buffer.byteLength(JSON.stringify(n.input ?? {}));
      if (size > MAX_TASK_INPUT_BYTES)
        throw new SwarmError('PAYLOAD_TOO_LARGE', `nodes.${i}.input is ${size} bytes of JSON; the limit is ${MAX_TASK_INPUT_BYTES}`, {
          path: `nodes.${i}.input`,
          sizeBytes: size,
          limitBytes: MAX_TASK_INPUT_BYTES,
        });
      return n.validation ? this.validationOf(n.validation, `nodes.${i}.validation`) : undefined;
    });
    const now = tick.now;
    const id = randomUUID();
    const wf: WorkflowRecord = {
      id,
      tenantId: op.tenantId,
      name: dto.name,
      state: 'running',
      failurePolicy: dto.failurePolicy ?? 'fail_fast',
      priority: PRIORITY_RANK[dto.priority ?? 'MEDIUM'],
      spec: op.spec,
      nodes: new Map(),
      order: topologicalOrder(op.spec.nodes),
      template: op.template,
      params: op.params,
      idempotencyKey: key ?? null,
      labels: dto.labels ?? {},
      error: null,
      summary: null,
      coverage: null,
      createdAt: now,
      updatedAt: now,
      finishedAt: null,
    };
    const created = op.spec.nodes.map((ns, i) => {
      const n = byKey.get(ns.key)!;
      const state: TaskState = ns.dependsOn.length === 0 ? 'queued' : 'pending';
      const t = this.newLinkedTask(
        op.tenantId,
        n,
        PRIORITY_RANK[n.priority ?? dto.priority ?? 'MEDIUM'],
        validations[i],
        state,
        { workflowId: id, nodeKey: ns.key, parentTaskId: null, rootTaskId: null, tier: ns.tier, depth: 0, spawnKey: null },
        op.traceparent ?? null,
        now,
        dto.labels || n.labels ? { ...dto.labels, ...n.labels } : undefined,
      );
      wf.nodes.set(ns.key, {
        spec: ns,
        taskId: t.id,
        status: state === 'queued' ? 'active' : 'pending',
        taskState: state,
        dependants: [],
        readers: 0,
      });
      return t;
    });
    for (const ns of op.spec.nodes) {
      for (const d of ns.dependsOn) wf.nodes.get(d)!.dependants.push(ns.key);
      for (const r of ns.refs) wf.nodes.get(r)!.readers++;
    }
    for (const t of created) {
      this.tasks.set(t.id, t);
      if (t.state === 'queued') {
        this.queues.enqueue(t);
        this.armScheduleToStart(t);
      }
      tick.insert(t);
      tick.taskEvent(t, t.state === 'queued' ? 'task.queued' : 'task.pending', { workflowId: id, nodeKey: t.link!.nodeKey });
    }
    this.workflows.set(id, wf);
    if (key !== undefined) this.takenWorkflowKeys.set(`${op.tenantId}\u0000${key}`, id);
    tick.workflowInserts.set(id, wf);
    tick.workflowEvent(wf, 'workflow.submitted', { nodes: wf.nodes.size, template: op.template });
    this.metrics.submitted.inc(created.length);
    tick.after.push(() => op.resolve(id));
    tick.failed.push((e) => {
      if (key !== undefined) this.takenWorkflowKeys.delete(`${op.tenantId}\u0000${key}`);
      op.reject(e);
    });
  }

  private applyCancelWorkflow(op: Extract<Op, { kind: 'cancel_workflow' }>, tick: Tick, pre: Prefetched): void {
    const wf = this.workflows.get(op.workflowId);
    if (!wf || wf.tenantId !== op.tenantId) {
      const stored = pre.workflows.get(op.workflowId);
      if (stored && stored.tenantId === op.tenantId)
        throw new InvalidStateTransitionError(`workflow ${stored.id} is already ${stored.state}`, {
          workflowId: stored.id,
          state: stored.state,
        });
      throw new NotFoundError('workflow', op.workflowId);
    }
    this.endWorkflow(wf, 'cancelled', { code: 'CANCELLED', message: op.reason ?? 'cancelled by request' }, tick);
    tick.after.push(() => op.resolve());
    tick.failed.push(op.reject);
  }

  /** Approve or reject: the approval gate of a succeeded task, or the review of a task in needs_review. */
  private applyDecide(op: Extract<Op, { kind: 'decide' }>, tick: Tick, pre: Prefetched): void {
    const req = op.req;
    const t = this.tasks.get(req.taskId) ?? pre.tasks.get(req.taskId);
    if (!t || t.tenantId !== req.tenantId) throw new NotFoundError('task', req.taskId);
    let review: ReviewEntry | undefined;
    if (t.state === 'needs_review') {
      review = t.review ?? {
        kind: 'review',
        status: 'pending',
        approvers: t.options.approval?.approvers ?? null,
        requestedAt: t.updatedAt,
        decidedBy: null,
        decidedByName: null,
        decidedAt: null,
        comment: null,
      };
    } else if (t.state === 'succeeded' && t.review?.kind === 'approval') {
      review = t.review;
    }
    const decidedInTick = tick.approvals.get(t.id)?.review.status;
    if (!review || review.status !== 'pending' || (decidedInTick !== undefined && decidedInTick !== 'pending')) {
      throw new InvalidStateTransitionError(
        `task ${t.id} has no pending approval or review (state ${t.state}${t.review ? `, ${t.review.kind} ${t.review.status}` : ''})`,
        { taskId: t.id, state: t.state, approval: t.review?.status ?? null },
      );
    }
    const approvers = review.approvers ?? t.options.approval?.approvers ?? null;
    if (approvers && approvers.length > 0) {
      const keyId = req.actor.replace(/^api-key:/, '');
      if (!approvers.some((a) => a === req.actor || a === keyId || (req.actorName !== undefined && a === req.actorName)))
        throw new SwarmError('NOT_AN_APPROVER', `${req.actor} is not one of the approvers of task ${t.id}`, { taskId: t.id, approvers });
    }
    const wf = t.link?.workflowId && t.link.nodeKey ? this.workflows.get(t.link.workflowId) : undefined;
    if (t.link?.workflowId && t.link.nodeKey && !wf)
      throw new InvalidStateTransitionError(`task ${t.id} belongs to workflow ${t.link.workflowId}, which has ended`, {
        taskId: t.id,
        workflowId: t.link.workflowId,
      });
    const approve = req.decision === 'approve';
    review.status = approve ? 'approved' : 'rejected';
    review.decidedBy = req.actor;
    review.decidedByName = req.actorName ?? null;
    review.decidedAt = tick.now;
    review.comment = req.comment ?? null;
    t.review = review;
    tick.approvals.set(t.id, { taskId: t.id, tenantId: t.tenantId, workflowId: t.link?.workflowId ?? null, review });
    const who = { decidedBy: req.actor, decidedByName: req.actorName ?? null, comment: req.comment ?? null, kind: review.kind };
    if (t.state === 'needs_review') {
      const now = tick.now;
      if (approve) {
        t.state = 'succeeded';
        t.finishedAt = now;
        t.error = null;
        this.metrics.completed.inc({ capability: t.capability, state: 'succeeded' });
        this.finish(t, tick, 'task.succeeded', { ...who, reviewed: true, totalMs: now - t.createdAt });
      } else {
        t.state = 'failed';
        t.finishedAt = now;
        t.error = {
          message: `result rejected in review${req.comment ? `: ${req.comment}` : ''}`,
          code: 'REVIEW_REJECTED',
          retryable: false,
        };
        this.metrics.completed.inc({ capability: t.capability, state: 'failed' });
        this.finish(t, tick, 'task.failed', { ...who, error: t.error });
      }
    } else {
      tick.taskEvent(t, approve ? 'task.approved' : 'task.rejected', {
        ...who,
        workflowId: t.link?.workflowId ?? null,
        nodeKey: t.link?.nodeKey ?? null,
      });
      if (wf && t.link?.nodeKey) {
        const n = wf.nodes.get(t.link.nodeKey);
        if (n && n.taskId === t.id) {
          n.status = nodeStatusOf('succeeded', review, n.spec.approval?.required === true);
          n.review = review;
          this.dirtyWorkflows.add(wf);
        }
      }
    }
    tick.after.push(() => op.resolve(t));
    tick.failed.push(op.reject);
  }

  private applySpawn(op: Extract<Op, { kind: 'spawn' }>, tick: Tick, pre: Prefetched): void {
    const req = op.req;
    const parent = this.tasks.get(req.taskId);
    if (!parent || parent.agentId !== op.agentId || !ACTIVE_RUN_STATES.has(parent.state))
      throw new StaleLeaseError(req.taskId, req.epoch, parent?.epoch ?? -1);
    if (parent.epoch !== req.epoch) throw new StaleLeaseError(parent.id, req.epoch, parent.epoch);
    const depth = (parent.link?.depth ?? 0) + 1;
    if (depth > this.options.subtaskMaxDepth)
      throw new SwarmError(
        'SUBTASK_LIMIT_EXCEEDED',
        `task ${parent.id} is at depth ${depth - 1}: subtasks may nest at most ${this.options.subtaskMaxDepth} levels below the task submitted`,
        { limit: 'depth', max: this.options.subtaskMaxDepth, depth },
      );
    if (this.options.rejectUnknownCapabilities) {
      const known = this.knownCaps(parent.tenantId);
      const unknown = [...new Set(req.tasks.map((c) => c.capability).filter((c) => !known.has(c)))];
      if (unknown.length > 0) throw new UnknownCapabilityError(unknown);
    }
    const facts: SpawnFacts = pre.spawns.get(parent.id) ?? { existing: new Map(), children: 0, treeSize: 0 };
    const inTick = tick.spawned.get(parent.id) ?? new Map<string, TaskRecord>();
    const out: Array<SpawnedTaskDto | undefined> = [];
    const toCreate: Array<{ index: number; key: string; validation: ValidationSpec | undefined }> = [];
    const seen = new Set<string>();
    req.tasks.forEach((c, i) => {
      const key = c.key ?? `auto-${randomUUID()}`;
      if (seen.has(key))
        throw new SwarmError('VALIDATION_FAILED', `tasks.${i}.key "${key}" is used twice`, {
          violations: [{ path: `tasks.${i}.key`, message: 'duplicate key', constraint: 'unique' }],
        });
      seen.add(key);
      const same = inTick.get(key);
      const prior = same
        ? { id: same.id, capability: same.capability, state: same.state, tier: same.link!.tier, depth: same.link!.depth }
        : facts.existing.get(key);
      if (prior) {
        out[i] = {
          id: prior.id,
          key,
          capability: prior.capability,
          state: prior.state,
          tier: prior.tier as TaskTier,
          depth: prior.depth,
          existing: true,
        };
        return;
      }
      const size = Buffer.byteLength(JSON.stringify(c.input ?? {}));
      if (size > MAX_TASK_INPUT_BYTES)
        throw new SwarmError('PAYLOAD_TOO_LARGE', `tasks.${i}.input is ${size} bytes of JSON; the limit is ${MAX_TASK_INPUT_BYTES}`, {
          path: `tasks.${i}.input`,
          sizeBytes: size,
          limitBytes: MAX_TASK_INPUT_BYTES,
        });
      toCreate.push({ index: i, key, validation: c.validation ? this.validationOf(c.validation, `tasks.${i}.validation`) : undefined });
    });
    const children = facts.children + inTick.size;
    if (children + toCreate.length > this.options.subtaskMaxChildren)
      throw new SwarmError(
        'SUBTASK_LIMIT_EXCEEDED',
        `task ${parent.id} has ${children} subtasks; ${toCreate.length} more would exceed the fan-out limit of ${this.options.subtaskMaxChildren}`,
        { limit: 'fanout', max: this.options.subtaskMaxChildren, children, requested: toCreate.length },
      );
    const tree = facts.treeSize + inTick.size;
    if (tree + toCreate.length > this.options.subtaskMaxTree)
      throw new SwarmError(
        'SUBTASK_LIMIT_EXCEEDED',
        `the subtask tree of ${parent.link?.rootTaskId ?? parent.id} has ${tree} tasks; ${toCreate.length} more would exceed the limit of ${this.options.subtaskMaxTree}`,
        { limit: 'tree', max: this.options.subtaskMaxTree, size: tree, requested: toCreate.length },
      );
    const now = tick.now;
    const kids = this.childSet(parent.id);
    for (const c of toCreate) {
      const dto = req.tasks[c.index]!;
      const t = this.newLinkedTask(
        parent.tenantId,
        dto,
        dto.priority !== undefined ? PRIORITY_RANK[dto.priority] : parent.priority,
        c.validation,
        'queued',
        {
          workflowId: parent.link?.workflowId ?? null,
          nodeKey: null,
          parentTaskId: parent.id,
          rootTaskId: parent.link?.rootTaskId ?? parent.id,
          tier: dto.tier ?? childTier(parent.link?.tier),
          depth,
          spawnKey: c.key,
        },
        op.traceparent ?? parent.traceparent,
        now,
        dto.labels,
      );
      this.tasks.set(t.id, t);
      this.queues.enqueue(t);
      this.armScheduleToStart(t);
      tick.insert(t);
      tick.taskEvent(t, 'task.queued', { parentTaskId: parent.id, tier: t.link!.tier, depth });
      kids.add(t.id);
      inTick.set(c.key, t);
      out[c.index] = { id: t.id, key: c.key, capability: t.capability, state: t.state, tier: t.link!.tier, depth, existing: false };
    }
    tick.spawned.set(parent.id, inTick);
    parent.rt.progressChangedAt = now;
    this.metrics.submitted.inc(toCreate.length);
    const reply = out as SpawnedTaskDto[];
    tick.after.push(() => op.resolve(reply));
    tick.failed.push(op.reject);
  }

  /** Cancels a task in any non-terminal state (fencing a running attempt). */
  private cancelTask(t: TaskRecord, tick: Tick, reason: string, code = 'CANCELLED'): void {
    const error: TaskErrorDto = { message: reason, code, retryable: false };
    if (t.state === 'queued') this.queues.remove(t);
    if (ACTIVE_RUN_STATES.has(t.state)) {
      const at = currentAttempt(t);
      if (at) {
        at.finishedAt = tick.now;
        at.outcome = 'cancelled';
        at.error = { ...error, attempt: at.attempt, at: new Date(tick.now).toISOString() };
      }
      // the agent keeps its slot until it lets go of the attempt (result or heartbeat)
      if (t.agentId) tick.controls.push({ agentId: t.agentId, kind: 'cancel', tasks: [{ taskId: t.id, epoch: t.epoch }], reason });
      this.admission.onAttemptEnd(t, 'cancelled', at?.usage);
      t.epoch++;
    }
    t.state = 'cancelled';
    t.finishedAt = tick.now;
    t.error = error;
    this.withdrawReview(t.review, { id: t.id, tenantId: t.tenantId, workflowId: t.link?.workflowId ?? null }, tick, reason);
    this.metrics.completed.inc({ capability: t.capability, state: 'cancelled' });
    this.finish(t, tick, 'task.cancelled', { reason });
  }

  /** A pending approval or review whose task was cancelled, or whose workflow ended, can no longer be decided. */
  private withdrawReview(
    review: ReviewEntry | null | undefined,
    t: { id: string; tenantId: string; workflowId: string | null },
    tick: Tick,
    reason: string,
  ): void {
    if (!review || review.status !== 'pending') return;
    review.status = 'withdrawn';
    review.decidedAt = tick.now;
    review.comment = reason.slice(0, 1000);
    tick.approvals.set(t.id, { taskId: t.id, tenantId: t.tenantId, workflowId: t.workflowId, review });
  }

  /**
   * A result failed its checks: retried with the failures as feedback (previousErrors) while
   * validation retries and attempts remain, then needs_review or failed per the task's policy.
   */
  private failValidation(t: TaskRecord, tick: Tick, result: Record<string, unknown>, report: ValidationReport): void {
    const v = t.options.validation!;
    const error: TaskErrorDto = {
      message: summarize(report),
      code: 'VALIDATION_FAILED',
      retryable: true,
      details: {
        failures: report.failures.slice(0, 10).map((f) => ({ ...f, message: f.message.slice(0, 300) })),
        total: report.failures.length,
      },
    };
    t.result = result;
    const from = t.options.budgetFromAttempt ?? 0;
    let earlier = 0;
    for (const a of t.attempts) if (a.attempt > from && a.epoch !== t.epoch && a.error?.code === 'VALIDATION_FAILED') earlier++;
    if (earlier < v.maxValidationRetries && countedFailures(t) + 1 < t.options.maxAttempts) {
      this.endAttempt(t, tick, 'failed', error);
      return;
    }
    const now = tick.now;
    const at = currentAttempt(t);
    const agent = t.agentId ? this.agents.get(t.agentId) : undefined;
    if (at) {
      at.finishedAt = now;
      at.outcome = 'failed';
      at.error = capError({ ...error, attempt: at.attempt, at: new Date(now).toISOString() });
    }
    if (agent && agent.assigned.get(t.id) === t.epoch) agent.assigned.delete(t.id);
    if (agent) this.recordAgentOutcome(agent, t, 'failed', at?.error ?? null, tick);
    this.admission.onAttemptEnd(t, 'failed', at?.usage);
    t.error = at?.error ?? error;
    t.agentId = null;
    if (v.onFailure === 'needs_review') {
      t.state = 'needs_review';
      t.review = {
        kind: 'review',
        status: 'pending',
        approvers: t.options.approval?.approvers ?? null,
        requestedAt: now,
        decidedBy: null,
        decidedByName: null,
        decidedAt: null,
        comment: null,
      };
      tick.touch(t);
      tick.approvals.set(t.id, { taskId: t.id, tenantId: t.tenantId, workflowId: t.link?.workflowId ?? null, review: t.review });
      tick.taskEvent(t, 'task.needs_review', {
        error: t.error,
        validation: report,
        traceparent: t.traceparent,
        ...(t.link ? { workflowId: t.link.workflowId, nodeKey: t.link.nodeKey } : {}),
      });
      if (t.link) this.onTaskEnded(t, tick);
      return;
    }
    t.state = 'failed';
    t.finishedAt = now;
    this.metrics.completed.inc({ capability: t.capability, state: 'failed' });
    this.finish(t, tick, 'task.failed', { error: t.error, reason: 'result failed its validation checks' });
  }

  /** What terminal events say about a task's checks. */
  private validationReportOf(t: TaskRecord): ValidationReport {
    if (t.lastValidation) return t.lastValidation;
    for (let i = t.attempts.length - 1; i >= 0; i--) {
      const e = t.attempts[i]!.error;
      if (e?.code === 'VALIDATION_FAILED' && t.state !== 'succeeded') {
        const failures = (e.details?.failures as ValidationReport['failures'] | undefined) ?? [];
        return { passed: false, failures };
      }
    }
    return { passed: t.state === 'succeeded', failures: [] };
  }

  /**
   * A workflow node, a subtask, a task with an approval gate or a parent reached a terminal
   * state (or needs_review): open the approval gate, update the node (its workflow is settled
   * before dispatch), wake a parent waiting for its children, cancel the children of a parent
   * that failed.
   */
  private onTaskEnded(t: TaskRecord, tick: Tick): void {
    if (t.state === 'succeeded' && t.options.approval?.required && !t.review) {
      t.review = {
        kind: 'approval',
        status: 'pending',
        approvers: t.options.approval.approvers ?? null,
        requestedAt: tick.now,
        decidedBy: null,
        decidedByName: null,
        decidedAt: null,
        comment: null,
      };
      tick.approvals.set(t.id, { taskId: t.id, tenantId: t.tenantId, workflowId: t.link?.workflowId ?? null, review: t.review });
      tick.taskEvent(t, 'task.approval_requested', {
        approvers: t.review.approvers,
        ...(t.link ? { workflowId: t.link.workflowId, nodeKey: t.link.nodeKey } : {}),
      });
    }
    const link = t.link;
    if (link?.workflowId && link.nodeKey) {
      const wf = this.workflows.get(link.workflowId);
      const n = wf?.nodes.get(link.nodeKey);
      if (wf && n && n.taskId === t.id) {
        n.taskState = t.state;
        n.status = nodeStatusOf(t.state, t.review, n.spec.approval?.required === true);
        n.error = t.error;
        if (n.status === 'awaiting_approval' && t.review) n.review = t.review;
        if (t.state === 'succeeded') {
          if (n.readers > 0) n.result = t.result;
          const fields = requirementFields(wf.spec, n.spec.key);
          if (fields.length > 0) n.fields = new Map(fields.map((f) => [f, isNonEmpty(getPath(t.result, f.split('.')))]));
        }
        this.dirtyWorkflows.add(wf);
      }
    }
    if (link?.parentTaskId && CHILD_DONE_STATES.has(t.state)) {
      const parentId = link.parentTaskId;
      const siblings = this.activeChildren.get(parentId);
      if (siblings) {
        siblings.delete(t.id);
        if (siblings.size === 0) this.activeChildren.delete(parentId);
      }
      // always after the commit: a waiter registering during this tick reads the old state and must be woken
      tick.after.push(() => this.wakeChildWaiters(parentId));
    }
    if (t.state !== 'succeeded' && CHILD_DONE_STATES.has(t.state) && this.activeChildren.size > 0) {
      const kids = this.activeChildren.get(t.id);
      if (kids) {
        this.activeChildren.delete(t.id);
        for (const id of [...kids]) {
          const c = this.tasks.get(id);
          if (c && !isTerminal(c.state)) this.cancelTask(c, tick, `parent task ${t.id} ended ${t.state}`, 'PARENT_ENDED');
        }
      }
    }
  }

  /** Settles every workflow touched in this tick (until settling touches no more). */
  private settleWorkflows(tick: Tick): void {
    for (let guard = 0; this.dirtyWorkflows.size > 0 && guard < 100_000; guard++) {
      const wf = this.dirtyWorkflows.values().next().value!;
      this.dirtyWorkflows.delete(wf);
      this.settleWorkflow(wf, tick);
    }
  }

  /**
   * Applies the failure policy, releases every pending node whose dependencies are all done, and
   * ends the workflow once every node has. Idempotent (also the reconciliation after a restart).
   */
  private settleWorkflow(wf: WorkflowRecord, tick: Tick): void {
    if (wf.state !== 'running' || this.workflows.get(wf.id) !== wf) return;
    if (wf.failurePolicy === 'fail_fast') {
      for (const key of wf.order) {
        const n = wf.nodes.get(key)!;
        if (!isFailure(n.status)) continue;
        const why = n.error?.message ? `: ${n.error.message}` : '';
        this.endWorkflow(
          wf,
          'failed',
          { code: 'NODE_FAILED', message: `node ${key} ${n.status}${why}`, details: { node: key, taskId: n.taskId, state: n.status } },
          tick,
        );
        return;
      }
    }
    for (const key of wf.order) {
      const n = wf.nodes.get(key)!;
      if (n.status !== 'pending') continue;
      let blocked: WfNode | undefined;
      let ready = true;
      for (const d of n.spec.dependsOn) {
        const dn = wf.nodes.get(d)!;
        if (isFailure(dn.status)) {
          blocked = dn;
          break;
        }
        if (dn.status !== 'done') ready = false;
      }
      if (blocked) {
        // continue policy: an upstream failure cancels this branch only
        this.dropReaders(wf, n);
        const t = this.tasks.get(n.taskId);
        if (t && !isTerminal(t.state)) this.cancelTask(t, tick, `upstream node ${blocked.spec.key} ${blocked.status}`, 'UPSTREAM_FAILED');
        else n.status = 'cancelled';
        continue;
      }
      if (ready) this.releaseNode(wf, n, tick);
    }
    // a node that failed on its release (input mapping) fails a fail_fast workflow like any failure
    if (wf.failurePolicy === 'fail_fast') for (const n of wf.nodes.values()) if (isFailure(n.status)) return this.settleWorkflow(wf, tick);
    for (const n of wf.nodes.values()) if (!isEnded(n.status)) return;
    this.finalizeWorkflow(wf, tick);
  }

  /** A pending node whose dependencies are done: map the parents' outputs into its input and queue it. */
  private releaseNode(wf: WorkflowRecord, n: WfNode, tick: Tick): void {
    const t = this.tasks.get(n.taskId);
    if (!t || t.state !== 'pending') {
      this.logger.error('workflow node to release is not pending', { workflowId: wf.id, node: n.spec.key, state: t?.state });
      return;
    }
    let input: Record<string, unknown>;
    try {
      input = mapInputs(t.input, n.spec.inputs, (k) => wf.nodes.get(k)?.result);
      if (n.spec.inputs) {
        const size = Buffer.byteLength(JSON.stringify(input));
        if (size > MAX_TASK_INPUT_BYTES)
          throw new SwarmError('PAYLOAD_TOO_LARGE', `the mapped input is ${size} bytes of JSON; the limit is ${MAX_TASK_INPUT_BYTES}`);
      }
    } catch (err) {
      this.dropReaders(wf, n);
      t.state = 'failed';
      t.finishedAt = tick.now;
      t.error = {
        message: `input mapping failed: ${(err as Error).message}`,
        code:
          err instanceof UnresolvedReferenceError ? 'INPUT_MAPPING_FAILED' : err instanceof SwarmError ? err.code : 'INPUT_MAPPING_FAILED',
        retryable: false,
      };
      this.metrics.completed.inc({ capability: t.capability, state: 'failed' });
      this.finish(t, tick, 'task.failed', { error: t.error });
      return;
    }
    this.dropReaders(wf, n);
    t.input = input;
    t.state = 'queued';
    t.queuedAt = tick.now;
    this.queues.enqueue(t);
    this.armScheduleToStart(t);
    tick.touch(t);
    tick.taskEvent(t, 'task.queued', { workflowId: wf.id, nodeKey: n.spec.key, released: true });
    n.status = 'active';
    n.taskState = 'queued';
  }

  /** The node no longer needs its parents' results: free those nobody else reads. */
  private dropReaders(wf: WorkflowRecord, n: WfNode): void {
    for (const r of n.spec.refs) {
      const rn = wf.nodes.get(r);
      if (!rn) continue;
      rn.readers = Math.max(0, rn.readers - 1);
      if (rn.readers === 0) delete rn.result;
    }
  }

  /** Every node ended: the quality gate decides. */
  private finalizeWorkflow(wf: WorkflowRecord, tick: Tick): void {
    const cov = this.coverageOf(wf);
    if (cov.gate === 'passed') {
      this.endWorkflow(wf, 'succeeded', null, tick);
      return;
    }
    const failedNodes = [...wf.nodes.values()].filter((n) => isFailure(n.status)).map((n) => n.spec.key);
    const error =
      cov.total > 0
        ? {
            code: 'QUALITY_GATE_FAILED',
            message: `requirement coverage ${cov.covered}/${cov.total} (${Math.round(cov.coverage * 100)}%) is below the minimum of ${Math.round((cov.minCoverage ?? 1) * 100)}%`,
            details: {
              coverage: cov.coverage,
              minCoverage: cov.minCoverage,
              failedRequirements: cov.requirements.filter((r) => r.status !== 'covered').map((r) => r.id),
              failedNodes,
            },
          }
        : {
            code: 'NODES_FAILED',
            message: `${failedNodes.length} node(s) did not succeed: ${failedNodes.join(', ')}`,
            details: { failedNodes },
          };
    this.endWorkflow(wf, 'failed', error, tick);
  }

  private coverageOf(wf: WorkflowRecord): ReturnType<typeof computeCoverage> {
    const statuses = [...wf.nodes.values()].map((n) => n.status);
    return computeCoverage(
      wf.spec.requirements,
      wf.spec.minCoverage,
      (k) => wf.nodes.get(k)?.status,
      (k, f) => wf.nodes.get(k)?.fields?.get(f),
      statuses,
    );
  }

  /** Ends a workflow: cancels what still waits or runs, records progress and coverage, announces it, forgets it. */
  private endWorkflow(wf: WorkflowRecord, state: 'succeeded' | 'failed' | 'cancelled', error: WorkflowRecord['error'], tick: Tick): void {
    if (wf.state !== 'running') return;
    wf.state = state;
    wf.error = error;
    wf.finishedAt = tick.now;
    if (state !== 'succeeded') {
      const reason = `workflow ${state}${error ? `: ${error.message}` : ''}`;
      for (const key of wf.order) {
        const n = wf.nodes.get(key)!;
        if (isEnded(n.status)) continue;
        const t = this.tasks.get(n.taskId);
        if (n.status === 'awaiting_approval') {
          // the task succeeded (and left memory); its gate will never open
          this.withdrawReview(t?.review ?? n.review, { id: n.taskId, tenantId: wf.tenantId, workflowId: wf.id }, tick, reason);
          n.status = 'cancelled';
          continue;
        }
        if (t && !isTerminal(t.state)) this.cancelTask(t, tick, reason, state === 'cancelled' ? 'WORKFLOW_CANCELLED' : 'WORKFLOW_FAILED');
        else n.status = 'cancelled';
      }
    }
    const statuses = [...wf.nodes.values()].map((n) => n.status);
    const cov = this.coverageOf(wf);
    const progress = progressOf(statuses);
    wf.coverage = cov.total > 0 ? cov.coverage : null;
    wf.summary = {
      progress,
      requirements: { total: cov.total, covered: cov.covered, failed: cov.failed, pending: cov.pending, gate: cov.gate },
    };
    tick.touchWorkflow(wf);
    tick.workflowEvent(wf, `workflow.${state}`, { progress, coverage: wf.coverage, error, durationMs: tick.now - wf.createdAt });
    this.workflows.delete(wf.id);
    this.dirtyWorkflows.delete(wf);
    if (wf.idempotencyKey) this.takenWorkflowKeys.delete(`${wf.tenantId}\u0000${wf.idempotencyKey}`);
  }

  /** Rebuilds the running workflows from Postgres; they are settled in the first tick (reconciliation). */
  private async loadWorkflows(): Promise<void> {
    const rows = await this.workflowStore.runningWorkflows();
    if (rows.length === 0) return;
    const stored = await this.workflowStore.nodes(
      rows.map((r) => r.id),
      true,
    );
    const byWorkflow = new Map<string, Map<string, (typeof stored)[number]>>();
    for (const s of stored) {
      let m = byWorkflow.get(s.workflowId);
      if (!m) {
        m = new Map();
        byWorkflow.set(s.workflowId, m);
      }
      m.set(s.nodeKey, s);
    }
    for (const r of rows) {
      const spec = r.spec as WorkflowSpec;
      const wf: WorkflowRecord = {
        id: r.id,
        tenantId: r.tenantId,
        name: r.name,
        state: 'running',
        failurePolicy: r.failurePolicy as WorkflowRecord['failurePolicy'],
        priority: r.priority,
        spec,
        nodes: new Map(),
        order: topologicalOrder(spec.nodes),
        template: r.template,
        params: r.params,
        idempotencyKey: r.idempotencyKey,
        labels: r.labels,
        error: null,
        summary: null,
        coverage: null,
        createdAt: r.createdAt,
        updatedAt: r.updatedAt,
        finishedAt: null,
      };
      const mine = byWorkflow.get(r.id) ?? new Map<string, (typeof stored)[number]>();
      for (const ns of spec.nodes) {
        const sn = mine.get(ns.key);
        if (!sn) {
          this.logger.error('workflow node without a task; counting it as failed', { workflowId: r.id, node: ns.key });
          wf.nodes.set(ns.key, { spec: ns, taskId: randomUUID(), status: 'failed', taskState: 'failed', dependants: [], readers: 0 });
          continue;
        }
        const live = this.tasks.get(sn.taskId);
        const state = live?.state ?? sn.state;
        const review = live?.review ?? sn.review;
        wf.nodes.set(ns.key, {
          spec: ns,
          taskId: sn.taskId,
          status: nodeStatusOf(state, review, ns.approval?.required === true),
          taskState: state,
          dependants: [],
          readers: 0,
          error: sn.error,
          ...(review ? { review } : {}),
        });
      }
      for (const ns of spec.nodes) {
        for (const d of ns.dependsOn) wf.nodes.get(d)?.dependants.push(ns.key);
        if (wf.nodes.get(ns.key)!.status === 'pending') for (const ref of ns.refs) wf.nodes.get(ref)!.readers++;
      }
      for (const [key, n] of wf.nodes) {
        if (n.taskState !== 'succeeded') continue;
        const result = mine.get(key)?.result ?? null;
        if (n.readers > 0) n.result = result;
        const fields = requirementFields(spec, key);
        if (fields.length > 0) n.fields = new Map(fields.map((f) => [f, isNonEmpty(getPath(result, f.split('.')))]));
      }
      this.workflows.set(wf.id, wf);
      this.dirtyWorkflows.add(wf);
    }
  }

  // ── sweep: agent liveness and timers ─────────────────────────────────────

  private sweep(tick: Tick): void {
    const now = tick.now;
    for (const a of this.agents.values()) {
      if (a.liveness === 'dead') continue;
      const age = now - (a.lastHeartbeatAt ?? a.registeredAt);
      let next: Liveness = 'healthy';
      if (age > this.options.deadAfterMs) next = 'dead';
      else if (age > this.options.unresponsiveAfterMs) next = 'unresponsive';
      else if (age > this.options.degradedAfterMs) next = 'degraded';
      if (next === a.liveness) continue;
      a.liveness = next;
      a.dirty = true;
      if (next === 'dead') {
        this.logger.warn('agent declared dead; requeueing its attempts', { agentId: a.id, silentMs: age, attempts: a.assigned.size });
        this.loseAgentTasks(a, tick, `agent ${a.id} died (no heartbeat for ${age} ms)`);
        tick.purges.push(a.id);
      }
    }
    for (;;) {
      const top = this.timers.peek();
      if (!top || top.at > now) break;
      this.timers.pop();
      const t = this.tasks.get(top.taskId);
      if (!t || (top.epoch !== -1 && t.epoch !== top.epoch)) continue;
      this.fireTimer(top.kind, t, tick);
    }
  }

  private fireTimer(kind: TimerKind, t: TaskRecord, tick: Tick): void {
    const now = tick.now;
    switch (kind) {
      case 'retry':
        if (t.state === 'retry_scheduled') {
          t.state = 'queued';
          t.queuedAt = now;
          t.nextAttemptAt = null;
          this.queues.enqueue(t);
          tick.touch(t);
          tick.taskEvent(t, 'task.queued', { retry: true });
        }
        return;
      case 'schedule_to_start':
        if (t.state === 'queued' && t.attempt === 0) {
          this.queues.remove(t);
          t.state = 'timed_out';
          t.finishedAt = now;
          t.error = {
            message: `not started within ${t.options.scheduleToStartMs} ms`,
            code: 'SCHEDULE_TO_START_TIMEOUT',
            retryable: false,
          };
          this.metrics.completed.inc({ capability: t.capability, state: 'timed_out' });
          this.finish(t, tick, 'task.timed_out', { error: t.error });
        }
        return;
      case 'dispatch_ack':
        if (ACTIVE_RUN_STATES.has(t.state) && !t.rt.held) {
          this.endAttempt(t, tick, 'lost', {
            message: `agent ${t.agentId} did not take the attempt within ${this.options.dispatchAckTimeoutMs} ms`,
            code: 'DISPATCH_NOT_ACKED',
            retryable: true,
          });
        }
        return;
      case 'start_to_close':
        if (ACTIVE_RUN_STATES.has(t.state)) {
          this.endAttempt(t, tick, 'timed_out', {
            message: `attempt exceeded start-to-close timeout of ${this.startToCloseOf(t)} ms`,
            code: 'START_TO_CLOSE_TIMEOUT',
            retryable: true,
          });
        }
        return;
      case 'heartbeat': {
        if (!ACTIVE_RUN_STATES.has(t.state) || t.options.heartbeatMs === undefined) return;
        const due = t.rt.lastBeatAt + t.options.heartbeatMs;
        if (due > now) this.timers.push({ at: due, taskId: t.id, kind: 'heartbeat', epoch: t.epoch });
        else
          this.endAttempt(t, tick, 'timed_out', {
            message: `no heartbeat for ${now - t.rt.lastBeatAt} ms (limit ${t.options.heartbeatMs} ms)`,
            code: 'HEARTBEAT_TIMEOUT',
            retryable: true,
          });
        return;
      }
      case 'deadline':
        // still not done at its deadline: say so now, with where the time went so far
        if (!t.rt.slaMissed && now >= (t.deadline ?? Infinity)) this.slaMissed(t, tick);
        return;
      case 'progress': {
        if (t.state !== 'running') return;
        const limit = t.options.progressMs ?? this.options.stuckAfterMs;
        const due = t.rt.progressChangedAt + limit;
        if (due > now) this.timers.push({ at: due, taskId: t.id, kind: 'progress', epoch: t.epoch });
        else
          this.endAttempt(t, tick, 'timed_out', {
            message: `no progress for ${now - t.rt.progressChangedAt} ms while heart-beating: stuck`,
            code: 'STUCK',
            retryable: true,
          });
        return;
      }
    }
  }

  private loseAgentTasks(a: AgentRecord, tick: Tick, reason: string): void {
    for (const [taskId, epoch] of [...a.assigned]) {
      a.assigned.delete(taskId);
      const t = this.tasks.get(taskId);
      if (t && t.epoch === epoch && ACTIVE_RUN_STATES.has(t.state))
        this.endAttempt(t, tick, 'lost', { message: reason, code: 'AGENT_LOST', retryable: true });
    }
    a.breaker.trialTaskId = null;
  }

  private announceAgentStates(tick: Tick): void {
    for (const a of this.agents.values()) {
      const s = agentState(a);
      if (s !== a.announcedState) {
        tick.agentEvent(a, 'agent.state_changed', { from: a.announcedState, to: s });
        a.announcedState = s;
        a.dirty = true;
        tick.agents.add(a);
      }
    }
  }

  // ── dispatch ─────────────────────────────────────────────────────────────

  private dispatchRound(tick: Tick): void {
    const now = tick.now;
    // candidate agents per queue, computed once per round
    const active: Array<{ q: import('./ready-queues').CapabilityQueue; agents: AgentRecord[] }> = [];
    for (const q of this.queues.all()) {
      if (q.size === 0) continue;
      const agents: AgentRecord[] = [];
      for (const a of this.agents.values()) {
        if (a.tenantId === q.tenantId && a.capabilities.includes(q.capability) && dispatchable(a, now)) agents.push(a);
      }
      if (agents.length > 0) active.push({ q, agents });
    }
    if (active.length === 0) return;
    const skip = new Set<string>();
    for (;;) {
      let best: { head: NonNullable<ReturnType<ReadyQueues['head']>>; agents: AgentRecord[] } | undefined;
      for (const entry of active) {
        entry.agents = entry.agents.filter((a) => dispatchable(a, now));
        if (entry.agents.length === 0) continue;
        const h = this.queues.head(entry.q, now, skip);
        if (h && (!best || h.effective > best.head.effective || (h.effective === best.head.effective && h.since < best.head.since)))
          best = { head: h, agents: entry.agents };
      }
      if (!best) return;
      const t = best.head.task;
      try {
        const key = ReadyQueues.key(t.tenantId, t.capability);
        let counter = this.rr.get(key);
        if (!counter) {
          counter = { n: 0 };
          this.rr.set(key, counter);
        }
        const agent = pickAgent(
          t,
          best.agents,
          t.options.routing?.strategy ?? this.options.defaultRouting,
          counter,
          this.tuning.poolWeights(t.tenantId, t.capability),
        );
        const decision = agent ? this.admission.tryAdmit(t, agent, now) : false;
        if (decision !== true) {
          // pinned agent busy, or no capacity granted for the task's resources yet: leave it queued
          if (agent) t.rt.admissionBlockedAt ??= now;
          if (decision === 'skip_queue') {
            const i = active.findIndex((e) => e.q === best.head.queue);
            if (i >= 0) active.splice(i, 1);
          } else skip.add(t.id);
          if (skip.size > 4096) return;
          continue;
        }
        this.assign(t, agent!, tick);
      } catch (err) {
        // a task the engine cannot dispatch would stay at the head of its queue, failing every round
        this.guard.fault('dispatch', err);
        skip.add(t.id);
        this.quarantine(t, tick);
      }
    }
  }

  /**
   * Fails a task that an internal error keeps the engine from handling (the error is logged with
   * its stack), so that it cannot block its queue; the working set is rebuilt after the commit.
   */
  private quarantine(t: TaskRecord, tick: Tick): void {
    try {
      if (t.state === 'queued') this.queues.remove(t);
      t.state = 'failed';
      t.finishedAt = tick.now;
      t.error = capError({
        message: 'the coordinator hit an internal error handling this task (see its log); the task was failed so it cannot block its queue',
        code: 'INTERNAL',
        retryable: false,
        at: new Date(tick.now).toISOString(),
      });
      this.metrics.completed.inc({ capability: t.capability, state: 'failed' });
      this.finish(t, tick, 'task.failed', { error: t.error, reason: 'internal error' });
    } catch (err) {
      this.guard.fault('quarantine', err);
    }
  }

  private assign(t: TaskRecord, agent: AgentRecord, tick: Tick): void {
    const now = tick.now;
    this.queues.take(t);
    t.attempt++;
    t.epoch++;
    t.state = 'dispatched';
    t.agentId = agent.id;
    t.progress = null;
    t.attempts.push({
      attempt: t.attempt,
      epoch: t.epoch,
      agentId: agent.id,
      dispatchedAt: now,
      ...(t.rt.admissionBlockedAt !== null ? { admissionWaitMs: now - t.rt.admissionBlockedAt } : {}),
      startedAt: null,
      finishedAt: null,
      outcome: null,
      error: null,
    });
    const admittedOn = this.admission.poolOf?.(t.id);
    const entry = t.attempts[t.attempts.length - 1]!;
    if (admittedOn) entry.pool = admittedOn;
    t.rt = { ...newRuntime(now), queueToken: t.rt.queueToken, slaMissed: t.rt.slaMissed };
    agent.assigned.set(t.id, t.epoch);
    if (agent.breaker.state === 'half_open') agent.breaker.trialTaskId = t.id;
    this.timers.push({ at: now + this.options.dispatchAckTimeoutMs, taskId: t.id, kind: 'dispatch_ack', epoch: t.epoch });
    this.touchLazily(t, tick);
    const startToCloseMs = this.startToCloseOf(t);
    tick.taskEvent(t, 'task.dispatched', {
      queueWaitMs: now - (t.queuedAt ?? t.createdAt),
      ...(entry.admissionWaitMs !== undefined ? { admissionWaitMs: entry.admissionWaitMs } : {}),
      pool: entry.pool ?? t.options.resources?.pool ?? null,
      ...(startToCloseMs !== undefined ? { startToCloseMs } : {}),
    });
    let list = tick.dispatches.get(agent);
    if (!list) {
      list = [];
      tick.dispatches.set(agent, list);
    }
    list.push(t);
  }

  private publishDispatch(agent: AgentRecord, tasks: TaskRecord[]): void {
    const tracer = meshTracer();
    const spans = tasks.map((t) =>
      tracer.startSpan(
        `dispatch ${t.capability}`,
        { kind: SpanKind.PRODUCER, attributes: { 'swarm.task.id': t.id, 'swarm.task.attempt': t.attempt, 'swarm.agent.id': agent.id } },
        fromTraceparent(t.traceparent),
      ),
    );
    const batch = {
      agentId: agent.id,
      instanceId: agent.instanceId,
      tasks: tasks.map((t, i) => {
        const span = spans[i]!;
        const errors = t.attempts.filter((a) => a.error).map((a) => a.error!);
        const pool = this.admission.poolOf?.(t.id);
        const startToCloseMs = this.startToCloseOf(t);
        return {
          taskId: t.id,
          tenantId: t.tenantId,
          capability: t.capability,
          attempt: t.attempt,
          epoch: t.epoch,
          priority: (['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const)[t.priority]!,
          input: t.input,
          maxAttempts: t.options.maxAttempts,
          ...(t.checkpoint ? { checkpoint: t.checkpoint } : {}),
          previousErrors: errors,
          ...(t.deadline !== null ? { deadline: new Date(t.deadline).toISOString() } : {}),
          ...(startToCloseMs !== undefined ? { startToCloseMs } : {}),
          ...(t.options.heartbeatMs !== undefined ? { heartbeatMs: t.options.heartbeatMs } : {}),
          ...(t.traceparent ? { traceparent: toTraceparent(trace.setSpan(fromTraceparent(t.traceparent), span)) ?? t.traceparent } : {}),
          ...(pool !== undefined ? { pool } : {}),
        };
      }),
    };
    // one message per agent unless its tasks would exceed the NATS payload limit; each task is
    // serialised once (its size decides the split, its text goes into the message as it is)
    const limit = (this.bus.nc.info?.max_payload ?? 1024 * 1024) * 0.9;
    // the batch without its tasks, up to the open array (`tasks` is its last key): `{…,"tasks":[`
    const head = JSON.stringify({ ...batch, tasks: [] }).slice(0, -2);
    const parts: string[][] = [[]];
    let size = 0;
    for (const item of batch.tasks) {
      const json = JSON.stringify(item);
      const s = Buffer.byteLength(json);
      if (size + s > limit && parts[parts.length - 1]!.length > 0) {
        parts.push([]);
        size = 0;
      }
      parts[parts.length - 1]!.push(json);
      size += s;
    }
    void Promise.all(
      parts.map((part) =>
        this.bus
          .publishDurableJson(AgentProtocol.dispatch, `${head}${part.join(',')}]}`, {
            params: [agent.id],
            msgId: `dispatch:${randomUUID()}`,
          })
          .catch((err: unknown) =>
            this.logger.error('dispatch publish failed; the ack timeout will requeue', { agentId: agent.id, tasks: part.length, err }),
          ),
      ),
    ).finally(() => {
      for (const s of spans) s.end();
    });
    this.metrics.dispatched.inc(tasks.length);
  }

  private completeSpan(t: TaskRecord, event: string): void {
    if (!t.traceparent) return;
    const span = meshTracer().startSpan(
      `complete ${t.capability}`,
      { kind: SpanKind.INTERNAL, attributes: { 'swarm.task.id': t.id, 'swarm.task.state': t.state, 'swarm.event': event } },
      fromTraceparent(t.traceparent),
    );
    span.end();
  }

  private sendControl(c: PendingControl): void {
    const instanceId = c.instanceId ?? this.agents.get(c.agentId)?.instanceId;
    try {
      this.bus.publish(
        AgentProtocol.control,
        {
          kind: c.kind,
          ...(instanceId ? { instanceId } : {}),
          ...(c.tasks ? { tasks: c.tasks } : {}),
          ...(c.reason ? { reason: c.reason } : {}),
        },
        { params: [c.agentId], to: `agent:${c.agentId}` },
      );
    } catch (err) {
      this.logger.warn('control publish failed', { agentId: c.agentId, kind: c.kind, err });
    }
  }

  private async purgeDispatches(agentId: string): Promise<void> {
    try {
      const jsm = await this.bus.jsm();
      await jsm.streams.purge(this.bus.name(STREAMS.DISPATCH), { filter: this.bus.subject(AgentProtocol.dispatch.subjectFor(agentId)) });
    } catch (err) {
      this.logger.warn('could not purge dispatches of a lost agent instance', { agentId, err });
    }
  }

  // ── reads ────────────────────────────────────────────────────────────────

  agentErrorLog(agentId: string, limit: number): AgentErrorEntry[] {
    return [...(this.agentErrors.get(agentId) ?? [])].reverse().slice(0, limit);
  }

  /** Is a capability known for the tenant (some agent registered it)? */
  isKnownCapability(tenantId: string, capability: string): boolean {
    return this.knownCaps(tenantId).has(capability);
  }

  /** Live counts for queue depths and metrics. */
  queueSnapshot(tenantId: string | null): Array<{
    tenantId: string;
    capability: string;
    counts: number[];
    oldestAgeMs: number | null;
    dispatched: number;
    running: number;
    retryScheduled: number;
    availableAgents: number;
    freeSlots: number;
  }> {
    const now = Date.now();
    const rows = new Map<
      string,
      {
        tenantId: string;
        capability: string;
        counts: number[];
        oldestAgeMs: number | null;
        dispatched: number;
        running: number;
        retryScheduled: number;
        availableAgents: number;
        freeSlots: number;
      }
    >();
    const row = (tenant: string, cap: string) => {
      const k = ReadyQueues.key(tenant, cap);
      let r = rows.get(k);
      if (!r) {
        r = {
          tenantId: tenant,
          capability: cap,
          counts: [0, 0, 0, 0],
          oldestAgeMs: null,
          dispatched: 0,
          running: 0,
          retryScheduled: 0,
          availableAgents: 0,
          freeSlots: 0,
        };
        rows.set(k, r);
      }
      return r;
    };
    for (const q of this.queues.all()) {
      if (tenantId !== null && q.tenantId !== tenantId) continue;
      const s = this.queues.stats(q, now);
      const r = row(q.tenantId, q.capability);
      r.counts = s.counts;
      r.oldestAgeMs = s.oldestAgeMs;
    }
    for (const t of this.tasks.values()) {
      if (tenantId !== null && t.tenantId !== tenantId) continue;
      if (t.state === 'dispatched') row(t.tenantId, t.capability).dispatched++;
      else if (t.state === 'running') row(t.tenantId, t.capability).running++;
      else if (t.state === 'retry_scheduled') row(t.tenantId, t.capability).retryScheduled++;
    }
    for (const [tenant, caps] of this.capabilities) {
      if (tenantId !== null && tenant !== tenantId) continue;
      for (const c of caps) row(tenant, c);
    }
    for (const a of this.agents.values()) {
      if (tenantId !== null && a.tenantId !== tenantId) continue;
      const ok =
        (a.liveness === 'healthy' || a.liveness === 'degraded') && !a.operatorDrain && !a.agentDraining && a.breaker.state !== 'open';
      if (!ok) continue;
      for (const c of a.capabilities) {
        const r = row(a.tenantId, c);
        r.availableAgents++;
        r.freeSlots += freeSlots(a);
      }
    }
    return [...rows.values()].sort((x, y) => x.capability.localeCompare(y.capability));
  }
}

interface Prefetched {
  keys: Map<string, Map<string, string>>;
  tasks: Map<string, TaskRecord>;
  deadLetters: Map<string, DeadLetterRow>;
  /** Workflow idempotency keys by tenant. */
  workflowKeys: Map<string, Map<string, string>>;
  /** Workflows named by ops that are not in memory (finished, or another tenant's). */
  workflows: Map<string, StoredWorkflow>;
  /** What each spawning parent already has. */
  spawns: Map<string, SpawnFacts>;
}

interface SpawnFacts {
  existing: Map<string, { id: string; capability: string; state: TaskState; tier: string; depth: number }>;
  children: number;
  treeSize: number;
}

function approvalOption(a: { required: boolean; approvers?: string[] }): { required: boolean; approvers?: string[] } {
  return { required: true, ...(a.approvers?.length ? { approvers: [...a.approvers] } : {}) };
}

/** The task fields a workflow node or a spawned subtask shares with a submitted task. */
type TaskFields = Pick<SubmitTaskDto, 'capability' | 'input' | 'retry' | 'timeouts' | 'routing' | 'resources' | 'approval' | 'deadline'>;
