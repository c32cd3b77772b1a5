import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  type AgentControlMessage,
  type AgentHeartbeat,
  AgentProtocol,
  type AgentRegisterReply,
  type AgentRegistration,
  type AgentReportDto,
  type AttemptResultDto,
  type Ctor,
  type DispatchBatch,
  type DispatchedTaskDto,
  type ResultBatch,
  type RunningAttemptDto,
  SwarmError,
  validatePlain,
} from '@swarm-mesh/contracts';
import { connectMesh, MeshBus } from '@swarm-mesh/messaging';
import {
  currentTraceId,
  fromTraceparent,
  type Logger,
  meshTracer,
  recordError,
  type Span,
  SpanKind,
  SpanStatusCode,
  context as otelContext,
  trace,
  traceIdOf,
} from '@swarm-mesh/telemetry';
import {
  type Consumer,
  type ConsumerMessages,
  ErrorCode as NatsErrorCode,
  Events as NatsEvents,
  type JsMsg,
  type NatsConnection,
  type Subscription,
} from 'nats';
import { Batcher, backoffDelay } from './batcher';
import { processStats } from './process-stats';
import { AgentChannels } from './channels';
import {
  type AbortReason,
  AttemptAbortedError,
  feedbackOf,
  type HandlerOptions,
  isJsonObject,
  mergeUsage,
  type SubtaskOutcome,
  type SubtaskHandle,
  type SubtaskSpec,
  type TaskContext,
  type TaskHandler,
  type TaskUsage,
} from './context';
import { AttemptSubtasks } from './subtasks';
import { NonRetryableError, SDK_ERROR_CODES, TaskError } from './errors';
import { type SettledAttemptInfo, settleAttempt } from './outcome';
import type { AgentEventListener, AgentEventName, AgentEvents } from './events';
import { type AgentOptions, type CompiledAgentOptions, compileAgentOptions } from './options';
import { registerForSignals, unregisterForSignals } from './signals';
import { storableText } from './storable';

/** Lifecycle of an Agent object. */
export type AgentLifecycle = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

interface HandlerEntry {
  handler: TaskHandler<object, object>;
  input: Ctor<object> | undefined;
}

interface Attempt {
  readonly task: DispatchedTaskDto;
  readonly key: string;
  readonly abort: AbortController;
  abortReason: AbortReason | undefined;
  readonly startedAt: string;
  progressSeq: number;
  readonly usage: TaskUsage;
  checkpointData: Record<string, unknown> | undefined;
  /** Result already synthesised (shutdown); the handler's own ending is ignored. */
  abandoned: boolean;
  timer: NodeJS.Timeout | undefined;
  /** Subtasks of the attempt (created on first use of ctx.spawn / ctx.awaitChildren). */
  subtasks?: AttemptSubtasks;
}

/** Largest number of results in one ResultBatch (contract: ≤ 1000). */
const MAX_RESULTS_PER_BATCH = 1000;
/** Largest number of reports in one report batch. */
const MAX_REPORTS_PER_BATCH = 1000;
/** A batcher that sent nothing for this many delays is idle: its next item leaves on the next turn. */
const BUSY_WINDOW_DELAYS = 5;
/** Attempt keys remembered after they finished, to drop redelivered dispatches. */
const RECENT_KEYS = 10_000;
/** After the grace period and the abort, how long stop() still waits for handlers to settle. */
const ABORT_SETTLE_MS = 2_000;

class StoppedSignal extends Error {
  constructor() {
    super('agent stopped');
  }
}

function keyOf(taskId: string, epoch: number): string {
  return `${taskId}:${epoch}`;
}

/**
 * An agent process's connection to the mesh: registers its capabilities with the coordinator,
 * pulls dispatched tasks only into free slots, runs handlers, reports progress and results in
 * batches, heart-beats, and obeys control messages (cancel, drain, resume, restart).
 *
 * ```ts
 * const agent = new Agent({ id: 'fetcher-1', domain: 'data', concurrency: 8 });
 * agent.handle('data.fetch', async (ctx) => ({ records: await fetchAll(ctx.input, ctx.signal) }));
 * await agent.start();
 * ```
 */
export class Agent {
  /** Options after defaults and validation. */
  readonly options: CompiledAgentOptions;
  /** Publish/subscribe on the swarm channels. */
  readonly channels = new AgentChannels();
  readonly logger: Logger;

  private readonly handlers = new Map<string, HandlerEntry>();
  private readonly emitter = new EventEmitter();
  private lifecycle: AgentLifecycle = 'new';
  private currentInstanceId = randomUUID();
  private pullMode: 'ready' | 'draining' = 'ready';
  private nc: NatsConnection | undefined;
  private ownsConnection = false;
  private bus: MeshBus | undefined;
  private controlSub: Subscription | undefined;
  private statusIter: AsyncIterable<unknown> | undefined;
  private registration: AgentRegisterReply | undefined;
  private announced: string[] = [];
  private startPromise: Promise<void> | undefined;
  private stopPromise: Promise<void> | undefined;
  private closing = false;
  private restarting = false;
  private registering: Promise<void> | undefined;
  private registerAgain = false;

  // attempts
  private readonly attempts = new Map<string, Attempt>();
  private readonly byTask = new Map<string, Attempt>();
  private readonly recent = new Set<string>();

  // pulling
  private pullGeneration = 0;
  private currentFetch: ConsumerMessages | undefined;
  private slotWaiters: Array<() => void> = [];
  private sleepers = new Set<() => void>();
  private idleWaiters: Array<() => void> = [];

  // heartbeats
  private heartbeatSeq = 0;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** Set once the final heartbeat of stop() went out. */
  private heartbeatsOver = false;
  private heartbeatDueAt = 0;
  private lastHeartbeatAt = 0;

