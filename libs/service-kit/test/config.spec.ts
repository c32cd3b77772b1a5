import {
  BASE_ENV_SPEC,
  bool,
  ConfigError,
  describeEnv,
  int,
  loadServiceConfig,
  num,
  oneOf,
  optionalStr,
  portVariable,
  readEnv,
  str,
  url,
  urlList,
} from '@swarm-mesh/service-kit';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('readEnv', () => {
  const spec = {
    A_INT: int('an int', { default: 5, min: 1, max: 10 }),
    A_NUM: num('a number', { default: 0.5, min: 0, max: 1 }),
    A_BOOL: bool('a flag', { default: false }),
    A_ONE: oneOf('a choice', ['x', 'y'] as const, { default: 'x' }),
    A_STR: str('a string', { default: 'hello', pattern: /^[a-z]+$/ }),
    A_OPT: optionalStr('optional'),
    A_URL: url('a url', ['http', 'https'], { default: 'http://localhost:1' }),
    A_URLS: urlList('urls', ['nats'], { default: 'nats://a:1,nats://b:2' }),
  };

  it('applies defaults for unset and empty variables', () => {
    const v = readEnv(spec, { A_INT: '' });
    expect(v).toEqual({
      A_INT: 5,
      A_NUM: 0.5,
      A_BOOL: false,
      A_ONE: 'x',
      A_STR: 'hello',
      A_OPT: undefined,
      A_URL: 'http://localhost:1',
      A_URLS: ['nats://a:1', 'nats://b:2'],
    });
  });

  it('parses valid values', () => {
    const v = readEnv(spec, {
      A_INT: ' 7 ',
      A_NUM: '0.25',
      A_BOOL: 'YES',
      A_ONE: 'y',
      A_STR: 'abc',
      A_OPT: 'anything at all',
      A_URL: 'https://example.com/x',
      A_URLS: ' nats://c:3 , nats://d:4 ,',
    });
    expect(v).toEqual({
      A_INT: 7,
      A_NUM: 0.25,
      A_BOOL: true,
      A_ONE: 'y',
      A_STR: 'abc',
      A_OPT: 'anything at all',
      A_URL: 'https://example.com/x',
      A_URLS: ['nats://c:3', 'nats://d:4'],
    });
  });

  it.each([
    ['1', true],
    ['true', true],
    ['on', true],
    ['0', false],
    ['False', false],
    ['off', false],
    ['no', false],
  ])('bool parses %j as %j', (raw, expected) => {
    expect(readEnv({ B: bool('b') }, { B: raw }).B).toBe(expected);
  });

  it('reports every bad value at once, each naming its variable', () => {
    const problems = problemsOf(() =>
      readEnv(spec, {
        A_INT: 'abc',
        A_NUM: 'NaN',
        A_BOOL: 'maybe',
        A_ONE: 'z',
        A_STR: 'ABC',
        A_URL: 'ftp://x',
        A_URLS: 'nats://ok:1,not a url',
      }),
    );
    expect(problems).toHaveLength(7);
    const byVar = (name: string): string => problems.find((p) => p.startsWith(`${name}:`)) ?? '';
    expect(byVar('A_INT')).toMatch(/must be an integer, got "abc"/);
    expect(byVar('A_NUM')).toMatch(/must be a number/);
    expect(byVar('A_BOOL')).toMatch(/must be true or false/);
    expect(byVar('A_ONE')).toMatch(/must be one of x, y/);
    expect(byVar('A_STR')).toMatch(/must match/);
    expect(byVar('A_URL')).toMatch(/must use http:\/\/ or https:\/\//);
    expect(byVar('A_URLS')).toMatch(/"not a url" is not a URL/);
    for (const p of problems) expect(p).toMatch(/\(.+\)$/); // the description follows
  });

  it('reports range violations', () => {
    expect(problemsOf(() => readEnv(spec, { A_INT: '0' }))[0]).toMatch(/A_INT: must be ≥ 1, got 0/);
    expect(problemsOf(() => readEnv(spec, { A_INT: '11' }))[0]).toMatch(/A_INT: must be ≤ 10, got 11/);
    expect(problemsOf(() => readEnv(spec, { A_INT: '1.5' }))[0]).toMatch(/A_INT: must be an integer/);
    expect(problemsOf(() => readEnv(spec, { A_NUM: '2' }))[0]).toMatch(/A_NUM: must be ≤ 1/);
    expect(problemsOf(() => readEnv(spec, { A_NUM: ' ' }))[0]).toMatch(/A_NUM: must be a number/);
  });

  it('reports missing required variables', () => {
    const problems = problemsOf(() => readEnv({ NEED: str('needed', { required: true }), NEED2: int('n', { required: true }) }, {}));
    expect(problems).toEqual(['NEED is required (needed)', 'NEED2 is required (n)']);
  });

  it('url() takes exactly one URL', () => {
    expect(problemsOf(() => readEnv({ U: url('u', ['http']) }, { U: 'http://a,http://b' }))[0]).toMatch(/exactly one URL/);
  });

  it('ConfigError lists the problems in its message', () => {
    const err = new ConfigError(['A: bad', 'B: worse']);
    expect(err.message).toBe('invalid configuration:\n  - A: bad\n  - B: worse');
    expect(err.name).toBe('ConfigError');
  });

  it('describeEnv renders every variable with its default', () => {
    const text = describeEnv(spec);
    expect(text).toContain('# an int\nA_INT=5');
    expect(text).toContain('# optional\n# A_OPT=');
    expect(text).toContain('A_URLS=nats://a:1,nats://b:2');
  });
});

describe('loadServiceConfig', () => {
  it('has the documented defaults', () => {
    const c = loadServiceConfig('coordinator', undefined, {});
    expect(c).toMatchObject({
      service: 'coordinator',
      version: '0.1.0',
      namespace: '',
      nats: { servers: ['nats://127.0.0.1:4222'] },
      database: { url: 'postgres://postgres@127.0.0.1:5432/swarm_mesh', poolMax: 10, createIfMissing: true },
      http: { host: '0.0.0.0', port: 3001 },
      logLevel: 'info',
      shutdownGraceMs: 10_000,
      extra: {},
    });
    expect(c.instanceId).toMatch(/-\d+-[0-9a-f]{6}$/);
    expect(c.nats.user).toBeUndefined();
  });

  it.each([
    ['gateway', 'GATEWAY_PORT', 3000],
    ['coordinator', 'COORDINATOR_PORT', 3001],
    ['resource-allocator', 'RESOURCE_ALLOCATOR_PORT', 3002],
    ['conflict-resolver', 'CONFLICT_RESOLVER_PORT', 3003],
    ['performance-optimizer', 'PERFORMANCE_OPTIMIZER_PORT', 3004],
  ] as const)('%s: port variable %s, default %d', (service, variable, port) => {
    expect(portVariable(service)).toBe(variable);
    expect(loadServiceConfig(service, undefined, {}).http.port).toBe(port);
    expect(loadServiceConfig(service, undefined, { [variable]: '4500' }).http.port).toBe(4500);
    // HTTP_PORT wins over the service's own variable; 0 = any free port
    expect(loadServiceConfig(service, undefined, { [variable]: '4500', HTTP_PORT: '0' }).http.port).toBe(0);
    expect(loadServiceConfig(service, undefined, { HTTP_PORT: '4600' }).http.port).toBe(4600);
  });

  it("ignores other services' port variables", () => {
    expect(loadServiceConfig('coordinator', undefined, { GATEWAY_PORT: '9999' }).http.port).toBe(3001);
  });

  it('reads every base variable', () => {
    const c = loadServiceConfig('gateway', undefined, {
      NATS_URL: 'nats://a:1,tls://b:2',
      NATS_USER: 'u',
      NATS_PASSWORD: 'p',
      NATS_TOKEN: 't',
      NATS_CREDS: '/x.creds',
      SWARM_NAMESPACE: 't1abc',
      DATABASE_URL: 'postgresql://u:p@db:5433/x',
      DB_POOL_MAX: '3',
      DB_CREATE_IF_MISSING: 'false',
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      SHUTDOWN_GRACE_MS: '250',
      SWARM_INSTANCE_ID: 'gw-1',
      SWARM_VERSION: '1.2.3',
      LEADER_LEASE_TTL_MS: '1500',
      NATS_AWAIT_RESPONDER_MS: '750',
    });
    expect(c).toEqual({
      service: 'gateway',
      instanceId: 'gw-1',
      version: '1.2.3',
      namespace: 't1abc',
      nats: { servers: ['nats://a:1', 'tls://b:2'], user: 'u', pass: 'p', token: 't', credsFile: '/x.creds' },
      database: { url: 'postgresql://u:p@db:5433/x', poolMax: 3, createIfMissing: false },
      http: { host: '127.0.0.1', port: 3000 },
      logLevel: 'warn',
      shutdownGraceMs: 250,
      leaderLeaseTtlMs: 1500,
      awaitResponderMs: 750,
      heapGrowingPercent: 50,
      extra: {},
    });
  });

  it('reports every bad base value at once, naming each variable', () => {
    const problems = problemsOf(() =>
      loadServiceConfig('coordinator', undefined, {
        NATS_URL: 'http://x',
        DATABASE_URL: 'mysql://db/x',
        DB_POOL_MAX: 'abc',
        DB_CREATE_IF_MISSING: 'perhaps',
        HTTP_PORT: '70000',
        COORDINATOR_PORT: '-1',
        LOG_LEVEL: 'verbose',
        SHUTDOWN_GRACE_MS: '-5',
        SWARM_NAMESPACE: 'Bad.NS',
        LEADER_LEASE_TTL_MS: '10',
        HEAP_GROWING_PERCENT: '-1',
      }),
    );
    const vars = problems.map((p) => p.split(':')[0]).sort();
    expect(vars).toEqual([
      'COORDINATOR_PORT',
      'DATABASE_URL',
      'DB_CREATE_IF_MISSING',
      'DB_POOL_MAX',
      'HEAP_GROWING_PERCENT',
      'HTTP_PORT',
      'LEADER_LEASE_TTL_MS',
      'LOG_LEVEL',
      'NATS_URL',
      'SHUTDOWN_GRACE_MS',
      'SWARM_NAMESPACE',
    ]);
    expect(problems.find((p) => p.startsWith('NATS_URL'))).toMatch(/"http:\/\/x" must use nats:\/\/ or tls:\/\/ or ws:\/\/ or wss:\/\//);
    expect(problems.find((p) => p.startsWith('DB_POOL_MAX'))).toMatch(/must be an integer, got "abc"/);
  });

  it('DB_POOL_MAX must be between 1 and 200', () => {
    expect(problemsOf(() => loadServiceConfig('coordinator', undefined, { DB_POOL_MAX: '0' }))[0]).toMatch(/^DB_POOL_MAX: must be ≥ 1/);
    expect(problemsOf(() => loadServiceConfig('coordinator', undefined, { DB_POOL_MAX: '201' }))[0]).toMatch(/^DB_POOL_MAX: must be ≤ 200/);
  });

  it.each(['', 'a', 't1abc', 'abc_def_1', 'a'.repeat(32)])('accepts the namespace %j', (ns) => {
    expect(loadServiceConfig('coordinator', undefined, { SWARM_NAMESPACE: ns }).namespace).toBe(ns);
  });

  it.each(['A', '1abc', '_abc', 'a.b', 'a-b', 'a b', 'a'.repeat(33), 'ab*'])('rejects the namespace %j', (ns) => {
    const problems = problemsOf(() => loadServiceConfig('coordinator', undefined, { SWARM_NAMESPACE: ns }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^SWARM_NAMESPACE: must match lowercase letters, digits and _/);
  });

  it('reads service-specific variables into extra, validated with the rest', () => {
    const extraSpec = {
      GATEWAY_BODY_LIMIT_BYTES: int('body limit', { default: 1024, min: 1024 }),
      FEATURE_X: bool('x', { default: true }),
    };
    expect(loadServiceConfig('gateway', extraSpec, { FEATURE_X: 'off' }).extra).toEqual({
      GATEWAY_BODY_LIMIT_BYTES: 1024,
      FEATURE_X: false,
    });
    const problems = problemsOf(() => loadServiceConfig('gateway', extraSpec, { GATEWAY_BODY_LIMIT_BYTES: '10', DB_POOL_MAX: 'x' }));
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['DB_POOL_MAX', 'GATEWAY_BODY_LIMIT_BYTES']);
  });

  it('every base variable has a description', () => {
    for (const [name, v] of Object.entries(BASE_ENV_SPEC)) {
      expect(name).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(v.description.length).toBeGreaterThan(3);
    }
  });
});
