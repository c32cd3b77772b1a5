import { Agent, AgentOptionsError, compileAgentOptions } from '@swarm-mesh/agent-sdk';
import { silentLogger } from '@swarm-mesh/telemetry';

describe('compileAgentOptions', () => {
  it('applies the documented defaults', () => {
    const o = compileAgentOptions({ id: 'a-1', domain: 'data', logger: silentLogger }, {});
    expect(o).toMatchObject({
      id: 'a-1',
      name: 'a-1',
      tenantId: 'default',
      domain: 'data',
      tier: 'specialist',
      capabilities: undefined,
      concurrency: 10,
      natsUrl: 'nats://127.0.0.1:4222',
      namespace: '',
      nats: {},
      version: undefined,
      resultBatchDelayMs: 2,
      shutdownGraceMs: 10_000,
      pullExpiresMs: 5_000,
      handleSignals: false,
      registerRetry: { initialDelayMs: 250, maxDelayMs: 5_000, multiplier: 2, jitter: 0.2, requestTimeoutMs: 5_000, maxAttempts: Infinity },
    });
    expect(Object.isFrozen(o)).toBe(true);
  });

  it('takes connection defaults from the environment', () => {
    const o = compileAgentOptions(
      { id: 'a', domain: 'intel', logger: silentLogger },
      { NATS_URL: 'nats://n1:4222,nats://n2:4222', SWARM_NAMESPACE: 'dev', NATS_USER: 'u', NATS_PASSWORD: 'p', SWARM_VERSION: '2.0.0' },
    );
    expect(o.natsUrl).toBe('nats://n1:4222,nats://n2:4222');
    expect(o.namespace).toBe('dev');
    expect(o.nats).toEqual({ user: 'u', pass: 'p' });
    expect(o.version).toBe('2.0.0');
  });

  it('lets explicit options win over the environment', () => {
    const o = compileAgentOptions(
      { id: 'a', domain: 'intel', natsUrl: 'nats://x:1', namespace: '', nats: { token: 't' }, logger: silentLogger },
      { NATS_URL: 'nats://env:4222', SWARM_NAMESPACE: 'dev' },
    );
    expect(o.natsUrl).toBe('nats://x:1');
    expect(o.namespace).toBe('');
    expect(o.nats).toEqual({ token: 't' });
  });

  it('lists every problem in one clear error', () => {
    let err: AgentOptionsError | undefined;
    try {
      compileAgentOptions(
        {
          id: 'bad id',
          domain: 'space' as never,
          tier: 'boss' as never,
          concurrency: 0,
          capabilities: ['Data.Fetch', 'ok.one', 'ok.one'],
          namespace: 'Bad.NS',
          resultBatchDelayMs: -1,
          pullExpiresMs: 10,
          registerRetry: { initialDelayMs: 100, maxDelayMs: 50, bogus: 1 } as never,
          metadata: [] as never,
          typo: true,
        } as never,
        {},
      );
    } catch (e) {
      err = e as AgentOptionsError;
    }
    expect(err).toBeInstanceOf(AgentOptionsError);
    const text = err!.problems.join('\n');
    expect(text).toMatch(/unknown option "typo"/);
    expect(text).toMatch(/id must match/);
    expect(text).toMatch(/domain must be one of data, content, intel, quality, infra/);
    expect(text).toMatch(/tier must be one of master, specialist, microtask/);
    expect(text).toMatch(/concurrency must be an integer between 1 and 10000 \(got 0\)/);
    expect(text).toMatch(/capability "Data.Fetch" must match/);
    expect(text).toMatch(/capability "ok.one" is listed twice/);
    expect(text).toMatch(/invalid namespace "Bad.NS"/);
    expect(text).toMatch(/resultBatchDelayMs must be an integer/);
    expect(text).toMatch(/pullExpiresMs must be an integer between 1000/);
    expect(text).toMatch(/unknown option "registerRetry.bogus"/);
    expect(text).toMatch(/maxDelayMs must be ≥/);
    expect(text).toMatch(/metadata must be a JSON object/);
    expect(err!.message).toMatch(/^invalid agent options: /);
  });

  it('rejects conflicting auth and oversized metadata', () => {
    expect(() => compileAgentOptions({ id: 'a', domain: 'data', nats: { token: 't', user: 'u' } }, {})).toThrow(/exclusive/);
    expect(() => compileAgentOptions({ id: 'a', domain: 'data', nats: { pass: 'p' } }, {})).toThrow(/nats.pass needs nats.user/);
    expect(() => compileAgentOptions({ id: 'a', domain: 'data', metadata: { blob: 'x'.repeat(17 * 1024) } }, {})).toThrow(/16 KiB/);
  });

  it('is applied by the Agent constructor', () => {
    expect(() => new Agent({ id: 'a', domain: 'data', concurrency: 1.5 })).toThrow(AgentOptionsError);
    const agent = new Agent({ id: 'a', domain: 'data', concurrency: 3, logger: silentLogger });
    expect(agent.freeSlots).toBe(3);
    expect(agent.state).toBe('new');
    expect(agent.mode).toBe('ready');
  });
});

describe('Agent.handle', () => {
  it('checks capability names, duplicates and the start order', async () => {
    const agent = new Agent({ id: 'h', domain: 'data', logger: silentLogger });
    expect(() => agent.handle('Bad Cap', () => ({}))).toThrow(/must match/);
    agent.handle('data.fetch', () => ({}));
    expect(() => agent.handle('data.fetch', () => ({}))).toThrow(/already has a handler/);
    await agent.stop();
    expect(agent.state).toBe('stopped');
  });

  it('refuses to start without handlers or with announced capabilities lacking one', async () => {
    const none = new Agent({ id: 'n', domain: 'data', logger: silentLogger });
    await expect(none.start()).rejects.toThrow(/register at least one handler/);
    const missing = new Agent({ id: 'm', domain: 'data', capabilities: ['data.fetch', 'data.other'], logger: silentLogger });
    missing.handle('data.fetch', () => ({}));
    await expect(missing.start()).rejects.toThrow(/capabilities without a handler: data.other/);
  });
});