  // batching
  private readonly resultBatcher: Batcher<AttemptResultDto>;
  private readonly reportBatcher: Batcher<AgentReportDto>;
  /** Dispatch messages to ack; they go out with the reports and results due at the same time. */
  private readonly ackBatcher: Batcher<JsMsg>;
  private readonly publishes = new Set<Promise<void>>();
  private flushDeadline = Number.POSITIVE_INFINITY;

  constructor(options: AgentOptions) {
    this.options = compileAgentOptions(options);
    this.logger = this.options.logger;
    this.emitter.setMaxListeners(0);
    // acks, reports and results that are due flush together: one write to the connection, not three
    const flushAll = (): void => this.flushOutgoing();
    const delay = this.options.resultBatchDelayMs;
    // sparse traffic (nothing sent for 5 delays) leaves at once; steady traffic gathers for `delay`
    const busyWindowMs = delay * BUSY_WINDOW_DELAYS;
    this.resultBatcher = new Batcher(
      delay,
      MAX_RESULTS_PER_BATCH,
      (items) => this.trackPublish(this.publishResults(items, this.currentInstanceId)),
      flushAll,
      busyWindowMs,
    );
    this.reportBatcher = new Batcher(delay, MAX_REPORTS_PER_BATCH, (items) => this.publishReports(items), flushAll, busyWindowMs);
    this.ackBatcher = new Batcher(
      delay,
      MAX_RESULTS_PER_BATCH,
      (msgs) => {
        for (const m of msgs) m.ack();
      },
      flushAll,
      busyWindowMs,
    );
  }

  // ── public API ──────────────────────────────────────────────────────────

  get id(): string {
    return this.options.id;
  }

  /** This process's instance id (a new one after a `restart` control). */
  get instanceId(): string {
    return this.currentInstanceId;
  }

  get state(): AgentLifecycle {
    return this.lifecycle;
  }

  /** `ready` (pulling work) or `draining` (finishing running work, pulling nothing). */
  get mode(): 'ready' | 'draining' {
    return this.pullMode;
  }

  /** True once the coordinator accepted a registration. */
  get registered(): boolean {
    return this.registration !== undefined;
  }

  /** Attempts whose handlers are still executing. */
  get runningCount(): number {
    return this.attempts.size;
  }

  /** Slots free for new attempts. */
  get freeSlots(): number {
    return Math.max(0, this.options.concurrency - this.attempts.size);
  }

  /** Capabilities announced at registration (after `start()`). */
  get capabilities(): readonly string[] {
    return this.announced;
  }

  /**
   * Registers the handler of a capability. `I` types the input (validated at runtime only
   * when `options.input` gives a DTO class), `O` the result (a JSON object). Call before `start()`.
   */
  handle<I extends object = Record<string, unknown>, O extends object = Record<string, unknown>>(
    capability: string,
    handler: TaskHandler<I, O>,
    options: HandlerOptions<I> = {},
  ): this {
    if (this.lifecycle !== 'new') throw new Error(`agent ${this.id}: handle("${capability}") must be called before start()`);
    if (typeof handler !== 'function') throw new TypeError(`agent ${this.id}: the handler of "${capability}" must be a function`);
    if (!/^[a-z0-9][a-z0-9_.:-]{0,127}$/.test(capability)) {
      throw new Error(`agent ${this.id}: capability "${capability}" must match ^[a-z0-9][a-z0-9_.:-]{0,127}$`);
    }
    if (this.handlers.has(capability)) throw new Error(`agent ${this.id}: capability "${capability}" already has a handler`);
    this.handlers.set(capability, { handler: handler as unknown as TaskHandler<object, object>, input: options.input });
    return this;
  }

  /** Subscribes to an agent event (see `AgentEvents`). */
  on<K extends AgentEventName>(event: K, listener: AgentEventListener<K>): this {
    this.emitter.on(event, listener);
    return this;
  }

  once<K extends AgentEventName>(event: K, listener: AgentEventListener<K>): this {
    this.emitter.once(event, listener);
    return this;
  }

  off<K extends AgentEventName>(event: K, listener: AgentEventListener<K>): this {
    this.emitter.off(event, listener);
    return this;
  }

  /**
   * Connects, subscribes to control messages and registers with the coordinator (retrying
   * with backoff until it answers), then starts heart-beating and pulling work. Resolves once
   * registered; rejects when the coordinator refuses the registration (non-retryable error)
   * or `registerRetry.maxAttempts` ran out. A `stop()` during start makes it resolve.
   */
  start(): Promise<void> {
    this.startPromise ??= this.doStart();
    return this.startPromise;
  }

  /** Stops pulling new work; running attempts finish; heartbeats say `draining`. */
  drain(): void {
    if (this.pullMode === 'draining') return;
    this.pullMode = 'draining';
    this.stopPulling();
    this.emit('mode', { mode: 'draining' });
    this.logger.info('draining');
    this.sendHeartbeat();
  }

  /** Pulls work again after `drain()`. */
  resume(): void {
    if (this.closing) {
      this.logger.warn('resume ignored: the agent is stopping');
      return;
    }
    if (this.pullMode === 'ready') return;
    this.pullMode = 'ready';
    this.emit('mode', { mode: 'ready' });
    this.logger.info('resumed');
    this.startPulling();
    this.sendHeartbeat();
  }

  /**
   * Graceful shutdown: stops pulling, waits for running handlers up to `shutdownGraceMs`,
   * then aborts them (reported `cancelled` with error `AGENT_SHUTDOWN`, so the coordinator
   * requeues them without counting a failure), flushes results,
   * sends a final `draining` heartbeat with no running attempts and closes the connection
   * (unless it was passed in). Idempotent.
   */
  stop(): Promise<void> {
    this.stopPromise ??= this.doStop();
    return this.stopPromise;
  }

