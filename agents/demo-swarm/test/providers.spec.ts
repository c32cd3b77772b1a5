import { runMockTask } from '@swarm-mesh/agent-sdk';
import { loadDemoConfig } from '../src/config';
import { createDemoHandler } from '../src/handlers';
import { ProviderControls, providerRoute } from '../src/providers';
import { seededRandom } from '../src/simulate';

describe('simulated providers (DEMO_PROVIDERS)', () => {
  it('assigns providers round-robin to the agents of each capability', () => {
    const c = loadDemoConfig({
      DEMO_CAPABILITIES: 'data.fetch,intel.analyze',
      DEMO_AGENTS_PER_CAPABILITY: '3',
      DEMO_PROVIDERS: 'sim-a, sim-b',
    });
    expect(c.providers).toEqual(['sim-a', 'sim-b']);
    expect(c.agents.map((a) => [a.id, a.provider])).toEqual([
      ['data-fetch-1', 'sim-a'],
      ['data-fetch-2', 'sim-b'],
      ['data-fetch-3', 'sim-a'],
      ['intel-analyze-1', 'sim-a'],
      ['intel-analyze-2', 'sim-b'],
      ['intel-analyze-3', 'sim-a'],
    ]);
    expect(loadDemoConfig({}).providers).toEqual([]);
    expect(() => loadDemoConfig({ DEMO_PROVIDERS: 'ok,Not Valid' })).toThrow(/DEMO_PROVIDERS has invalid names Not Valid/);
  });

  it('reports the provider in every attempt’s usage and scales the latency by its live multiplier', async () => {
    const controls = new ProviderControls(['sim-a', 'sim-b']);
    const multiplier = jest.fn(() => controls.multiplier('sim-b'));
    const h = createDemoHandler('data.fetch', {
      defaults: { latencyMs: 0, jitterMs: 0, failureRate: 0 },
      random: seededRandom(1),
      provider: 'sim-b',
      latencyMultiplier: multiplier,
    });
    controls.set('sim-b', 3);
    const { result } = await runMockTask(h, { input: { simulate: { latencyMs: 0 } } });
    expect(result.outcome).toBe('succeeded');
    expect(result.usage).toEqual({ provider: 'sim-b', model: 'sim-1' });
    expect(multiplier).toHaveBeenCalledTimes(1);
    expect(multiplier.mock.results[0]!.value).toBe(3);
  });

  it('serves GET /simulate/providers and PUT /simulate/providers/<name>', () => {
    const controls = new ProviderControls(['sim-a', 'sim-b']);
    expect(providerRoute(controls, 'PUT', '/simulate/providers/sim-b', { latencyMultiplier: 3 })).toEqual({
      status: 200,
      body: { provider: 'sim-b', latencyMultiplier: 3 },
    });
    expect(providerRoute(controls, 'GET', '/simulate/providers', null)).toEqual({
      status: 200,
      body: {
        items: [
          { provider: 'sim-a', latencyMultiplier: 1 },
          { provider: 'sim-b', latencyMultiplier: 3 },
        ],
      },
    });
    expect(providerRoute(controls, 'PUT', '/simulate/providers/sim-z', { latencyMultiplier: 2 })!.status).toBe(404);
    expect(providerRoute(controls, 'PUT', '/simulate/providers/sim-a', { latencyMultiplier: -1 })!.status).toBe(400);
    expect(providerRoute(controls, 'PUT', '/simulate/providers/sim-a', { latencyMultiplier: 2, extra: 1 })!.status).toBe(400);
    expect(providerRoute(controls, 'POST', '/simulate/providers/sim-a', { latencyMultiplier: 2 })!.status).toBe(405);
    expect(providerRoute(controls, 'GET', '/elsewhere', null)).toBeUndefined();
  });
});
