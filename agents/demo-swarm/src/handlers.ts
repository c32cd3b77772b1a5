import type { TaskContext, TaskHandler } from '@swarm-mesh/agent-sdk';
import type { DemoCapability } from './config';
import { analyzeOutput, fetchOutput, generateOutput, type Insight, insightsFromInput, publishOutput, reviewOutput } from './outputs';
import { simulatedProvider } from './provider';
import { type CapabilityProfile, parseSimulate, planAttempt, type SimulationDefaults, sleep, usageFor } from './simulate';

/** How each demo capability behaves without `simulate`. */
export const PROFILES: Record<DemoCapability, CapabilityProfile> = {
  'data.fetch': { instant: false, llm: false },
  'content.generate': { instant: false, llm: true },
  'intel.analyze': { instant: false, llm: true },
  'quality.review': { instant: false, llm: true },
  'infra.noop': { instant: true, llm: false },
  'content.publish': { instant: false, llm: false },
};

/** What the handlers need from their agent. */
export interface DemoHandlerDeps {
  defaults: SimulationDefaults;
  random: () => number;
  /** Shares an insight (the intel agent publishes on `swarm.intel.insights`). */
  publishInsight?: (insight: Insight, taskId: string) => void;
  /** The latest insights received (the content agent's cache). */
  latestInsights?: () => readonly Insight[];
  /** The simulated provider of this agent (DEMO_PROVIDERS), reported in every attempt's usage. */
  provider?: string;
  /** Current latency multiplier of the provider (changed at run time, see providers.ts). */
  latencyMultiplier?: () => number;
}

/** Latency above which a handler reports progress halfway. */
const PROGRESS_AFTER_MS = 500;

async function simulated(
  ctx: TaskContext,
  capability: DemoCapability,
  deps: DemoHandlerDeps,
  produce: (placeholder: boolean) => Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const profile = PROFILES[capability];
  const spec = parseSimulate(ctx.input);
  const plan = planAttempt(spec, ctx.attempt, deps.defaults, profile, deps.random);
  // a simulated provider with a hard limit: the call counts when it is made (a 429 over the limit)
  if (spec?.provider !== undefined) {
    const { provider, tpmLimit, rpmLimit, windowMs } = spec;
    simulatedProvider({
      provider,
      ...(tpmLimit !== undefined ? { tpmLimit } : {}),
      ...(rpmLimit !== undefined ? { rpmLimit } : {}),
      ...(windowMs !== undefined ? { windowMs } : {}),
    }).call((plan.tokensIn ?? 0) + (plan.tokensOut ?? 0));
  }
  if (deps.latencyMultiplier) plan.latencyMs = Math.round(plan.latencyMs * deps.latencyMultiplier());
  if (plan.latencyMs >= PROGRESS_AFTER_MS) {
    await sleep(plan.latencyMs / 2, ctx.signal);
    ctx.progress(0.5, 'provider call half done');
    await sleep(plan.latencyMs / 2, ctx.signal);
  } else {
    await sleep(plan.latencyMs, ctx.signal);
  }
  if (plan.failure) throw plan.failure;
  const output = produce(plan.placeholder);
  const usage = usageFor(plan, profile, ctx.input, output, deps.provider ?? `sim-${capability.split('.')[0]}`, deps.provider !== undefined);
  if (usage) ctx.reportUsage(usage);
  return output;
}

/** The handler of a demo capability. Every one obeys `input.simulate` (see simulate.ts). */
export function createDemoHandler(capability: DemoCapability, deps: DemoHandlerDeps): TaskHandler {
  switch (capability) {
    case 'data.fetch':
      return (ctx) => simulated(ctx, capability, deps, (p) => fetchOutput(ctx.input, deps.random, p));
    case 'content.generate':
      // the writer heeds its validation checkpoint: after a refused attempt (ctx.feedback) it writes real text
      return (ctx) =>
        simulated(ctx, capability, deps, (p) => {
          const given = insightsFromInput(ctx.input.insights);
          return generateOutput(ctx.input, deps.random, p && !ctx.feedback, given.length > 0 ? given : (deps.latestInsights?.() ?? []));
        });
    case 'intel.analyze':
      return (ctx) =>
        simulated(ctx, capability, deps, (p) => {
          const { output, insights } = analyzeOutput(ctx.input, deps.random, p);
          for (const insight of insights) deps.publishInsight?.(insight, ctx.taskId);
          return output;
        });
    case 'quality.review':
      return (ctx) => simulated(ctx, capability, deps, (p) => reviewOutput(ctx.input, deps.random, p));
    case 'content.publish':
      return (ctx) => simulated(ctx, capability, deps, (p) => publishOutput(ctx.input, deps.random, p));
    case 'infra.noop':
      // the benchmark path: no simulate → an empty result at once, no promise, no timer
      return (ctx) =>
        ctx.input.simulate === undefined ? {} : simulated(ctx, capability, deps, (p) => (p ? { note: 'TODO: lorem ipsum' } : {}));
  }
}

/** Keeps the last few insights seen on the channel. */
export class InsightCache {
  private readonly items: Insight[] = [];

  constructor(private readonly max = 5) {}

  add(insight: Insight): void {
    this.items.push(insight);
    if (this.items.length > this.max) this.items.splice(0, this.items.length - this.max);
  }

  latest(): readonly Insight[] {
    return this.items;
  }
}

/** Reads an insight out of a channel message's `data`, or undefined when it does not look like one. */
export function toInsight(data: Record<string, unknown>): Insight | undefined {
  const { topic, finding, score } = data;
  if (typeof topic !== 'string' || typeof finding !== 'string' || typeof score !== 'number') return undefined;
  return { topic, finding, score };
}