  // ── start / stop ────────────────────────────────────────────────────────

  private async doStart(): Promise<void> {
    if (this.closing) return;
    this.lifecycle = 'starting';
    const o = this.options;
    if (this.handlers.size === 0) {
      this.lifecycle = 'new';
      throw new Error(`agent ${o.id}: register at least one handler with agent.handle() before start()`);
    }
    if (o.capabilities) {
      const missing = o.capabilities.filter((c) => !this.handlers.has(c));
      if (missing.length > 0) {
        this.lifecycle = 'new';
        throw new Error(`agent ${o.id}: capabilities without a handler: ${missing.join(', ')}`);
      }
      const unannounced = [...this.handlers.keys()].filter((c) => !o.capabilities!.includes(c));
      if (unannounced.length > 0) this.logger.warn('handlers for capabilities that are not announced', { capabilities: unannounced });
      this.announced = [...o.capabilities];
    } else {
      this.announced = [...this.handlers.keys()];
    }
    if (o.handleSignals) registerForSignals(this);

    let nc: NatsConnection;
    if (o.connection) {
      nc = o.connection;
    } else {
      nc = await connectMesh({
        servers: o.natsUrl,
        name: `agent:${o.id}`,
        logger: this.logger,
        ...(o.nats.user !== undefined ? { user: o.nats.user } : {}),
        ...(o.nats.pass !== undefined ? { pass: o.nats.pass } : {}),
        ...(o.nats.token !== undefined ? { token: o.nats.token } : {}),
        ...(o.nats.credsFile !== undefined ? { credsFile: o.nats.credsFile } : {}),
      });
      this.ownsConnection = true;
    }
    this.nc = nc;
    if (this.closing) {
      if (this.ownsConnection) await nc.close().catch(() => {});
      return;
    }
    const bus = new MeshBus({ nc, identity: `agent:${o.id}`, namespace: o.namespace, logger: this.logger });
    this.bus = bus;
    this.controlSub = bus.subscribe(AgentProtocol.control, (msg) => this.onControl(msg), {
      subject: AgentProtocol.control.subjectFor(o.id),
    });
    this.channels.attach(bus);
    void this.watchStatus(nc);
    this.lifecycle = 'running';
    this.logger.info('agent starting', {
      instanceId: this.currentInstanceId,
      capabilities: this.announced,
      concurrency: o.concurrency,
      namespace: o.namespace,
    });
    try {
      this.registering = this.register(true);
      await this.registering;
    } catch (err) {
      if (err instanceof StoppedSignal) return;
      throw err;
    } finally {
      this.registering = undefined;
    }
  }

  private async doStop(): Promise<void> {
    this.closing = true;
    if (this.lifecycle === 'new' || this.lifecycle === 'stopped') {
      this.lifecycle = 'stopped';
      return;
    }
    this.lifecycle = 'stopping';
    this.wakeSleepers();
    if (this.pullMode !== 'draining') {
      this.pullMode = 'draining';
      this.emit('mode', { mode: 'draining' });
    }
    this.stopPulling();
    if (!this.bus) {
      // still connecting: doStart closes the connection once it exists
      this.lifecycle = 'stopped';
      unregisterForSignals(this);
      return;
    }
    this.logger.info('agent stopping', { running: this.attempts.size, graceMs: this.options.shutdownGraceMs });
    this.sendHeartbeat();
    if (!(await this.waitIdle(this.options.shutdownGraceMs))) {
      this.logger.warn('grace period over; aborting running attempts', { running: this.attempts.size });
      for (const a of this.attempts.values()) this.abortAttempt(a, 'shutdown');
      if (!(await this.waitIdle(Math.min(ABORT_SETTLE_MS, Math.max(this.options.shutdownGraceMs, 100))))) this.abandonAll();
    }
    this.flushDeadline = Date.now() + Math.max(2_000, this.options.shutdownGraceMs);
    this.flushOutgoing();
    await this.waitPublishes();
    this.heartbeatsOver = true;
    this.clearHeartbeat();
    if (this.registration) {
      this.publishHeartbeat({
        agentId: this.id,
        instanceId: this.currentInstanceId,
        seq: this.heartbeatSeq++,
        mode: 'draining',
        freeSlots: 0,
        running: [],
        ...processStats.read(),
      });
    }
    this.clearHeartbeat();
    this.stopStatusWatch();
    this.channels.detach();
    try {
      this.controlSub?.unsubscribe();
    } catch {
      /* closed */
    }
    try {
      if (this.ownsConnection) await this.bus.close();
      else await this.bus.stopHandling(1_000);
    } catch (err) {
      this.logger.warn('closing the connection failed', { err });
    }
    unregisterForSignals(this);
    this.lifecycle = 'stopped';
    this.logger.info('agent stopped');
    this.emit('stopped', {});
  }

  // ── registration ────────────────────────────────────────────────────────

  private registrationBody(): AgentRegistration {
    const o = this.options;
    const body: AgentRegistration = {
      agentId: o.id,
      instanceId: this.currentInstanceId,
      tenantId: o.tenantId,
      name: o.name,
      domain: o.domain,
      tier: o.tier,
      capabilities: this.announced,
      concurrency: o.concurrency,
    };
    if (o.version !== undefined) body.version = o.version;
    if (o.metadata !== undefined) body.metadata = o.metadata;
    return body;
  }

