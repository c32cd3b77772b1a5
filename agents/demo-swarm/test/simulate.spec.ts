import { TaskError } from '@swarm-mesh/agent-sdk';
import {
  estimateTokens,
  INVALID_SIMULATE,
  parseSimulate,
  planAttempt,
  seededRandom,
  SIMULATED_FAILURE,
  sleep,
  usageFor,
} from '../src/simulate';

const defaults = { latencyMs: 100, jitterMs: 50, failureRate: 0 };
const normal = { instant: false, llm: true };
const instant = { instant: true, llm: false };

describe('parseSimulate', () => {
  it('reads the documented fields', () => {
    expect(parseSimulate({})).toBeUndefined();
    expect(
      parseSimulate({ simulate: { latencyMs: 50, failTimes: 2, failAlways: false, tokensIn: 500, tokensOut: 200, placeholder: false } }),
    ).toEqual({ latencyMs: 50, failTimes: 2, failAlways: false, tokensIn: 500, tokensOut: 200, placeholder: false });
    expect(parseSimulate({ simulate: {} })).toEqual({});
  });

  it('rejects malformed specs with a non-retryable INVALID_SIMULATE error', () => {
    for (const simulate of ['x', [1], { latencyMs: -1 }, { failTimes: 1.5 }, { failAlways: 'yes' }, { tokensIn: -3 }, { sleep: 5 }]) {
      let err: unknown;
      try {
        parseSimulate({ simulate });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TaskError);
      expect((err as TaskError).code).toBe(INVALID_SIMULATE);
      expect((err as TaskError).retryable).toBe(false);
    }
  });
});

describe('planAttempt', () => {
  it('sleeps latencyMs exactly when given', () => {
    expect(planAttempt({ latencyMs: 50 }, 1, defaults, normal).latencyMs).toBe(50);
    expect(planAttempt({ latencyMs: 0 }, 1, defaults, normal).latencyMs).toBe(0);
    expect(planAttempt({ latencyMs: 25 }, 1, defaults, instant).latencyMs).toBe(25);
  });

  it('otherwise draws from mean ± jitter, and instant capabilities do not wait', () => {
    expect(planAttempt(undefined, 1, defaults, normal, () => 0).latencyMs).toBe(50);
    expect(planAttempt(undefined, 1, defaults, normal, () => 0.5).latencyMs).toBe(100);
    expect(planAttempt(undefined, 1, defaults, normal, () => 0.999999).latencyMs).toBe(150);
    expect(planAttempt({}, 1, { ...defaults, jitterMs: 500 }, normal, () => 0).latencyMs).toBe(0);
    expect(planAttempt(undefined, 1, defaults, instant).latencyMs).toBe(0);
  });

  it('fails the first failTimes attempts, retryable, with SIMULATED_FAILURE', () => {
    const spec = { failTimes: 2 };
    for (const attempt of [1, 2]) {
      const f = planAttempt(spec, attempt, defaults, normal).failure;
      expect(f).toBeInstanceOf(TaskError);
      expect(f!.code).toBe(SIMULATED_FAILURE);
      expect(f!.retryable).toBe(true);
      expect(f!.message).toBe(`simulated failure ${attempt} of 2`);
    }
    expect(planAttempt(spec, 3, defaults, normal).failure).toBeUndefined();
    expect(planAttempt({ failTimes: 0 }, 1, defaults, normal).failure).toBeUndefined();
  });

  it('failAlways fails every attempt, retryable', () => {
    for (const attempt of [1, 2, 10]) {
      const f = planAttempt({ failAlways: true }, attempt, defaults, normal).failure!;
      expect(f.code).toBe(SIMULATED_FAILURE);
      expect(f.retryable).toBe(true);
    }
    expect(planAttempt({ failAlways: false }, 1, defaults, normal).failure).toBeUndefined();
  });

  it('applies the failure rate only without simulate and never to instant capabilities', () => {
    const rate = { ...defaults, failureRate: 0.3 };
    expect(planAttempt(undefined, 1, rate, normal, () => 0.1).failure?.code).toBe(SIMULATED_FAILURE);
    expect(planAttempt(undefined, 1, rate, normal, () => 0.5).failure).toBeUndefined();
    expect(planAttempt({}, 1, rate, normal, () => 0.1).failure).toBeUndefined();
    expect(planAttempt(undefined, 1, rate, instant, () => 0.1).failure).toBeUndefined();
    const random = seededRandom(42);
    let failures = 0;
    for (let i = 0; i < 2000; i++) if (planAttempt(undefined, 1, rate, normal, random).failure) failures++;
    expect(failures).toBeGreaterThan(400);
    expect(failures).toBeLessThan(800);
  });

  it('carries tokens and placeholder through', () => {
    expect(planAttempt({ tokensIn: 500, tokensOut: 200, placeholder: true }, 1, defaults, normal)).toMatchObject({
      tokensIn: 500,
      tokensOut: 200,
      placeholder: true,
    });
    expect(planAttempt(undefined, 1, defaults, normal).placeholder).toBe(false);
  });
});

describe('usageFor', () => {
  it('reports explicit tokens exactly, with a cost', () => {
    const plan = planAttempt({ tokensIn: 500, tokensOut: 200 }, 1, defaults, instant);
    expect(usageFor(plan, instant, {}, {}, 'sim-infra')).toEqual({
      tokensIn: 500,
      tokensOut: 200,
      costUsd: 0.00055,
      provider: 'sim-infra',
      model: 'sim-1',
    });
    const onlyIn = planAttempt({ tokensIn: 7 }, 1, defaults, normal);
    expect(usageFor(onlyIn, normal, { a: 'x'.repeat(100) }, {}, 'p')).toMatchObject({ tokensIn: 7, tokensOut: 0 });
  });

  it('estimates for LLM-like capabilities and reports nothing for the others', () => {
    const plan = planAttempt({}, 1, defaults, normal);
    const u = usageFor(plan, normal, { text: 'x'.repeat(400) }, { out: 'y'.repeat(40) }, 'p')!;
    expect(u.tokensIn).toBe(estimateTokens({ text: 'x'.repeat(400) }));
    expect(u.tokensOut).toBeGreaterThan(0);
    expect(usageFor(plan, { instant: false, llm: false }, {}, {}, 'p')).toBeUndefined();
  });
});

describe('sleep', () => {
  it('resolves after the delay', async () => {
    await expect(sleep(1)).resolves.toBeUndefined();
    await expect(sleep(0)).resolves.toBeUndefined();
  });

  it('rejects with the abort reason when aborted', async () => {
    const c = new AbortController();
    const p = sleep(60_000, c.signal);
    c.abort(new Error('cancelled'));
    await expect(p).rejects.toThrow('cancelled');
    await expect(sleep(10, c.signal)).rejects.toThrow('cancelled');
  });
});
