/**
 * Simulated providers: DEMO_PROVIDERS names the providers the demo agents stand for (agent n
 * of each capability uses provider (n − 1) mod count, and reports it in its usage), and a
 * latency multiplier per provider can be changed while the swarm runs
 * (`PUT /simulate/providers/<name>` on the status port), e.g. to make one provider 3× slower
 * mid-run and watch the performance optimizer notice.
 */

/** Provider names: like pool names. */
export const PROVIDER_RE = /^[a-z0-9][a-z0-9_.:-]{0,63}$/;
const MAX_MULTIPLIER = 1000;

export interface ProviderState {
  provider: string;
  latencyMultiplier: number;
}

/** The live latency multipliers of this process's providers (default 1). */
export class ProviderControls {
  private readonly multipliers = new Map<string, number>();

  constructor(readonly providers: readonly string[] = []) {
    for (const p of providers) this.multipliers.set(p, 1);
  }

  multiplier(provider: string): number {
    return this.multipliers.get(provider) ?? 1;
  }

  /** Sets a provider's multiplier; throws on an unknown provider or a bad value. */
  set(provider: string, latencyMultiplier: number): ProviderState {
    if (!this.multipliers.has(provider))
      throw new RangeError(`unknown provider "${provider}" (known: ${this.providers.join(', ') || 'none'})`);
    if (
      typeof latencyMultiplier !== 'number' ||
      !Number.isFinite(latencyMultiplier) ||
      latencyMultiplier < 0 ||
      latencyMultiplier > MAX_MULTIPLIER
    )
      throw new RangeError(`latencyMultiplier must be a number 0..${MAX_MULTIPLIER}`);
    this.multipliers.set(provider, latencyMultiplier);
    return { provider, latencyMultiplier };
  }

  list(): ProviderState[] {
    return [...this.multipliers].map(([provider, latencyMultiplier]) => ({ provider, latencyMultiplier }));
  }
}

/**
 * `GET /simulate/providers` and `PUT /simulate/providers/<name>` with `{"latencyMultiplier": 3}`.
 * Returns undefined for other routes.
 */
export function providerRoute(
  controls: ProviderControls,
  method: string,
  path: string,
  body: unknown,
): { status: number; body: unknown } | undefined {
  if (path === '/simulate/providers' && method === 'GET') return { status: 200, body: { items: controls.list() } };
  const m = /^\/simulate\/providers\/([^/]+)$/.exec(path);
  if (!m) return undefined;
  if (method !== 'PUT') return { status: 405, body: { code: 'ROUTE_NOT_FOUND', message: `${method} ${path} is not supported; use PUT` } };
  const provider = decodeURIComponent(m[1]!);
  const b = body as { latencyMultiplier?: unknown } | null;
  if (typeof b !== 'object' || b === null || Object.keys(b).some((k) => k !== 'latencyMultiplier'))
    return { status: 400, body: { code: 'VALIDATION_FAILED', message: 'body must be {"latencyMultiplier": <number>}' } };
  try {
    return { status: 200, body: controls.set(provider, b.latencyMultiplier as number) };
  } catch (err) {
    const unknown = /unknown provider/.test((err as Error).message);
    return { status: unknown ? 404 : 400, body: { code: unknown ? 'NOT_FOUND' : 'VALIDATION_FAILED', message: (err as Error).message } };
  }
}