  /** Registers, retrying with backoff. `first`: failures other than unavailability reject. */
  private async register(first: boolean): Promise<void> {
    const rr = this.options.registerRetry;
    for (let attempt = 1; ; attempt++) {
      if (this.closing || !this.bus) throw new StoppedSignal();
      try {
        const reply = await this.bus.request(AgentProtocol.register, this.registrationBody(), {
          params: [this.id],
          timeoutMs: rr.requestTimeoutMs,
        });
        if (this.closing) throw new StoppedSignal();
        this.onRegistered(reply, !first || this.registration !== undefined);
        return;
      } catch (err) {
        if (err instanceof StoppedSignal) throw err;
        const retryable = err instanceof SwarmError ? err.retryable : true;
        const code = err instanceof SwarmError ? err.code : 'ERROR';
        if (first && !retryable) {
          throw new Error(`agent ${this.id}: the coordinator refused the registration: ${code}: ${(err as Error).message}`, { cause: err });
        }
        if (first && attempt >= rr.maxAttempts) {
          throw new Error(`agent ${this.id}: no registration after ${attempt} attempts: ${code}: ${(err as Error).message}`, {
            cause: err,
          });
        }
        const delay = backoffDelay(retryable ? attempt : Math.max(attempt, 10), rr);
        const fields = { attempt, code, error: (err as Error).message, retryInMs: delay };
        if (attempt === 1 || attempt % 10 === 0) this.logger.warn('registration failed; retrying', fields);
        else this.logger.debug('registration failed; retrying', fields);
        await this.sleep(delay);
      }
    }
  }

  /** Re-registers in the background (after a reconnect, a lost consumer, an unknown agent). */
  private reRegister(reason: string): void {
    if (this.closing || this.lifecycle !== 'running') return;
    if (this.registering) {
      this.registerAgain = true;
      return;
    }
    this.logger.info('re-registering', { reason });
    this.registering = (async () => {
      do {
        this.registerAgain = false;
        await this.register(false);
      } while (this.registerAgain && !this.closing);
    })()
      .catch((err: unknown) => {
        if (!(err instanceof StoppedSignal)) this.logger.error('re-registration failed', { err });
      })
      .finally(() => {
        this.registering = undefined;
      });
  }

  private onRegistered(reply: AgentRegisterReply, reRegistration: boolean): void {
    this.registration = reply;
    const keep = new Set(reply.keep.map((k) => keyOf(k.taskId, k.epoch)));
    for (const a of [...this.attempts.values()]) {
      if (a.abortReason !== 'superseded' && !a.abandoned && !keep.has(a.key)) {
        this.logger.warn('attempt not kept by the coordinator; aborting it', { taskId: a.task.taskId, epoch: a.task.epoch });
        this.supersede(a);
      }
    }
    this.logger.info('registered', {
      instanceId: this.currentInstanceId,
      state: reply.state,
      heartbeatIntervalMs: reply.heartbeatIntervalMs,
      dispatchStream: reply.dispatchStream,
      dispatchConsumer: reply.dispatchConsumer,
      kept: reply.keep.length,
      reRegistration,
    });
    this.emit('registered', { instanceId: this.currentInstanceId, reply, reRegistration });
    this.sendHeartbeat();
    if (this.pullMode === 'ready' && !this.closing) this.startPulling();
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    const iter = nc.status();
    this.statusIter = iter;
    try {
      for await (const s of iter) {
        if (this.closing) break;
        if (s.type === NatsEvents.Reconnect) {
          this.logger.info('nats reconnected; re-registering', { server: typeof s.data === 'string' ? s.data : undefined });
          if (this.registration) this.stopPulling();
          this.reRegister('reconnect');
        }
      }
    } catch (err) {
      if (!this.closing) this.logger.warn('status watch ended', { err });
    }
  }

  private stopStatusWatch(): void {
    const it = this.statusIter as { stop?: () => void } | undefined;
    try {
      it?.stop?.();
    } catch {
      /* already stopped */
    }
    this.statusIter = undefined;
  }

  // ── pulling ─────────────────────────────────────────────────────────────

  private startPulling(): void {
    if (this.closing || this.pullMode !== 'ready' || !this.registration || !this.bus) return;
    const gen = ++this.pullGeneration;
    this.closeFetch();
    this.wakeSlotWaiters();
    void this.pullLoop(gen).catch((err: unknown) => this.logger.error('pull loop failed', { err }));
  }

  private stopPulling(): void {
    this.pullGeneration++;
    this.closeFetch();
    this.wakeSlotWaiters();
    this.wakeSleepers();
  }

  private closeFetch(): void {
    const f = this.currentFetch;
    this.currentFetch = undefined;
    if (f) {
      try {
        f.stop();
      } catch {
        /* already stopped */
      }
    }
  }

  private async pullLoop(gen: number): Promise<void> {
    const reg = this.registration;
    const bus = this.bus;
    if (!reg || !bus) return;
    let failures = 0;
    let consumer: Consumer | undefined;
    while (gen === this.pullGeneration) {
      const free = this.freeSlots;
      if (free <= 0) {
        await this.waitForSlot();
        continue;
      }
      let iter: ConsumerMessages | undefined;
      try {
        consumer ??= await bus.js().consumers.get(reg.dispatchStream, reg.dispatchConsumer);
        if (gen !== this.pullGeneration) break;
        iter = await consumer.fetch({ max_messages: free, expires: this.options.pullExpiresMs });
        if (gen !== this.pullGeneration) {
          iter.stop();
          break;
        }
        this.currentFetch = iter;
        for await (const m of iter) this.onDispatch(m);
        failures = 0;
      } catch (err) {
        if (gen !== this.pullGeneration) break;
        failures++;
        consumer = undefined;
        const message = (err as Error)?.message ?? String(err);
        const missing = /not found|no responders|consumer deleted/i.test(message);
        const delay = backoffDelay(failures, { initialDelayMs: 100, maxDelayMs: 5_000, multiplier: 2, jitter: 0.2 });
        const fields = { failures, error: message, stream: reg.dispatchStream, consumer: reg.dispatchConsumer, retryInMs: delay };
        if (failures === 1 || failures % 10 === 0) this.logger.warn('pulling dispatches failed', fields);
        else this.logger.debug('pulling dispatches failed', fields);
        if (missing && failures % 3 === 0) this.reRegister('dispatch consumer unavailable');
        await this.sleep(delay);
      } finally {
        if (iter && this.currentFetch === iter) this.currentFetch = undefined;
      }
    }
  }

