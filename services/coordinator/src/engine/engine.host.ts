import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { AgentProtocol, STREAMS } from '@swarm-mesh/contracts';
import { type BatchConsumerHandle, ensureConsumer, ensureStream, type MeshBus, startBatchConsumer } from '@swarm-mesh/messaging';
import {
  DATA_SOURCE,
  HEALTH,
  type HealthService,
  LEADERSHIP,
  type Leadership,
  LOGGER,
  MESH_BUS,
  METRICS,
  type MetricsRegistry,
  SERVICE_CONFIG,
  type ServiceConfig,
} from '@swarm-mesh/service-kit';
import type { Logger } from '@swarm-mesh/telemetry';
import type { Subscription } from 'nats';
import type { DataSource } from 'typeorm';
import type { CreditGate } from '../admission/credit-gate';
import { createAdmissionGate } from '../admission/credit-gate.config';
import { type CoordinatorEnv, type CoordinatorOptions, resolveCoordinatorOptions } from '../config/coordinator-options';
import { coordinatorStreams, RESULTS_CONSUMER } from '../streams/stream-specs';
import { KvTaskTuning } from '../tuning/kv-task-tuning';
import { agentState } from './agent-record';
import { CoordinatorEngine } from './coordinator-engine';
import { CoordinatorMetrics } from './coordinator.metrics';
import { OutboxRelay } from './outbox-relay';
import { applyResultItems, refusedResultAttempts } from './result-intake';
import { TaskStore } from './task-store';

/**
 * Owns the engine's lifetime inside Nest: provisions streams, loads the working set, listens
 * to heartbeats, reports and results, relays the outbox, and stops it all in order.
 */
@Injectable()
export class EngineHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly options: CoordinatorOptions;
  readonly store: TaskStore;
  readonly engine: CoordinatorEngine;
  private readonly relay: OutboxRelay;
  readonly bus: MeshBus;
  private readonly metrics: CoordinatorMetrics;
  private results: BatchConsumerHandle | null = null;
  /** Resource credits from the allocator (issue #5); undefined when RESOURCES_ADMISSION=false. */
  private readonly credits: CreditGate | undefined;
  private readonly subs: Subscription[] = [];

  constructor(
    @Inject(MESH_BUS) bus: MeshBus,
    @Inject(DATA_SOURCE) dataSource: DataSource,
    @Inject(SERVICE_CONFIG) config: ServiceConfig<CoordinatorEnv>,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(METRICS) registry: MetricsRegistry,
    @Inject(HEALTH) health: HealthService,
    @Inject(LEADERSHIP) private readonly leadership: Leadership,
  ) {
    this.bus = bus;
    this.options = resolveCoordinatorOptions(config.extra);
    // every commit of the active replica carries its lease's revision: a deposed one is refused
    this.store = new TaskStore(dataSource, () => leadership.token());
    this.metrics = new CoordinatorMetrics(registry);
    this.relay = new OutboxRelay(bus, this.store, logger);
    const admission = createAdmissionGate(bus, logger, config.instanceId);
    this.credits = admission.credit;
    // the optimizer's learned timeouts and routing weights (agents' pools, and allocator pools)
    const tuning = new KvTaskTuning(bus, logger);
    this.credits?.useWeights((tenantId, capability) => tuning.poolWeights(tenantId, capability));
    this.engine = new CoordinatorEngine(
      this.store,
      bus,
      this.options,
      logger,
      this.metrics,
      (rows) => this.relay.publish(rows),
      admission.gate,
      tuning,
    );
    this.credits?.attach(this.engine);
    health.addCheck(() =>
      // a standby replica is healthy: it waits for the lease
      !this.leadership.isActive() || this.results ? { status: 'ok' } : { status: 'degraded', error: 'results consumer not running' },
    );
    this.metrics.bind({
      queues: () => this.engine.queueSnapshot(null),
      agentStates: () => [...this.engine.agents.values()].map(agentState),
      taskStates: () => [...this.engine.tasks.values()].map((t) => t.state),
    });
  }

  onApplicationBootstrap(): void {
    // the coordinator is a singleton: this replica works only while it holds the lease
    this.leadership.onActive(() => this.activate());
  }

  private async activate(): Promise<void> {
    await this.store.claimLeadership(this.leadership.token());
    for (const spec of coordinatorStreams(this.options.eventsMaxAgeMs)) await ensureStream(this.bus, spec);
    await ensureConsumer(this.bus, {
      stream: STREAMS.RESULTS,
      durable: RESULTS_CONSUMER,
      ackWaitMs: this.options.resultsAckWaitMs,
      maxAckPending: 20_000,
    });
    // the gate learns the pools before the engine dispatches anything
    await this.credits?.start();
    await this.engine.start();
    this.subs.push(
      this.bus.subscribe(AgentProtocol.heartbeat, (hb) => this.engine.heartbeat(hb), { queue: 'coordinator' }),
      this.bus.subscribe(
        AgentProtocol.reports,
        async (batch) => {
          await this.engine.applyReports(batch).catch(() => undefined);
        },
        { queue: 'coordinator' },
      ),
    );
    this.results = await startBatchConsumer({
      bus: this.bus,
      stream: STREAMS.RESULTS,
      durable: RESULTS_CONSUMER,
      def: AgentProtocol.results,
      maxBatch: 200,
      prefetch: 2000,
      handler: (items) => applyResultItems(this.engine, items, this.logger),
      // a result the contracts refuse (say a string Postgres cannot store) fails its attempt now
      onInvalid: async (msg, err) => {
        const refused = refusedResultAttempts(msg.data, msg.subject);
        if (refused) await this.engine.refuseResults(refused.agentId, refused.attempts, `result refused: ${err.message.slice(0, 500)}`);
      },
    });
    this.relay.start();
    this.logger.info('coordinator engine started', { options: this.options });
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.credits?.stop();
    for (const s of this.subs.splice(0)) s.unsubscribe();
    await this.results?.stop();
    this.results = null;
    await this.engine.stop();
    await this.relay.stop();
  }
}
