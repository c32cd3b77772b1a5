import { NonRetryableError, TaskError, type TaskUsage } from '@swarm-mesh/agent-sdk';

/**
 * `input.simulate` as CONTRACT.md defines it: drive a demo agent from outside.
 * `{"latencyMs": 50, "failTimes": 2, "failAlways": false, "tokensIn": 500, "tokensOut": 200, "placeholder": false}`
 */
export interface SimulateSpec {
  /** Sleep this long (abortable). Default: the agent's latency distribution. */
  latencyMs?: number;
  /** Fail attempts 1..failTimes (retryable, SIMULATED_FAILURE). Default 0. */
  failTimes?: number;
  /** Fail every attempt (retryable, SIMULATED_FAILURE). Default false. */
  failAlways?: boolean;
  /** Token use to report. Default: an estimate for LLM-like capabilities. */
  tokensIn?: number;
  tokensOut?: number;
  /** Return placeholder text ("TODO: lorem ipsum …") so validation checks can catch it. Default false. */
  placeholder?: boolean;
  /** Call a simulated provider of this name with a hard limit (see provider.ts); over it the attempt fails 429. */
  provider?: string;
  /** The provider's tokens (in + out) per window. */
  tpmLimit?: number;
  /** The provider's requests per window. */
  rpmLimit?: number;
  /** The provider's window. Default 60 000. */
  windowMs?: number;
}

/** Error code of every simulated failure. */
export const SIMULATED_FAILURE = 'SIMULATED_FAILURE';
/** Error code when `input.simulate` itself is malformed (not retryable). */
export const INVALID_SIMULATE = 'INVALID_SIMULATE';
/** The placeholder text returned with `simulate.placeholder`. */
export const PLACEHOLDER_TEXT = 'TODO: lorem ipsum dolor sit amet, consectetur adipiscing elit.';

const SPEC_KEYS = new Set([
  'latencyMs',
  'failTimes',
  'failAlways',
  'tokensIn',
  'tokensOut',
  'placeholder',
  'provider',
  'tpmLimit',
  'rpmLimit',
  'windowMs',
]);
const MAX_LATENCY_MS = 3_600_000;

/**
 * Reads `input.simulate`: undefined when absent; throws a non-retryable INVALID_SIMULATE error
 * when it is not an object of the documented fields with valid values.
 */
export function parseSimulate(input: Record<string, unknown>): SimulateSpec | undefined {
  const raw = input.simulate;
  if (raw === undefined || raw === null) return undefined;
  const problems: string[] = [];
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new NonRetryableError('input.simulate must be an object', { code: INVALID_SIMULATE });
  }
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!SPEC_KEYS.has(k)) problems.push(`unknown field "${k}"`);
  const spec: SimulateSpec = {};
  const int = (k: 'failTimes' | 'tokensIn' | 'tokensOut' | 'tpmLimit' | 'rpmLimit' | 'windowMs', max: number): void => {
    const v = r[k];
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) problems.push(`${k} must be an integer 0..${max}`);
    else spec[k] = v;
  };
  const bool = (k: 'failAlways' | 'placeholder'): void => {
    const v = r[k];
    if (v === undefined) return;
    if (typeof v !== 'boolean') problems.push(`${k} must be a boolean`);
    else spec[k] = v;
  };
  if (r.latencyMs !== undefined) {
    const v = r.latencyMs;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_LATENCY_MS)
      problems.push(`latencyMs must be a number 0..${MAX_LATENCY_MS}`);
    else spec.latencyMs = v;
  }
  int('failTimes', 1_000);
  int('tokensIn', 100_000_000);
  int('tokensOut', 100_000_000);
  bool('failAlways');
  bool('placeholder');
  int('tpmLimit', 1_000_000_000);
  int('rpmLimit', 1_000_000_000);
  int('windowMs', 3_600_000);
  if (r.provider !== undefined) {
    if (typeof r.provider !== 'string' || !/^[A-Za-z0-9_.:-]{1,100}$/.test(r.provider))
      problems.push('provider must be a name [A-Za-z0-9_.:-]{1,100}');
    else spec.provider = r.provider;
  }
  if (problems.length > 0) {
    throw new NonRetryableError(`invalid input.simulate: ${problems.join('; ')}`, { code: INVALID_SIMULATE, details: { problems } });
  }
  return spec;
}