  private onDispatch(m: JsMsg): void {
    let batch: DispatchBatch;
    try {
      batch = this.bus!.decodeMessage(AgentProtocol.dispatch, m).body;
    } catch (err) {
      this.logger.warn('invalid dispatch message dropped', { code: (err as SwarmError).code, error: (err as Error).message });
      m.term();
      return;
    }
    if (batch.instanceId !== this.currentInstanceId || batch.agentId !== this.id) {
      this.logger.debug('dispatch for another instance ignored', { instanceId: batch.instanceId, tasks: batch.tasks.length });
      m.ack();
      this.emit('dispatch', { tasks: batch.tasks.length, ignored: true, overflow: false });
      return;
    }
    if (this.closing) {
      // shutting down: leave them to the coordinator (it requeues them when this instance is gone)
      m.nak();
      return;
    }
    const free = this.freeSlots;
    const overflow = batch.tasks.length > free;
    if (overflow) {
      this.logger.warn('dispatch exceeds free slots; accepting anyway', {
        tasks: batch.tasks.length,
        freeSlots: free,
        concurrency: this.options.concurrency,
      });
    }
    for (const t of batch.tasks) this.accept(t);
    // acked within resultBatchDelayMs, with the results of short tasks (a crash before that means
    // a redelivery, which the fencing by epoch makes harmless)
    this.ackBatcher.add(m);
    this.emit('dispatch', { tasks: batch.tasks.length, ignored: false, overflow });
  }

  private waitForSlot(): Promise<void> {
    return new Promise((resolve) => this.slotWaiters.push(resolve));
  }

  private wakeSlotWaiters(): void {
    const w = this.slotWaiters;
    this.slotWaiters = [];
    for (const r of w) r();
  }

