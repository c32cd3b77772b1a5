import { Counter, Gauge, Histogram } from 'prom-client';
import { PRIORITIES } from '@swarm-mesh/contracts';
import type { MetricsRegistry } from '@swarm-mesh/service-kit';

/** What the gauges read at scrape time (no per-task bookkeeping on the hot path). */
export interface GaugeSource {
  queues(): Array<{ capability: string; counts: number[] }>;
  agentStates(): string[];
  taskStates(): string[];
}

/** The coordinator's Prometheus series (documented in the README). */
export class CoordinatorMetrics {
  readonly submitted: Counter;
  readonly dispatched: Counter;
  readonly completed: Counter<'capability' | 'state'>;
  readonly deadLettered: Counter<'capability'>;
  readonly staleResults: Counter;
  readonly latency: Histogram<'capability'>;
  readonly tickSeconds: Histogram;
  readonly commitSeconds: Histogram;
  readonly tickRows: Histogram;
  readonly commitErrors: Counter;
  readonly internalErrors: Counter<'phase'>;
  readonly queueDepth: Gauge<'capability' | 'priority'>;
  readonly agentsByState: Gauge<'state'>;
  readonly activeTasks: Gauge<'state'>;
  private source: GaugeSource | null = null;

  bind(source: GaugeSource): void {
    this.source = source;
  }

  constructor(m: MetricsRegistry) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    const countBy = (values: string[]): Map<string, number> => {
      const out = new Map<string, number>();
      for (const v of values) out.set(v, (out.get(v) ?? 0) + 1);
      return out;
    };
    const registers = [m.registry];
    this.submitted = new Counter({ name: 'swarm_tasks_submitted_total', help: 'Tasks accepted', registers });
    this.dispatched = new Counter({ name: 'swarm_tasks_dispatched_total', help: 'Attempts dispatched to agents', registers });
    this.completed = new Counter({
      name: 'swarm_tasks_completed_total',
      help: 'Tasks that reached a terminal state',
      labelNames: ['capability', 'state'],
      registers,
    });
    this.deadLettered = new Counter({
      name: 'swarm_dead_letters_total',
      help: 'Tasks dead-lettered',
      labelNames: ['capability'],
      registers,
    });
    this.staleResults = new Counter({
      name: 'swarm_results_rejected_total',
      help: 'Duplicate or superseded attempt results ignored',
      registers,
    });
    this.latency = new Histogram({
      name: 'swarm_task_latency_seconds',
      help: 'Submit to success, by capability',
      labelNames: ['capability'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.tickSeconds = new Histogram({
      name: 'swarm_coordinator_tick_seconds',
      help: 'Duration of a coordinator tick',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.commitSeconds = new Histogram({
      name: 'swarm_coordinator_commit_seconds',
      help: 'Duration of a tick transaction',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.tickRows = new Histogram({
      name: 'swarm_coordinator_tick_rows',
      help: 'Task rows written per tick',
      buckets: [1, 5, 10, 50, 100, 500, 1000, 5000],
      registers,
    });
    this.commitErrors = new Counter({ name: 'swarm_coordinator_commit_errors_total', help: 'Failed tick transactions', registers });
    this.internalErrors = new Counter({
      name: 'swarm_coordinator_internal_errors_total',
      help: 'Unexpected exceptions inside ticks (bugs), by request kind or tick phase',
      labelNames: ['phase'],
      registers,
    });
    this.queueDepth = new Gauge({
      name: 'swarm_queue_depth',
      help: 'Ready tasks waiting for an agent, by capability and priority',
      labelNames: ['capability', 'priority'],
      registers,
      collect() {
        this.reset();
        for (const q of self.source?.queues() ?? [])
          PRIORITIES.forEach((p, i) => this.set({ capability: q.capability, priority: p }, q.counts[i] ?? 0));
      },
    });
    this.agentsByState = new Gauge({
      name: 'swarm_agents',
      help: 'Agents by state',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        for (const [state, n] of countBy(self.source?.agentStates() ?? [])) this.set({ state }, n);
      },
    });
    this.activeTasks = new Gauge({
      name: 'swarm_tasks_active',
      help: 'Non-terminal tasks by state',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        for (const [state, n] of countBy(self.source?.taskStates() ?? [])) this.set({ state }, n);
      },
    });
  }
}
