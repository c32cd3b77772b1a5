import { randomUUID } from 'node:crypto';
import {
  type AgentControlMessage,
  type AgentHeartbeat,
  AgentProtocol,
  type AgentRegisterReply,
  type AgentRegistration,
  type AgentReportBatch,
  type AttemptResultDto,
  type CheckpointRequest,
  type DispatchedTaskDto,
  type ResultBatch,
  StaleLeaseError,
  STREAMS,
  type SwarmError,
  type TaskLeaseRefDto,
} from '@swarm-mesh/contracts';
import { type BatchConsumerHandle, ensureConsumer, ensureStream, type MeshBus, startBatchConsumer } from '@swarm-mesh/messaging';

export interface StubCoordinatorOptions {
  /** Heartbeat interval handed to agents. Default 100 ms. */
  heartbeatIntervalMs?: number;
  /** ack_wait of the per-agent dispatch consumers. Default 30 s. */
  ackWaitMs?: number;
}

/**
 * A minimal coordinator for SDK integration tests: answers registrations (provisioning the
 * DISPATCH stream and a durable consumer per agent), records heartbeats, reports, results and
 * checkpoints, and lets the test dispatch tasks and send control messages.
 */
export class StubCoordinator {
  readonly registrations: AgentRegistration[] = [];
  readonly heartbeats: AgentHeartbeat[] = [];
  readonly reportBatches: AgentReportBatch[] = [];
  readonly resultBatches: ResultBatch[] = [];
  readonly checkpoints: CheckpointRequest[] = [];
  /** Task ids whose checkpoints are refused with STALE_LEASE. */
  readonly staleTasks = new Set<string>();
  /** Attempts returned as `keep` on registration; default: none. */
  keep: (reg: AgentRegistration) => TaskLeaseRefDto[] = () => [];
  /** Instance ids that heart-beat before they registered (a protocol violation). */
  readonly heartbeatsBeforeRegistration: string[] = [];
  /** When set, registrations are answered with this error. */
  registerError: SwarmError | undefined;
  private readonly instances = new Map<string, string>();
  private resultsConsumer: BatchConsumerHandle | undefined;
  private readonly heartbeatIntervalMs: number;
  private readonly ackWaitMs: number;

  constructor(
    readonly bus: MeshBus,
    opts: StubCoordinatorOptions = {},
  ) {
    this.heartbeatIntervalMs = opts.heartbeatIntervalMs ?? 100;
    this.ackWaitMs = opts.ackWaitMs ?? 30_000;
  }

  async start(): Promise<void> {
    await ensureStream(this.bus, {
      name: STREAMS.DISPATCH,
      subjects: [AgentProtocol.dispatch.subject],
      retention: 'workqueue',
      maxAgeMs: 600_000,
    });
    await ensureStream(this.bus, {
      name: STREAMS.RESULTS,
      subjects: [AgentProtocol.results.subject],
      retention: 'workqueue',
      maxAgeMs: 600_000,
    });
    await ensureConsumer(this.bus, { stream: STREAMS.RESULTS, durable: 'stub_results', ackWaitMs: 5_000 });
    this.resultsConsumer = await startBatchConsumer({
      bus: this.bus,
      stream: STREAMS.RESULTS,
      durable: 'stub_results',
      def: AgentProtocol.results,
      handler: async (items) => {
        for (const it of items) this.resultBatches.push(it.body);
      },
    });
    this.bus.handle(AgentProtocol.register, async (reg) => this.onRegister(reg));
    this.bus.handle(AgentProtocol.checkpoint, async (req) => {
      if (this.staleTasks.has(req.taskId)) throw new StaleLeaseError(req.taskId, req.epoch, req.epoch + 1);
      this.checkpoints.push(req);
      return { status: 'saved' as const };
    });
    this.bus.subscribe(AgentProtocol.heartbeat, (hb) => {
      this.heartbeats.push(hb);
    });
    this.bus.subscribe(AgentProtocol.reports, (r) => {
      this.reportBatches.push(r);
    });
    await this.bus.nc.flush();
  }

  private async onRegister(reg: AgentRegistration): Promise<AgentRegisterReply> {
    if (this.registerError) throw this.registerError;
    if (!this.registrations.some((r) => r.instanceId === reg.instanceId) && this.heartbeats.some((h) => h.instanceId === reg.instanceId)) {
      this.heartbeatsBeforeRegistration.push(reg.instanceId);
    }
    this.registrations.push(reg);
    this.instances.set(reg.agentId, reg.instanceId);
    const durable = await ensureConsumer(this.bus, {
      stream: STREAMS.DISPATCH,
      durable: `dispatch_${reg.agentId}`,
      filterSubject: AgentProtocol.dispatch.subjectFor(reg.agentId),
      ackWaitMs: this.ackWaitMs,
    });
    return {
      state: 'healthy',
      heartbeatIntervalMs: this.heartbeatIntervalMs,
      dispatchStream: this.bus.name(STREAMS.DISPATCH),
      dispatchConsumer: durable,
      keep: this.keep(reg),
    };
  }

  /** The instance id the agent last registered with. */
  instanceOf(agentId: string): string {
    const id = this.instances.get(agentId);
    if (!id) throw new Error(`agent ${agentId} never registered`);
    return id;
  }

  /** Publishes one DispatchBatch to an agent (default: its last registered instance). */
  async dispatch(agentId: string, tasks: DispatchedTaskDto[], instanceId?: string): Promise<void> {
    await this.bus.publishDurable(
      AgentProtocol.dispatch,
      { agentId, instanceId: instanceId ?? this.instanceOf(agentId), tasks },
      { params: [agentId] },
    );
  }

  control(agentId: string, msg: AgentControlMessage): void {
    this.bus.publish(AgentProtocol.control, msg, { params: [agentId] });
  }

  /** Every result received, flattened. */
  get results(): AttemptResultDto[] {
    return this.resultBatches.flatMap((b) => b.results);
  }

  resultOf(taskId: string): AttemptResultDto | undefined {
    return this.results.find((r) => r.taskId === taskId);
  }

  heartbeatsOf(agentId: string): AgentHeartbeat[] {
    return this.heartbeats.filter((h) => h.agentId === agentId);
  }

  reportsOf(taskId: string): AgentReportBatch['reports'] {
    return this.reportBatches.flatMap((b) => b.reports).filter((r) => r.taskId === taskId);
  }

  /** Messages waiting in an agent's dispatch consumer (not yet delivered). */
  async pendingDispatches(agentId: string): Promise<number> {
    const jsm = await this.bus.jsm();
    const info = await jsm.consumers.info(this.bus.name(STREAMS.DISPATCH), this.bus.name(`dispatch_${agentId}`));
    return info.num_pending;
  }

  async stop(): Promise<void> {
    await this.resultsConsumer?.stop();
    await this.bus.stopHandling(2_000);
  }
}

/** A dispatched task with sensible defaults. */
export function makeTask(capability: string, overrides: Partial<DispatchedTaskDto> = {}): DispatchedTaskDto {
  return {
    taskId: randomUUID(),
    tenantId: 'default',
    capability,
    attempt: 1,
    epoch: 1,
    priority: 'MEDIUM',
    input: {},
    maxAttempts: 3,
    previousErrors: [],
    ...overrides,
  };
}