  /** Sleeps `ms`, or less when the agent stops or pulling restarts. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }

  private wakeSleepers(): void {
    for (const s of [...this.sleepers]) s();
  }

  // ── attempts ────────────────────────────────────────────────────────────

  private accept(task: DispatchedTaskDto): void {
    const key = keyOf(task.taskId, task.epoch);
    if (this.attempts.has(key) || this.recent.has(key)) {
      this.logger.debug('duplicate dispatch ignored', { taskId: task.taskId, epoch: task.epoch });
      return;
    }
    const prev = this.byTask.get(task.taskId);
    if (prev) {
      if (prev.task.epoch > task.epoch) {
        this.logger.debug('stale dispatch ignored', { taskId: task.taskId, epoch: task.epoch, running: prev.task.epoch });
        return;
      }
      this.supersede(prev);
    }
    const a: Attempt = {
      task,
      key,
      abort: new AbortController(),
      abortReason: undefined,
      startedAt: new Date().toISOString(),
      progressSeq: 0,
      usage: {},
      checkpointData: task.checkpoint,
      abandoned: false,
      timer: undefined,
    };
    this.attempts.set(key, a);
    this.byTask.set(task.taskId, a);
    this.reportBatcher.add({ kind: 'started', taskId: task.taskId, epoch: task.epoch, at: a.startedAt });
    if (task.heartbeatMs !== undefined) this.tightenHeartbeat(task.heartbeatMs);
    this.emit('task:started', { taskId: task.taskId, epoch: task.epoch, attempt: task.attempt, capability: task.capability });
    void this.run(a);
  }

  private async run(a: Attempt): Promise<void> {
    const { task } = a;
    const entry = this.handlers.get(task.capability);
    const parent = fromTraceparent(task.traceparent);
    const span = meshTracer().startSpan(
      `run ${task.capability}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'swarm.task.id': task.taskId,
          'swarm.task.attempt': task.attempt,
          'swarm.task.epoch': task.epoch,
          'swarm.task.capability': task.capability,
          'swarm.agent.id': this.id,
          'swarm.agent.instance_id': this.currentInstanceId,
        },
      },
      parent,
    );
    const spanCtx = trace.setSpan(parent, span);
    const traceId = currentTraceId(spanCtx) ?? traceIdOf(task.traceparent);
    if (task.startToCloseMs !== undefined) {
      a.timer = setTimeout(() => this.abortAttempt(a, 'timeout'), task.startToCloseMs);
    }
    let threw = false;
    let value: unknown;
    let error: unknown;
    try {
      if (!entry) {
        throw new TaskError(`agent ${this.id} has no handler for capability "${task.capability}"`, {
          code: SDK_ERROR_CODES.NO_HANDLER,
          retryable: true,
        });
      }
      let input: object = task.input;
      if (entry.input) {
        try {
          input = validatePlain(entry.input, task.input, 'task input');
        } catch (err) {
          const se = err as SwarmError;
          throw new NonRetryableError(se.message, { code: SDK_ERROR_CODES.INVALID_INPUT, ...(se.details ? { details: se.details } : {}) });
        }
      }
      const ctx = this.makeContext(a, input, traceId);
      value = await otelContext.with(spanCtx, () => entry.handler(ctx));
    } catch (err) {
      threw = true;
      error = err;
    }
    this.finish(a, threw, value, error, span);
  }

  private makeContext(a: Attempt, input: object, traceId: string | undefined): TaskContext<object> {
    const { task } = a;
    // the child logger is built on first use: most handlers of a busy agent never log
    const base = this.logger;
    let logger: Logger | undefined;
    return {
      agentId: this.id,
      taskId: task.taskId,
      tenantId: task.tenantId,
      capability: task.capability,
      priority: task.priority,
      input,
      attempt: task.attempt,
      maxAttempts: task.maxAttempts,
      epoch: task.epoch,
      previousErrors: task.previousErrors,
      get checkpointData() {
        return a.checkpointData;
      },
      // read on first use: most handlers never look at it, and creating the AbortSignal was 7 % of a
      // no-op agent's CPU
      get signal() {
        return a.abort.signal;
      },
      traceId,
      deadline: task.deadline !== undefined ? new Date(task.deadline) : undefined,
      timeoutAt: task.startToCloseMs !== undefined ? new Date(Date.parse(a.startedAt) + task.startToCloseMs) : undefined,
      pool: task.pool,
      get logger(): Logger {
        return (logger ??= base.child({ taskId: task.taskId, attempt: task.attempt, capability: task.capability }));
      },
      progress: (percent?: number, message?: string): void => this.progress(a, percent, message),
      heartbeat: (): void => this.maybeEarlyHeartbeat(),
      checkpoint: (state: Record<string, unknown>): Promise<void> => this.checkpoint(a, state),
      reportUsage(usage: TaskUsage): void {
        mergeUsage(a.usage, usage);
      },
      get feedback() {
        return feedbackOf(task.previousErrors);
      },
      spawn: ((arg: SubtaskSpec[] | { tasks: SubtaskSpec[]; waitFor: 'all' | 'any'; timeoutMs?: number }) =>
        this.spawnFor(a, arg)) as TaskContext['spawn'],
      awaitChildren: (children, options) => this.subtasksOf(a).awaitChildren(children, options),
    };
  }

  private subtasksOf(a: Attempt): AttemptSubtasks {
    a.subtasks ??= new AttemptSubtasks(
      { agentId: this.id, bus: () => this.bus, superseded: () => this.supersede(a) },
      a.task.taskId,
      a.task.epoch,
      a.abort.signal,
    );
    return a.subtasks;
  }

  private async spawnFor(
    a: Attempt,
    arg: SubtaskSpec[] | { tasks: SubtaskSpec[]; waitFor: 'all' | 'any'; timeoutMs?: number },
  ): Promise<SubtaskHandle[] | SubtaskOutcome[]> {
    const st = this.subtasksOf(a);
    if (Array.isArray(arg)) return st.spawn(arg);
    const handles = await st.spawn(arg.tasks);
    return st.awaitChildren(handles, { mode: arg.waitFor, ...(arg.timeoutMs !== undefined ? { timeoutMs: arg.timeoutMs } : {}) });
  }

  private progress(a: Attempt, percent: number | undefined, message: string | undefined): void {
    if (percent !== undefined && (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 1)) {
      throw new RangeError(`progress percent must be a fraction between 0 and 1 (got ${String(percent)})`);
    }
    if (!this.attempts.has(a.key) || a.abandoned) return;
    a.progressSeq++;
    const report: AgentReportDto = { kind: 'progress', taskId: a.task.taskId, epoch: a.task.epoch, at: new Date().toISOString() };
    if (percent !== undefined) report.percent = percent;
    if (message !== undefined) report.message = storableText(String(message).slice(0, 1000));
    this.reportBatcher.add(report);
  }

  private async checkpoint(a: Attempt, state: Record<string, unknown>): Promise<void> {
    if (!isJsonObject(state)) throw new TypeError('checkpoint state must be a JSON object');
    if (a.abort.signal.aborted) throw a.abort.signal.reason;
    if (!this.bus) throw new Error('agent not connected');
    try {
      await this.bus.request(AgentProtocol.checkpoint, { taskId: a.task.taskId, epoch: a.task.epoch, state }, { params: [this.id] });
      a.checkpointData = state;
    } catch (err) {
      if (err instanceof SwarmError && err.code === 'STALE_LEASE') {
        this.logger.warn('checkpoint refused: attempt superseded; aborting it', { taskId: a.task.taskId, epoch: a.task.epoch });
        this.supersede(a);
      } else if (err instanceof SwarmError && err.code === 'AGENT_NOT_FOUND') {
        this.reRegister('coordinator does not know the agent');
      }
      throw err;
    }
  }

  private abortAttempt(a: Attempt, reason: AbortReason): void {
    if (a.abort.signal.aborted) return;
    a.abortReason = reason;
    a.abort.abort(new AttemptAbortedError(reason));
  }

  /** The attempt belongs to someone else now: abort it and never report it. */
  private supersede(a: Attempt): void {
    this.abortAttempt(a, 'superseded');
    a.abortReason = 'superseded';
    if (this.byTask.get(a.task.taskId) === a) this.byTask.delete(a.task.taskId);
  }

  private finish(a: Attempt, threw: boolean, value: unknown, error: unknown, span: Span): void {
    if (a.timer) clearTimeout(a.timer);
    if (a.abandoned) {
      this.logger.debug('handler settled after shutdown gave up on it', { taskId: a.task.taskId });
      span.end();
      return;
    }
    const { task } = a;
    const reason = a.abortReason;
    const result = settleAttempt(this.attemptInfo(a), { threw, value, error, abortReason: reason }, this.id);
    const superseded = reason === 'superseded';
    span.setAttribute('swarm.attempt.outcome', superseded ? 'superseded' : result.outcome);
    if (result.outcome === 'failed') {
      if (threw && error !== undefined) recordError(span, error);
      else span.setStatus({ code: SpanStatusCode.ERROR, message: result.error?.message ?? 'failed' });
      if (result.error?.code) span.setAttribute('swarm.error.code', result.error.code);
    }
    span.end();
    this.release(a);
    if (!superseded) {
      this.resultBatcher.add(result);
      // half the slots or more still running or unreported: the coordinator counts them busy and
      // may be waiting for them to dispatch more (throughput is then bound by the dispatch ->
      // result cycle), so the results leave at once
      if ((this.attempts.size + this.resultBatcher.size) * 2 >= this.options.concurrency) this.resultBatcher.expedite();
    }
    if (result.outcome === 'failed' && !superseded) {
      this.logger.info('attempt failed', {
        taskId: task.taskId,
        attempt: task.attempt,
        code: result.error?.code,
        error: result.error?.message,
      });
    }
    this.emit('task:finished', {
      taskId: task.taskId,
      epoch: task.epoch,
      attempt: task.attempt,
      capability: task.capability,
      outcome: superseded ? 'superseded' : result.outcome,
      reported: !superseded,
      result,
    });
  }

