import { TaskError } from '@swarm-mesh/agent-sdk';
import { metricFamily } from './http';

/** Error code of a simulated provider 429 (the coordinator pauses the task's pool for retryAfterMs). */
export const PROVIDER_RATE_LIMITED = 'PROVIDER_RATE_LIMITED';

/** A provider's hard limits, from `input.simulate` (`provider`, `tpmLimit`, `rpmLimit`, `windowMs`). */
export interface ProviderLimits {
  provider: string;
  /** Tokens (in + out) per window. */
  tpmLimit?: number;
  /** Requests per window. */
  rpmLimit?: number;
  /** Default 60 000. */
  windowMs?: number;
}

/**
 * A simulated AI provider with a hard sliding-window limit, shared by every agent of the process:
 * a call that would take the last `windowMs` over the limit is a *violation*: it is counted and
 * refused like a real provider would (HTTP 429 with retry-after).
 */
export class SimulatedProvider {
  private events: Array<{ at: number; tokens: number }> = [];
  requests = 0;
  tokens = 0;
  violations = 0;
  /** Largest token sum seen in any window (admitted calls only). */
  peakTokens = 0;

  constructor(readonly limits: Required<Pick<ProviderLimits, 'provider' | 'windowMs'>> & ProviderLimits) {}

  /** Records a call of `tokens` at `now`; throws a retryable PROVIDER_RATE_LIMITED TaskError when over the limit. */
  call(tokens: number, now: number = Date.now()): void {
    const w = this.limits.windowMs;
    while (this.events.length > 0 && this.events[0]!.at <= now - w) this.events.shift();
    const used = this.events.reduce((s, e) => s + e.tokens, 0);
    const overTokens = this.limits.tpmLimit !== undefined && used + tokens > this.limits.tpmLimit;
    const overRequests = this.limits.rpmLimit !== undefined && this.events.length + 1 > this.limits.rpmLimit;
    if (overTokens || overRequests) {
      this.violations++;
      const first = this.events[0];
      const retryAfterMs = first ? Math.max(1, Math.ceil(first.at + w - now)) : w;
      throw new TaskError(
        `provider ${this.limits.provider} rate limited (429): ${overTokens ? 'tokens' : 'requests'} per window exceeded`,
        {
          code: PROVIDER_RATE_LIMITED,
          details: { provider: this.limits.provider, retryAfterMs, status: 429 },
        },
      );
    }
    this.events.push({ at: now, tokens });
    this.requests++;
    this.tokens += tokens;
    this.peakTokens = Math.max(this.peakTokens, used + tokens);
  }
}

const providers = new Map<string, SimulatedProvider>();

/** The process-wide provider of that name (created with the first limits seen). */
export function simulatedProvider(limits: ProviderLimits): SimulatedProvider {
  let p = providers.get(limits.provider);
  if (!p) {
    p = new SimulatedProvider({ ...limits, windowMs: limits.windowMs ?? 60_000 });
    providers.set(limits.provider, p);
  }
  return p;
}

export function providerStats(): Array<{ provider: string; requests: number; tokens: number; violations: number; peakTokens: number }> {
  return [...providers.values()].map((p) => ({
    provider: p.limits.provider,
    requests: p.requests,
    tokens: p.tokens,
    violations: p.violations,
    peakTokens: p.peakTokens,
  }));
}

/** Prometheus text of the simulated providers (appended to the demo's /metrics). */
export function providerMetrics(): string {
  const s = providerStats();
  if (s.length === 0) return '';
  return (
    metricFamily(
      'demo_provider_requests_total',
      'counter',
      'Calls a simulated provider accepted.',
      s.map((p) => ({ labels: { provider: p.provider }, value: p.requests })),
    ) +
    metricFamily(
      'demo_provider_tokens_total',
      'counter',
      'Tokens a simulated provider served.',
      s.map((p) => ({ labels: { provider: p.provider }, value: p.tokens })),
    ) +
    metricFamily(
      'demo_provider_violations_total',
      'counter',
      'Calls over the provider’s limit (answered 429).',
      s.map((p) => ({ labels: { provider: p.provider }, value: p.violations })),
    ) +
    metricFamily(
      'demo_provider_peak_window_tokens',
      'gauge',
      'Largest token sum the provider saw in one window.',
      s.map((p) => ({ labels: { provider: p.provider }, value: p.peakTokens })),
    )
  );
}