/** Defaults of an agent when the task has no `simulate` (from DEMO_* env). */
export interface SimulationDefaults {
  /** Mean latency. */
  latencyMs: number;
  /** Uniform spread around the mean (±). */
  jitterMs: number;
  /** Chance 0..1 that an attempt fails (retryable). */
  failureRate: number;
}

/** How a capability behaves without `simulate`. */
export interface CapabilityProfile {
  /** Return immediately, never fail at random (infra.noop). */
  instant: boolean;
  /** Estimate token use from input/output sizes (LLM-like capabilities). */
  llm: boolean;
}

/** What one attempt will do. */
export interface AttemptPlan {
  latencyMs: number;
  /** The error to throw after the latency, if the attempt fails. */
  failure: TaskError | undefined;
  /** Token use to report (explicit from simulate), undefined = estimate or none. */
  tokensIn: number | undefined;
  tokensOut: number | undefined;
  placeholder: boolean;
}

/** Decides what an attempt does. Pure: randomness only through `random`. */
export function planAttempt(
  spec: SimulateSpec | undefined,
  attempt: number,
  defaults: SimulationDefaults,
  profile: CapabilityProfile,
  random: () => number = Math.random,
): AttemptPlan {
  let latencyMs: number;
  if (spec?.latencyMs !== undefined) latencyMs = spec.latencyMs;
  else if (profile.instant) latencyMs = 0;
  else latencyMs = Math.max(0, Math.round(defaults.latencyMs + (random() * 2 - 1) * defaults.jitterMs));

  let failure: TaskError | undefined;
  if (spec) {
    if (spec.failAlways) {
      failure = new TaskError(`simulated failure on attempt ${attempt} (failAlways)`, {
        code: SIMULATED_FAILURE,
        details: { attempt, failAlways: true },
      });
    } else if (spec.failTimes !== undefined && attempt <= spec.failTimes) {
      failure = new TaskError(`simulated failure ${attempt} of ${spec.failTimes}`, {
        code: SIMULATED_FAILURE,
        details: { attempt, failTimes: spec.failTimes },
      });
    }
  } else if (!profile.instant && defaults.failureRate > 0 && random() < defaults.failureRate) {
    failure = new TaskError(`simulated provider failure on attempt ${attempt} (failure rate ${defaults.failureRate})`, {
      code: SIMULATED_FAILURE,
      details: { attempt, failureRate: defaults.failureRate },
    });
  }
  return {
    latencyMs,
    failure,
    tokensIn: spec?.tokensIn,
    tokensOut: spec?.tokensOut,
    placeholder: spec?.placeholder === true,
  };
}

/** Rough token count of a JSON value (4 characters a token). */
export function estimateTokens(value: unknown): number {
  try {
    return Math.max(1, Math.ceil((JSON.stringify(value) ?? '').length / 4));
  } catch {
    return 1;
  }
}

/** Simulated price per 1 000 tokens. */
const PRICE_PER_1K = { in: 0.0005, out: 0.0015 };

/**
 * The usage an attempt reports: explicit `simulate` tokens win; LLM-like capabilities
 * estimate from input and output; others report nothing.
 */
export function usageFor(
  plan: AttemptPlan,
  profile: CapabilityProfile,
  input: unknown,
  output: unknown,
  provider: string,
  /** Report usage (at least the provider) even when there are no tokens to report (DEMO_PROVIDERS). */
  always = false,
): TaskUsage | undefined {
  const explicit = plan.tokensIn !== undefined || plan.tokensOut !== undefined;
  if (!explicit && !profile.llm) return always ? { provider, model: 'sim-1' } : undefined;
  const tokensIn = plan.tokensIn ?? (explicit ? 0 : estimateTokens(input));
  const tokensOut = plan.tokensOut ?? (explicit ? 0 : estimateTokens(output));
  const costUsd = Math.round(((tokensIn / 1000) * PRICE_PER_1K.in + (tokensOut / 1000) * PRICE_PER_1K.out) * 1e6) / 1e6;
  return { tokensIn, tokensOut, costUsd, provider, model: 'sim-1' };
}

/** Sleeps `ms`, rejecting with the signal's reason when it is aborted first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(toError(signal.reason));
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(toError(signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function toError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(typeof reason === 'string' ? reason : 'aborted');
}

/** A small seeded PRNG (mulberry32) for reproducible demos and tests. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