  private attemptInfo(a: Attempt): SettledAttemptInfo {
    return {
      taskId: a.task.taskId,
      attempt: a.task.attempt,
      epoch: a.task.epoch,
      capability: a.task.capability,
      startToCloseMs: a.task.startToCloseMs,
      startedAt: a.startedAt,
      usage: a.usage,
    };
  }

  /** Gives up on handlers that ignore their abort signal: report them failed and free the slots. */
  private abandonAll(): void {
    for (const a of [...this.attempts.values()]) {
      a.abandoned = true;
      if (a.timer) clearTimeout(a.timer);
      const result = settleAttempt(this.attemptInfo(a), { threw: true, error: undefined, abortReason: 'shutdown' }, this.id);
      const superseded = a.abortReason === 'superseded';
      this.logger.warn('handler ignored its abort signal; reporting it failed', { taskId: a.task.taskId });
      this.release(a);
      if (!superseded) this.resultBatcher.add(result);
      this.emit('task:finished', {
        taskId: a.task.taskId,
        epoch: a.task.epoch,
        attempt: a.task.attempt,
        capability: a.task.capability,
        outcome: superseded ? 'superseded' : result.outcome,
        reported: !superseded,
        result,
      });
    }
  }

  private release(a: Attempt): void {
    if (!this.attempts.delete(a.key)) return;
    if (this.byTask.get(a.task.taskId) === a) this.byTask.delete(a.task.taskId);
    this.recent.add(a.key);
    if (this.recent.size > RECENT_KEYS) {
      const oldest = this.recent.values().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
    this.wakeSlotWaiters();
    if (this.attempts.size === 0) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const r of w) r();
    }
  }

  /** Resolves true once no handler runs, false after `ms`. */
  private waitIdle(ms: number): Promise<boolean> {
    if (this.attempts.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== onIdle);
        resolve(false);
      }, ms);
      const onIdle = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.idleWaiters.push(onIdle);
    });
  }

  // ── control ─────────────────────────────────────────────────────────────

  private onControl(msg: AgentControlMessage): void {
    // a message for another process that used (or uses) this agent id is not ours
    if (msg.instanceId !== undefined && msg.instanceId !== this.currentInstanceId) return;
    this.emit('control', msg);
    this.logger.info('control message', { kind: msg.kind, tasks: msg.tasks?.length, reason: msg.reason });
    switch (msg.kind) {
      case 'cancel':
        for (const t of msg.tasks ?? []) {
          const a = this.attempts.get(keyOf(t.taskId, t.epoch));
          if (a && a.abortReason !== 'superseded') this.abortAttempt(a, 'cancelled');
          else this.logger.debug('cancel for an attempt not running here', { taskId: t.taskId, epoch: t.epoch });
        }
        break;
      case 'drain':
        this.drain();
        break;
      case 'resume':
        this.resume();
        break;
      case 'restart':
        void this.restart();
        break;
    }
  }

  /** Drains, waits for running work (aborting it after the grace period), then registers as a new instance and resumes. */
  private async restart(): Promise<void> {
    if (this.restarting || this.closing) return;
    this.restarting = true;
    try {
      this.drain();
      if (!(await this.waitIdle(this.options.shutdownGraceMs))) {
        for (const a of this.attempts.values()) this.abortAttempt(a, 'shutdown');
        if (!(await this.waitIdle(Math.min(ABORT_SETTLE_MS, Math.max(this.options.shutdownGraceMs, 100))))) this.abandonAll();
      }
      if (this.closing) return;
      this.flushOutgoing();
      const previous = this.currentInstanceId;
      // no heartbeat may carry the new instance id before the coordinator knows it (it would
      // answer an unknown instance with another restart)
      this.registration = undefined;
      this.clearHeartbeat();
      this.currentInstanceId = randomUUID();
      this.logger.info('restarting as a new instance', { previousInstanceId: previous, instanceId: this.currentInstanceId });
      while (this.registering && !this.closing) await this.registering.catch(() => {});
      this.registering = this.register(false);
      try {
        await this.registering;
      } finally {
        this.registering = undefined;
      }
      this.resume();
    } catch (err) {
      if (!(err instanceof StoppedSignal)) this.logger.error('restart failed', { err });
    } finally {
      this.restarting = false;
    }
  }

  // ── heartbeats ──────────────────────────────────────────────────────────

  private heartbeatIntervalMs(): number {
    return this.registration?.heartbeatIntervalMs ?? 1_000;
  }

  /** The next heartbeat delay: the interval, or half the tightest task heartbeat timeout. */
  private nextHeartbeatDelay(): number {
    let d = this.heartbeatIntervalMs();
    for (const a of this.attempts.values()) {
      const hb = a.task.heartbeatMs;
      if (hb !== undefined && hb / 2 < d) d = hb / 2;
    }
    return Math.max(20, Math.floor(d));
  }

  private scheduleHeartbeat(delay = this.nextHeartbeatDelay()): void {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    // a stopping agent keeps heart-beating (mode draining) until its final heartbeat
    if (this.heartbeatsOver) return;
    this.heartbeatDueAt = Date.now() + delay;
    this.heartbeatTimer = setTimeout(() => {
      this.heartbeatTimer = undefined;
      this.sendHeartbeat();
    }, delay);
  }

  private tightenHeartbeat(taskHeartbeatMs: number): void {
    const want = Math.max(20, Math.floor(taskHeartbeatMs / 2));
    if (this.heartbeatTimer && this.heartbeatDueAt > Date.now() + want) this.scheduleHeartbeat(want);
  }

  private clearHeartbeat(): void {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  private maybeEarlyHeartbeat(): void {
    if (Date.now() - this.lastHeartbeatAt >= this.nextHeartbeatDelay()) this.sendHeartbeat();
  }

  /** Publishes a heartbeat now and schedules the next one. */
  private sendHeartbeat(): void {
    if (!this.registration || !this.bus || this.heartbeatsOver) return;
    const running: RunningAttemptDto[] = [];
    for (const a of this.attempts.values()) {
      if (a.abortReason === 'superseded' || a.abandoned) continue;
      running.push({ taskId: a.task.taskId, epoch: a.task.epoch, progressSeq: a.progressSeq });
    }
    this.publishHeartbeat({
      agentId: this.id,
      instanceId: this.currentInstanceId,
      seq: this.heartbeatSeq++,
      mode: this.pullMode,
      freeSlots: this.closing ? 0 : this.freeSlots,
      running,
      ...processStats.read(),
    });
    this.scheduleHeartbeat();
  }

  private publishHeartbeat(hb: AgentHeartbeat): void {
    if (!this.bus) return;
    try {
      this.bus.publish(AgentProtocol.heartbeat, hb, { params: [this.id] });
      this.lastHeartbeatAt = Date.now();
      this.emit('heartbeat', hb);
    } catch (err) {
      this.logger.warn('heartbeat not sent', { err });
    }
  }

  // ── reports and results ─────────────────────────────────────────────────

  private publishReports(items: AgentReportDto[]): void {
    if (!this.bus || this.lifecycle === 'stopped') return;
    // started/progress of attempts that already ended add nothing to their result
    const live = items.filter((r) => this.attempts.has(keyOf(r.taskId, r.epoch)));
    if (live.length === 0) return;
    try {
      this.bus.publish(
        AgentProtocol.reports,
        { agentId: this.id, instanceId: this.currentInstanceId, reports: live },
        { params: [this.id] },
      );
    } catch (err) {
      this.logger.warn('reports not sent', { err, count: live.length });
    }
  }

  private trackPublish(p: Promise<void>): void {
    this.publishes.add(p);
    void p.finally(() => this.publishes.delete(p));
  }

  /** Sends the acks, reports and results waiting now, in that order (one write to the connection). */
  private flushOutgoing(): void {
    this.ackBatcher.flushNow();
    this.reportBatcher.flushNow();
    this.resultBatcher.flushNow();
  }

  private async waitPublishes(): Promise<void> {
    while (this.publishes.size > 0) await Promise.allSettled([...this.publishes]);
  }

  /** Publishes one ResultBatch, retrying with the same msg id until JetStream stores it. */
  private async publishResults(items: AttemptResultDto[], instanceId: string): Promise<void> {
    const bus = this.bus;
    if (!bus) {
      this.logger.error('results dropped: not connected', { count: items.length });
      return;
    }
    const batchId = randomUUID();
    const batch: ResultBatch = { agentId: this.id, instanceId, results: items };
    for (let attempt = 1; ; attempt++) {
      try {
        await bus.publishDurable(AgentProtocol.results, batch, { params: [this.id], msgId: batchId, retries: 0 });
        this.emit('results', { batchId, count: items.length });
        return;
      } catch (err) {
        if ((err as { code?: unknown })?.code === NatsErrorCode.MaxPayloadExceeded) {
          await this.splitOversized(items, instanceId);
          return;
        }
        if (Date.now() > this.flushDeadline || this.lifecycle === 'stopped' || bus.nc.isClosed()) {
          this.logger.error('results dropped: could not publish before shutdown', { count: items.length, err });
          return;
        }
        const delay = Math.min(50 * 2 ** Math.min(attempt - 1, 10), 2_000);
        const fields = { batchId, count: items.length, attempt, error: (err as Error)?.message, retryInMs: delay };
        if (attempt === 1 || attempt % 10 === 0) this.logger.warn('publishing results failed; retrying', fields);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private async splitOversized(items: AttemptResultDto[], instanceId: string): Promise<void> {
    if (items.length > 1) {
      const mid = Math.ceil(items.length / 2);
      await Promise.all([this.publishResults(items.slice(0, mid), instanceId), this.publishResults(items.slice(mid), instanceId)]);
      return;
    }
    const only = items[0];
    if (!only) return;
    if (only.outcome === 'succeeded' || only.error?.details !== undefined) {
      const at = only.finishedAt;
      const replaced: AttemptResultDto = {
        taskId: only.taskId,
        attempt: only.attempt,
        epoch: only.epoch,
        outcome: 'failed',
        error: {
          message: 'the result is larger than the NATS payload limit',
          code: SDK_ERROR_CODES.RESULT_TOO_LARGE,
          retryable: false,
          attempt: only.attempt,
          at,
        },
        startedAt: only.startedAt,
        finishedAt: at,
      };
      if (only.usage) replaced.usage = only.usage;
      this.logger.error('result too large; reporting the attempt failed', { taskId: only.taskId });
      await this.publishResults([replaced], instanceId);
      return;
    }
    this.logger.error('result dropped: too large to publish', { taskId: only.taskId });
  }

  // ── events ──────────────────────────────────────────────────────────────

  private emit<K extends AgentEventName>(event: K, payload: AgentEvents[K]): void {
    if (this.emitter.listenerCount(event) === 0) return;
    try {
      this.emitter.emit(event, payload);
    } catch (err) {
      this.logger.error('event listener failed', { event, err });
    }
  }
}
