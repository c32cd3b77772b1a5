import { runMockTask } from '@swarm-mesh/agent-sdk';
import type { DemoCapability } from '../src/config';
import { createDemoHandler, type DemoHandlerDeps, InsightCache, toInsight } from '../src/handlers';
import type { Insight } from '../src/outputs';
import { PLACEHOLDER_TEXT, seededRandom } from '../src/simulate';

function deps(extra: Partial<DemoHandlerDeps> = {}): DemoHandlerDeps {
  return { defaults: { latencyMs: 0, jitterMs: 0, failureRate: 0 }, random: seededRandom(1), ...extra };
}

const CAPS: DemoCapability[] = ['data.fetch', 'content.generate', 'intel.analyze', 'quality.review', 'infra.noop'];

describe('demo handlers obey input.simulate', () => {
  it.each(CAPS)('%s fails the first failTimes attempts and then succeeds', async (cap) => {
    const h = createDemoHandler(cap, deps());
    const input = { simulate: { latencyMs: 0, failTimes: 2 } };
    for (const attempt of [1, 2]) {
      const { result } = await runMockTask(h, { input, attempt, capability: cap });
      expect(result).toMatchObject({ outcome: 'failed', error: { code: 'SIMULATED_FAILURE', retryable: true, attempt } });
    }
    const { result } = await runMockTask(h, { input, attempt: 3, capability: cap });
    expect(result.outcome).toBe('succeeded');
  });

  it.each(CAPS)('%s fails always with failAlways', async (cap) => {
    const h = createDemoHandler(cap, deps());
    for (const attempt of [1, 4]) {
      const { result } = await runMockTask(h, { input: { simulate: { failAlways: true, latencyMs: 0 } }, attempt });
      expect(result).toMatchObject({ outcome: 'failed', error: { code: 'SIMULATED_FAILURE', retryable: true } });
    }
  });

  it.each(CAPS)('%s reports the given token use', async (cap) => {
    const h = createDemoHandler(cap, deps());
    const { result } = await runMockTask(h, { input: { simulate: { tokensIn: 500, tokensOut: 200, latencyMs: 0 } } });
    expect(result.usage).toMatchObject({ tokensIn: 500, tokensOut: 200, model: 'sim-1' });
    expect(result.usage!.costUsd).toBeGreaterThan(0);
  });

  it.each(CAPS)('%s returns placeholder text with placeholder: true', async (cap) => {
    const h = createDemoHandler(cap, deps());
    const { result } = await runMockTask(h, { input: { simulate: { placeholder: true, latencyMs: 0 } } });
    expect(result.outcome).toBe('succeeded');
    expect(JSON.stringify(result.result)).toMatch(/TODO: lorem ipsum/);
    const plain = await runMockTask(h, { input: { simulate: { latencyMs: 0 } } });
    expect(JSON.stringify(plain.result.result)).not.toMatch(/lorem ipsum/);
  });

  it.each(CAPS)('%s sleeps latencyMs and is cancelled through the AbortSignal', async (cap) => {
    const h = createDemoHandler(cap, deps());
    const { result } = await runMockTask(h, { input: { simulate: { latencyMs: 60_000 } } }, (m) => m.abort('cancelled'));
    expect(result.outcome).toBe('cancelled');
  });

  it('rejects a malformed simulate as non-retryable', async () => {
    const { result } = await runMockTask(createDemoHandler('data.fetch', deps()), { input: { simulate: { latencyMs: 'slow' } } });
    expect(result).toMatchObject({ outcome: 'failed', error: { code: 'INVALID_SIMULATE', retryable: false } });
  });

  it('reports progress halfway through long calls', async () => {
    const { result, mock } = await runMockTask(createDemoHandler('data.fetch', deps()), { input: { simulate: { latencyMs: 500 } } });
    expect(result.outcome).toBe('succeeded');
    expect(mock.progress).toEqual([{ percent: 0.5, message: 'provider call half done' }]);
  });
});

describe('demo outputs', () => {
  it('infra.noop returns {} at once without simulate', () => {
    const h = createDemoHandler('infra.noop', deps({ defaults: { latencyMs: 10_000, jitterMs: 0, failureRate: 1 } }));
    const mockCtx = { input: {} } as never;
    expect(h(mockCtx)).toEqual({});
  });

  it('data.fetch returns records from a source', async () => {
    const { result } = await runMockTask(createDemoHandler('data.fetch', deps()), {
      input: { source: 'stats-api', limit: 4, simulate: { latencyMs: 0 } },
    });
    const out = result.result as { source: string; records: unknown[] };
    expect(out.source).toBe('stats-api');
    expect(out.records).toHaveLength(4);
    expect(result.usage).toBeUndefined();
  });

  it('intel.analyze publishes each insight and content.generate uses the latest ones', async () => {
    const published: Array<{ insight: Insight; taskId: string }> = [];
    const intel = createDemoHandler('intel.analyze', deps({ publishInsight: (insight, taskId) => published.push({ insight, taskId }) }));
    const { result, mock } = await runMockTask(intel, { input: { subject: 'pricing', count: 3, simulate: { latencyMs: 0 } } });
    const out = result.result as { insights: Insight[]; confidence: number };
    expect(out.insights).toHaveLength(3);
    expect(out.confidence).toBeGreaterThanOrEqual(0.5);
    expect(published.map((p) => p.insight)).toEqual(out.insights);
    expect(published.every((p) => p.taskId === mock.ctx.taskId)).toBe(true);
    expect(result.usage!.tokensIn).toBeGreaterThan(0);

    const cache = new InsightCache(2);
    for (const p of published) cache.add(p.insight);
    expect(cache.latest()).toEqual(out.insights.slice(1));
    const content = createDemoHandler('content.generate', deps({ latestInsights: () => cache.latest() }));
    const gen = await runMockTask(content, { input: { topic: 'pricing', simulate: { latencyMs: 0 } } });
    const article = gen.result.result as { title: string; body: string; relatedInsights: string[] };
    expect(article.title).toMatch(/^Pricing/);
    expect(article.relatedInsights).toEqual(out.insights.slice(1).map((i) => i.topic));
    expect(article.body).toContain('Analysts report');
  });

  it('quality.review flags placeholder text', async () => {
    const review = createDemoHandler('quality.review', deps());
    const { result } = await runMockTask(review, { input: { content: `Intro. ${PLACEHOLDER_TEXT}`, simulate: { latencyMs: 0 } } });
    const out = result.result as { approved: boolean; issues: Array<{ message: string }> };
    expect(out.approved).toBe(false);
    expect(out.issues.map((i) => i.message)).toContain('placeholder text found');
  });

  it('toInsight accepts only insight-shaped data', () => {
    expect(toInsight({ topic: 't', finding: 'f', score: 0.5 })).toEqual({ topic: 't', finding: 'f', score: 0.5 });
    expect(toInsight({ topic: 't' })).toBeUndefined();
  });
});
