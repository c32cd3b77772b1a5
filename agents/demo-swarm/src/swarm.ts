import { Agent, Channels, type Logger } from '@swarm-mesh/agent-sdk';
import type { DemoAgentSpec, DemoConfig } from './config';
import { createDemoHandler, InsightCache, toInsight } from './handlers';
import { ProviderControls } from './providers';
import { seededRandom } from './simulate';

/** Counters of one demo agent. */
export interface DemoAgentStats {
  succeeded: number;
  failed: number;
  cancelled: number;
  superseded: number;
}

export interface DemoAgentStatus extends DemoAgentStats {
  id: string;
  capability: string;
  state: string;
  mode: 'ready' | 'draining';
  registered: boolean;
  running: number;
  freeSlots: number;
}

interface Member {
  spec: DemoAgentSpec;
  agent: Agent;
  stats: DemoAgentStats;
}

/** The demo agents of this process, built from the configuration with the SDK only. */
export class DemoSwarm {
  private readonly members: Member[];

  constructor(
    readonly config: DemoConfig,
    private readonly logger: Logger,
    /** Live latency multipliers per simulated provider (DEMO_PROVIDERS). */
    readonly providers: ProviderControls = new ProviderControls(config.providers),
  ) {
    const random = config.seed !== undefined ? seededRandom(config.seed) : Math.random;
    const defaults = { latencyMs: config.latencyMs, jitterMs: config.jitterMs, failureRate: config.failureRate };
    this.members = config.agents.map((spec) => {
      const agent = new Agent({
        id: spec.id,
        name: `${spec.capability} (demo)`,
        tenantId: config.tenantId,
        domain: spec.domain,
        concurrency: config.concurrency,
        shutdownGraceMs: config.shutdownGraceMs,
        metadata: { demo: true, simulates: spec.capability, ...(spec.provider !== undefined ? { provider: spec.provider } : {}) },
        logger,
      });
      const stats: DemoAgentStats = { succeeded: 0, failed: 0, cancelled: 0, superseded: 0 };
      agent.on('task:finished', (e) => {
        stats[e.outcome]++;
      });
      let insights: InsightCache | undefined;
      if (spec.capability === 'content.generate') {
        const cache = new InsightCache(5);
        insights = cache;
        agent.channels.subscribe(Channels.intel.insights, (body) => {
          const insight = toInsight(body.data);
          if (!insight) return;
          cache.add(insight);
          agent.logger.debug('insight received', { topic: insight.topic, score: insight.score, correlationId: body.correlationId });
        });
      }
      agent.handle(
        spec.capability,
        createDemoHandler(spec.capability, {
          defaults,
          random,
          ...(spec.capability === 'intel.analyze'
            ? {
                publishInsight: (insight, taskId) =>
                  agent.channels.publish(Channels.intel.insights, { topic: insight.topic, correlationId: taskId, data: { ...insight } }),
              }
            : {}),
          ...(insights ? { latestInsights: () => insights.latest() } : {}),
          ...(spec.provider !== undefined
            ? { provider: spec.provider, latencyMultiplier: () => this.providers.multiplier(spec.provider!) }
            : {}),
        }),
      );
      return { spec, agent, stats };
    });
  }

  get agents(): readonly Agent[] {
    return this.members.map((m) => m.agent);
  }

  /** Starts every agent; resolves once all are registered. */
  async start(): Promise<void> {
    await Promise.all(this.members.map((m) => m.agent.start()));
  }

  /** Drains every agent (in parallel) and closes their connections. */
  async stop(): Promise<void> {
    const outcomes = await Promise.allSettled(this.members.map((m) => m.agent.stop()));
    for (const o of outcomes) if (o.status === 'rejected') this.logger.error('agent stop failed', { err: o.reason });
  }

  status(): DemoAgentStatus[] {
    return this.members.map(({ spec, agent, stats }) => ({
      id: spec.id,
      capability: spec.capability,
      state: agent.state,
      mode: agent.mode,
      registered: agent.registered,
      running: agent.runningCount,
      freeSlots: agent.freeSlots,
      ...stats,
    }));
  }
}
