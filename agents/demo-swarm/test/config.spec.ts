import { DemoConfigError, loadDemoConfig } from '../src/config';

describe('loadDemoConfig', () => {
  it('defaults to 2 agents per capability, concurrency 8, all six capabilities', () => {
    const c = loadDemoConfig({});
    expect(c).toMatchObject({
      agentsPerCapability: 2,
      concurrency: 8,
      latencyMs: 100,
      jitterMs: 50,
      failureRate: 0,
      processPerAgent: false,
      tenantId: 'default',
      httpPort: 3005,
      httpHost: '0.0.0.0',
      shutdownGraceMs: 10_000,
    });
    expect(c.agents.map((a) => a.id)).toEqual([
      'data-fetch-1',
      'data-fetch-2',
      'content-generate-1',
      'content-generate-2',
      'intel-analyze-1',
      'intel-analyze-2',
      'quality-review-1',
      'quality-review-2',
      'infra-noop-1',
      'infra-noop-2',
      'content-publish-1',
      'content-publish-2',
    ]);
    expect(c.agents[0]).toEqual({ id: 'data-fetch-1', capability: 'data.fetch', domain: 'data' });
  });

  it('reads every DEMO_* variable', () => {
    const c = loadDemoConfig({
      DEMO_AGENTS_PER_CAPABILITY: '3',
      DEMO_CONCURRENCY: '16',
      DEMO_CAPABILITIES: 'infra.noop, intel.analyze',
      DEMO_LATENCY_MS: '20',
      DEMO_LATENCY_JITTER_MS: '5',
      DEMO_FAILURE_RATE: '0.25',
      DEMO_AGENT_PREFIX: 'bench',
      DEMO_PROCESS_PER_AGENT: 'true',
      DEMO_TENANT_ID: 'acme',
      DEMO_SEED: '7',
      HTTP_PORT: '0',
      SHUTDOWN_GRACE_MS: '2000',
    });
    expect(c).toMatchObject({
      agentsPerCapability: 3,
      concurrency: 16,
      capabilities: ['infra.noop', 'intel.analyze'],
      latencyMs: 20,
      jitterMs: 5,
      failureRate: 0.25,
      processPerAgent: true,
      tenantId: 'acme',
      seed: 7,
      httpPort: 0,
      shutdownGraceMs: 2000,
    });
    expect(c.agents.map((a) => a.id)).toEqual([
      'bench-infra-noop-1',
      'bench-infra-noop-2',
      'bench-infra-noop-3',
      'bench-intel-analyze-1',
      'bench-intel-analyze-2',
      'bench-intel-analyze-3',
    ]);
  });

  it('selects one agent for a per-agent child process', () => {
    const c = loadDemoConfig({ DEMO_AGENT_ID: 'intel-analyze-2' });
    expect(c.agents).toEqual([{ id: 'intel-analyze-2', capability: 'intel.analyze', domain: 'intel' }]);
  });

  it('rejects bad values with every problem listed', () => {
    let err: DemoConfigError | undefined;
    try {
      loadDemoConfig({
        DEMO_AGENTS_PER_CAPABILITY: '0',
        DEMO_CONCURRENCY: 'lots',
        DEMO_CAPABILITIES: 'data.fetch,space.travel',
        DEMO_FAILURE_RATE: '1.5',
        DEMO_LATENCY_MS: '-4',
        DEMO_AGENT_PREFIX: 'bad prefix!',
        DEMO_PROCESS_PER_AGENT: 'maybe',
        DEMO_TENANT_ID: 'Bad Tenant',
        HTTP_PORT: '70000',
      });
    } catch (e) {
      err = e as DemoConfigError;
    }
    expect(err).toBeInstanceOf(DemoConfigError);
    const text = err!.problems.join('\n');
    for (const v of [
      'DEMO_AGENTS_PER_CAPABILITY',
      'DEMO_CONCURRENCY must be an integer between 1 and 10000 (got "lots")',
      'unknown capabilities space.travel',
      'DEMO_FAILURE_RATE must be a number between 0 and 1',
      'DEMO_LATENCY_MS',
      'DEMO_AGENT_PREFIX',
      'DEMO_PROCESS_PER_AGENT must be true or false (got "maybe")',
      'DEMO_TENANT_ID',
      'HTTP_PORT',
    ]) {
      expect(text).toContain(v);
    }
    expect(() => loadDemoConfig({ DEMO_AGENT_ID: 'nobody' })).toThrow(/DEMO_AGENT_ID "nobody" is not one of the configured agents/);
  });
});
