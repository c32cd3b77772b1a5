import type { TaskDto, TaskState } from '@swarm-mesh/contracts';
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, UsageError } from '../src/args';
import { type CliIO, exitOnBrokenPipe } from '../src/io';
import { main, USAGE_ERROR_CODE } from '../src/main';

// The CLI imports SwarmClient from @swarm-mesh/agent-sdk; load just the client folder here so the
// test needs neither the package's index wiring nor its NATS/OpenTelemetry dependencies.
jest.mock('@swarm-mesh/agent-sdk', () => jest.requireActual('../../libs/agent-sdk/src/client'));

interface Seen {
  method: string;
  path: string;
  query: Record<string, string>;
  auth: string | undefined;
  body: unknown;
}
type Reply = { status: number; body: unknown };

let server: Server;
let url: string;
let seen: Seen[] = [];
let handler: (req: Seen, n: number) => Reply;
let workDir: string;

function task(id: string, state: TaskState = 'queued', extra: Partial<TaskDto> = {}): TaskDto {
  return {
    id,
    tenantId: 'default',
    capability: 'data.fetch',
    state,
    priority: 'MEDIUM',
    input: {},
    attempts: [],
    attempt: 0,
    maxAttempts: 4,
    labels: {},
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    ...extra,
  };
}

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      const text = Buffer.concat(chunks).toString('utf8');
      const s: Seen = {
        method: req.method ?? '',
        path: u.pathname,
        query: Object.fromEntries(u.searchParams),
        auth: req.headers.authorization,
        body: text ? JSON.parse(text) : undefined,
      };
      seen.push(s);
      const r = handler(s, seen.length);
      res.writeHead(r.status, { 'content-type': 'application/json', 'x-trace-id': 'a'.repeat(32) });
      res.end(JSON.stringify(r.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  workDir = mkdtempSync(join(tmpdir(), 'swarm-cli-'));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(workDir, { recursive: true, force: true });
});

beforeEach(() => {
  seen = [];
  handler = () => ({ status: 200, body: task('t1') });
});

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function swarm(
  args: string[],
  opts: { env?: Record<string, string>; stdin?: string; tty?: boolean; cwd?: string } = {},
): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    stdout: { write: (s: string) => (stdout += s), isTTY: opts.tty ?? false, columns: 120 },
    stderr: { write: (s: string) => (stderr += s) },
    env: { SWARM_URL: url, SWARM_API_KEY: 'test-key', ...opts.env },
    cwd: opts.cwd ?? workDir,
    readStdin: async () => opts.stdin ?? '',
    readFile: async (p) => (await import('node:fs/promises')).readFile(p, 'utf8'),
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

describe('argument parser', () => {
  const specs = [
    { name: 'json', type: 'boolean' as const, description: '' },
    { name: 'limit', type: 'string' as const, description: '' },
    { name: 'label', type: 'list' as const, description: '' },
    { name: 'help', short: 'h', type: 'boolean' as const, description: '' },
  ];

  it('reads --opt value, --opt=value, flags, repeats, -h and --', () => {
    expect(parseArgs(['a', '--limit', '5', '--json', '--label=x=1', '--label', 'y=2', '-h', 'b', '--', '--not-an-option'], specs)).toEqual({
      positionals: ['a', 'b', '--not-an-option'],
      options: { limit: '5', json: true, label: ['x=1', 'y=2'], help: true },
    });
    expect(parseArgs(['-', '-5'], specs).positionals).toEqual(['-', '-5']);
  });

  it('rejects unknown options, missing values, repeated single options and values on flags', () => {
    expect(() => parseArgs(['--nope'], specs)).toThrow(new UsageError('unknown option --nope'));
    expect(() => parseArgs(['--limit'], specs)).toThrow('needs a value');
    expect(() => parseArgs(['--limit', '1', '--limit', '2'], specs)).toThrow('given twice');
    expect(() => parseArgs(['--json=yes'], specs)).toThrow('takes no value');
    expect(() => parseArgs(['-x'], specs)).toThrow('unknown option -x');
  });
});

describe('swarm CLI', () => {
  it('prints help for everything and for each command', async () => {
    const all = await swarm(['--help']);
    expect(all.code).toBe(0);
    for (const c of [
      'submit <capability>',
      'submit-batch',
      'watch <taskId>',
      'agents drain <agentId>',
      'dead-letters replay',
      'queues',
      'health',
    ]) {
      expect(all.stdout).toContain(c);
    }
    const submit = await swarm(['submit', '--help']);
    expect(submit.code).toBe(0);
    expect(submit.stdout).toContain('Usage: swarm submit <capability> [options]');
    expect(submit.stdout).toContain('--idempotency-key <key>');
    expect((await swarm(['help', 'agents'])).stdout).toContain('Usage: swarm agents list');
    expect((await swarm(['agents', 'drain', '-h'])).stdout).toContain('Usage: swarm agents drain <agentId>');
    const none = await swarm([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage: swarm <command>');
    expect(seen).toHaveLength(0);
  });

  it('exits 2 on usage errors without calling the API', async () => {
    const cases: Array<[string[], string]> = [
      [['frobnicate'], 'unknown command "frobnicate"'],
      [['get'], 'missing <taskId>'],
      [['get', 'a', 'b'], 'unexpected argument "b"'],
      [['get', 'a', '--bogus'], 'unknown option --bogus'],
      [['submit', 'data.fetch', '--priority', 'urgent'], 'priority must be one of'],
      [['submit', 'data.fetch', '--input', '{nope'], '--input is not valid JSON'],
      [['submit', 'data.fetch', '--input', '[1]'], '--input must be a JSON object'],
      [['submit', 'data.fetch', '--input', '@missing.json'], 'cannot read --input'],
      [['submit', 'data.fetch', '--max-attempts', 'x'], '--max-attempts must be an integer'],
      [['submit', 'data.fetch', '--backoff', '1,a'], '--backoff must be comma-separated'],
      [['submit', 'data.fetch', '--label', 'novalue'], '--label must be key=value'],
      [['submit', 'data.fetch', '--wait', '--watch'], 'either --wait or --watch'],
      [['priority', 'a'], 'missing <taskId> <P>'],
      [['priority', 'a', 'SOON'], 'priority must be one of'],
      [['tasks', '--state', 'sleeping'], '--state must be one of'],
      [['tasks', '--limit', '0'], '--limit must be between 1 and 500'],
      [['agents', 'bogus', 'x'], 'unknown agents command "bogus"'],
      [['agents', '--domain', 'space'], '--domain must be one of'],
      [['watch', 't1', '--poll', '1'], '--poll must be between'],
      [['submit-batch', '-'], 'expected a non-empty array of tasks'],
    ];
    for (const [args, message] of cases) {
      const r = await swarm(args, { stdin: '[]' });
      expect({ args, code: r.code, hasMessage: r.stderr.includes(message) }).toEqual({ args, code: 2, hasMessage: true });
      expect(r.stderr).toContain('--help');
    }
    expect(seen).toHaveLength(0);
  });

  it('with --json prints usage errors as one {code, message, details} line on stderr, like API errors', async () => {
    writeFileSync(join(workDir, 'not-a-workflow.json'), '{nope');
    const cases: Array<[string[], string, Record<string, unknown>]> = [
      [['frobnicate', '--json'], 'unknown command "frobnicate"', {}],
      [['--json', 'frobnicate'], 'unknown command "frobnicate"', {}],
      [['--json'], 'no command given', {}],
      [['submit', '--json'], 'missing <capability>', { command: 'submit' }],
      [['submit', 'infra.noop', '--input', '{bad', '--json'], '--input is not valid JSON', { command: 'submit' }],
      [['workflow', 'submit', '/nope.json', '--json'], 'cannot read /nope.json', { command: 'workflow submit' }],
      [['workflow', 'submit', 'not-a-workflow.json', '--json'], 'is not valid JSON', { command: 'workflow submit' }],
      [['agents', 'frob', '--json'], 'unknown agents command "frob"', {}],
      [['get', 'a', '--bogus', '--json'], 'unknown option --bogus', { command: 'get' }],
      [['tasks', '--json', '--limit', '0'], '--limit must be between 1 and 500', { command: 'tasks' }],
    ];
    for (const [args, message, details] of cases) {
      const r = await swarm(args);
      expect({ args, code: r.code, stdout: r.stdout, lines: r.stderr.split('\n').length }).toEqual({ args, code: 2, stdout: '', lines: 2 });
      const parsed = JSON.parse(r.stderr) as { code: string; message: string; details: unknown };
      expect({ args, ...parsed }).toEqual({ args, code: USAGE_ERROR_CODE, message: expect.stringContaining(message), details });
    }
    expect(USAGE_ERROR_CODE).toBe('USAGE_ERROR');
    expect(seen).toHaveLength(0);

    // without --json the text stays as it was
    expect(await swarm(['frobnicate'])).toEqual({
      code: 2,
      stdout: '',
      stderr: 'swarm: unknown command "frobnicate"\nRun \'swarm --help\' for usage.\n',
    });
    expect((await swarm(['submit'])).stderr).toBe("swarm: missing <capability>\nRun 'swarm submit --help' for usage.\n");
    // a value that happens to be "--json" does not switch the format
    expect((await swarm(['submit', 'a', '--input', '--json'])).stderr).toMatch(/^swarm: --input is not valid JSON: /);
  });

  it('submits a task built from the options; --json prints exactly the API JSON', async () => {
    const created = task('t-new', 'queued', { priority: 'HIGH' });
    handler = () => ({ status: 201, body: created });
    const r = await swarm([
      'submit',
      'data.fetch',
      '--input',
      '{"url":"https://x","simulate":{"latencyMs":5}}',
      '--priority',
      'high',
      '--idempotency-key',
      'k1',
      '--max-attempts',
      '3',
      '--backoff',
      '100,200',
      '--label',
      'team=a',
      '--label',
      'env=dev',
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(created);
    expect(seen[0]).toEqual({
      method: 'POST',
      path: '/api/v1/tasks',
      query: {},
      auth: 'Bearer test-key',
      body: {
        capability: 'data.fetch',
        input: { url: 'https://x', simulate: { latencyMs: 5 } },
        priority: 'HIGH',
        idempotencyKey: 'k1',
        retry: { maxAttempts: 3, backoffMs: [100, 200] },
        labels: { team: 'a', env: 'dev' },
      },
    });
    const human = await swarm(['submit', 'data.fetch']);
    expect(human.stdout).toBe('submitted t-new (data.fetch, HIGH, queued)\n');
  });

  it('reads --input from @file and from stdin', async () => {
    writeFileSync(join(workDir, 'input.json'), '{"from":"file"}');
    await swarm(['submit', 'a', '--input', '@input.json']);
    expect(seen.at(-1)!.body).toEqual({ capability: 'a', input: { from: 'file' } });
    await swarm(['submit', 'a', '--input', '@-'], { stdin: '{"from":"stdin"}' });
    expect(seen.at(-1)!.body).toEqual({ capability: 'a', input: { from: 'stdin' } });
  });

  it('submits a batch from a file ({tasks} or an array) and from stdin', async () => {
    handler = (req) => ({ status: 201, body: { tasks: (req.body as { tasks: unknown[] }).tasks.map((_, i) => task(`b${i}`)) } });
    writeFileSync(join(workDir, 'batch.json'), JSON.stringify({ tasks: [{ capability: 'a' }, { capability: 'b' }] }));
    const r = await swarm(['submit-batch', 'batch.json', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).tasks.map((t: TaskDto) => t.id)).toEqual(['b0', 'b1']);
    expect(seen[0]).toMatchObject({
      method: 'POST',
      path: '/api/v1/tasks/batch',
      body: { tasks: [{ capability: 'a' }, { capability: 'b' }] },
    });
    const s = await swarm(['submit-batch', '-'], { stdin: JSON.stringify([{ capability: 'c' }]) });
    expect(s.code).toBe(0);
    expect(s.stdout).toContain('submitted 1 task\n');
  });

  it('prints API errors with code and message and exits 1', async () => {
    handler = () => ({ status: 404, body: { code: 'TASK_NOT_FOUND', message: 'task t9 not found', details: { kind: 'task', id: 't9' } } });
    const r = await swarm(['get', 't9']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: TASK_NOT_FOUND: task t9 not found\n');
    const j = await swarm(['get', 't9', '--json']);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stderr)).toEqual({ code: 'TASK_NOT_FOUND', message: 'task t9 not found', details: { kind: 'task', id: 't9' } });
    expect(j.stdout).toBe('');

    handler = () => ({
      status: 400,
      body: {
        code: 'VALIDATION_FAILED',
        message: 'request body: 1 invalid field',
        details: { violations: [{ path: 'capability', message: 'bad' }] },
      },
    });
    const v = await swarm(['submit', 'BAD']);
    expect(v.code).toBe(1);
    expect(v.stderr).toContain('  - capability: bad');

    const down = await swarm(['queues'], { env: { SWARM_URL: 'http://127.0.0.1:1' } });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^error: CONNECTION_FAILED: cannot reach http:\/\/127\.0\.0\.1:1/);
  });

  it('takes the key from --api-key, then SWARM_API_KEY, then .data/admin-api-key', async () => {
    handler = () => ({ status: 200, body: { items: [] } });
    const dir = mkdtempSync(join(tmpdir(), 'swarm-cli-key-'));
    try {
      mkdirSync(join(dir, '.data'));
      writeFileSync(join(dir, '.data', 'admin-api-key'), 'file-key\n');
      await swarm(['queues', '--api-key', 'flag-key'], { cwd: dir });
      await swarm(['queues'], { cwd: dir });
      await swarm(['queues'], { cwd: dir, env: { SWARM_API_KEY: '' } });
      await swarm(['queues'], { env: { SWARM_API_KEY: '' } });
      expect(seen.map((s) => s.auth)).toEqual(['Bearer flag-key', 'Bearer test-key', 'Bearer file-key', undefined]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    handler = () => ({ status: 401, body: { code: 'UNAUTHENTICATED', message: 'a valid API key is required', details: {} } });
    const r = await swarm(['queues'], { env: { SWARM_API_KEY: '' } });
    expect(r.stderr).toContain('hint: set SWARM_API_KEY or pass --api-key');
  });

  it('uses --url over SWARM_URL', async () => {
    const r = await swarm(['get', 't1', '--url', url], { env: { SWARM_URL: 'http://127.0.0.1:1' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('capability  data.fetch');
  });

  it('lists tasks with filters, cancels and re-prioritises', async () => {
    handler = (req) => {
      if (req.path === '/api/v1/tasks') return { status: 200, body: { items: [task('t1', 'running')], nextCursor: 'n2' } };
      if (req.path.endsWith('/cancel')) return { status: 200, body: task('t1', 'cancelled') };
      return { status: 200, body: task('t1', 'queued', { priority: 'CRITICAL' }) };
    };
    const l = await swarm([
      'tasks',
      '--state',
      'running',
      '--capability',
      'data.fetch',
      '--limit',
      '10',
      '--priority',
      'high',
      '--agent',
      'a1',
    ]);
    expect(l.code).toBe(0);
    expect(seen[0]!.query).toEqual({ state: 'running', capability: 'data.fetch', limit: '10', priority: 'HIGH', agentId: 'a1' });
    expect(l.stdout).toMatch(/^ID\s+CAPABILITY\s+STATE/);
    expect(l.stdout).toContain('--cursor n2');
    const lj = await swarm(['tasks', '--json']);
    expect(JSON.parse(lj.stdout)).toEqual({ items: [task('t1', 'running')], nextCursor: 'n2' });

    const c = await swarm(['cancel', 't1', '--reason', 'no longer needed']);
    expect(c.stdout).toBe('task t1 is cancelled\n');
    expect(seen.at(-1)).toMatchObject({ method: 'POST', path: '/api/v1/tasks/t1/cancel', body: { reason: 'no longer needed' } });
    const p = await swarm(['priority', 't1', 'critical']);
    expect(p.code).toBe(0);
    expect(seen.at(-1)).toMatchObject({ path: '/api/v1/tasks/t1/priority', body: { priority: 'CRITICAL' } });
  });

  it('runs the agents, dead-letters, queues and health commands', async () => {
    const agent = {
      id: 'a1',
      tenantId: 'default',
      name: 'A',
      domain: 'data',
      tier: 'specialist',
      capabilities: ['data.fetch'],
      concurrency: 2,
      state: 'draining',
      instanceId: 'i',
      load: { running: 1, freeSlots: 1 },
      stats: { succeeded: 3, failed: 1, consecutiveFailures: 0 },
      breaker: { state: 'closed' },
      lastHeartbeatAt: null,
      registeredAt: '2025-01-01T00:00:00.000Z',
      metadata: {},
    };
    const dl = {
      id: 'd1',
      taskId: 't1',
      tenantId: 'default',
      capability: 'data.fetch',
      reason: 'attempts exhausted',
      errors: [{ message: 'boom', retryable: true, attempt: 1 }],
      createdAt: '2025-01-01T00:00:00.000Z',
    };
    handler = (req) => {
      if (req.path === '/api/v1/agents') return { status: 200, body: { items: [agent], nextCursor: null } };
      if (req.path.startsWith('/api/v1/agents/')) return { status: 200, body: agent };
      if (req.path === '/api/v1/dead-letters') return { status: 200, body: { items: [dl], nextCursor: null } };
      if (req.path.endsWith('/replay')) return { status: 200, body: task('t1') };
      if (req.path.startsWith('/api/v1/dead-letters/')) return { status: 200, body: dl };
      if (req.path === '/api/v1/queues') return { status: 200, body: { items: [] } };
      return {
        status: 503,
        body: {
          status: 'degraded',
          services: { gateway: { status: 'ok' }, coordinator: { status: 'down', error: 'no responders' } },
          nats: { status: 'ok' },
          postgres: { status: 'ok', latencyMs: 1 },
          checkedAt: '2025-01-01T00:00:00.000Z',
        },
      };
    };
    expect((await swarm(['agents'])).stdout).toContain('a1  draining');
    expect((await swarm(['agents', 'list', '--state', 'healthy', '--domain', 'data'])).code).toBe(0);
    expect(seen.at(-1)!.query).toEqual({ state: 'healthy', domain: 'data' });
    expect((await swarm(['agents', 'get', 'a1'])).stdout).toContain('capabilities  data.fetch');
    const d = await swarm(['agents', 'drain', 'a1']);
    expect(d.stdout).toBe('agent a1: drain requested (state draining)\n');
    await swarm(['agents', 'resume', 'a1']);
    await swarm(['agents', 'restart', 'a1', '--json']);
    expect(seen.slice(-3).map((s) => `${s.method} ${s.path}`)).toEqual([
      'POST /api/v1/agents/a1/drain',
      'POST /api/v1/agents/a1/resume',
      'POST /api/v1/agents/a1/restart',
    ]);
    expect((await swarm(['dead-letters', '--include-replayed'])).stdout).toContain('attempts exhausted');
    expect(seen.at(-1)!.query).toEqual({ includeReplayed: 'true' });
    expect((await swarm(['dead-letters', 'get', 'd1'])).stdout).toContain('errors:');
    expect((await swarm(['dead-letters', 'replay', 'd1'])).stdout).toBe('replayed: task t1 is queued\n');
    expect(seen.at(-1)).toMatchObject({ method: 'POST', path: '/api/v1/dead-letters/d1/replay' });
    expect(JSON.parse((await swarm(['queues', '--json'])).stdout)).toEqual({ items: [] });
    const h = await swarm(['health']);
    expect(h.code).toBe(1);
    expect(h.stdout).toContain('mesh: degraded');
    expect(h.stdout).toMatch(/coordinator\s+down/);
  });

  it('watch follows a task to success (exit 0), printing changes and attempts', async () => {
    const states: Array<Partial<TaskDto> & { state: TaskState }> = [
      { state: 'queued' },
      { state: 'running', attempt: 1, agentId: 'a1' },
      { state: 'retry_scheduled', attempt: 1, attempts: [attemptOf(1, 'failed', 'boom')] },
      {
        state: 'running',
        attempt: 2,
        agentId: 'a2',
        attempts: [attemptOf(1, 'failed', 'boom')],
        progress: { percent: 0.5, message: 'half', at: 'x' },
      },
      { state: 'succeeded', attempt: 2, attempts: [attemptOf(1, 'failed', 'boom'), attemptOf(2, 'succeeded')], result: { answer: 42 } },
    ];
    handler = (_req, n) => ({
      status: 200,
      body: task('w1', states[Math.min(n - 1, states.length - 1)]!.state, states[Math.min(n - 1, states.length - 1)]),
    });
    const r = await swarm(['watch', 'w1', '--poll', '10']);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n').map((l) => l.replace(/^\d\d:\d\d:\d\d /, ''));
    expect(lines).toEqual([
      'task w1 (data.fetch, MEDIUM) is queued',
      'queued → running (attempt 1/4 on a1)',
      'attempt 1 on a1 failed: boom',
      'running → retry_scheduled',
      'retry_scheduled → running (attempt 2/4 on a2)',
      'progress 50% half',
      'attempt 2 on a2 succeeded',
      'running → succeeded',
      expect.stringMatching(/^task w1 succeeded after 2 attempts \(watched .*\)$/),
      'result: {"answer":42}',
      '',
    ]);
  });

  it('watch exits 1 when the task does not succeed; --json prints one snapshot per line', async () => {
    const seq: TaskState[] = ['running', 'running', 'dead_lettered'];
    handler = (_req, n) => ({
      status: 200,
      body: task('w2', seq[Math.min(n - 1, 2)], {
        attempt: 1,
        ...(n >= 3 ? { error: { message: 'gave up', retryable: false } } : {}),
      }),
    });
    const r = await swarm(['watch', 'w2', '--poll', '10', '--json']);
    expect(r.code).toBe(1);
    const snapshots = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as TaskDto);
    expect(snapshots.map((s) => s.state)).toEqual(['running', 'dead_lettered']);

    seen = [];
    const human = await swarm(['watch', 'w2', '--poll', '10']);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain('error: gave up');
  });

  it('watch draws a progress bar on a terminal and gives up after --timeout', async () => {
    handler = () => ({ status: 200, body: task('w3', 'running', { attempt: 1, progress: { percent: 0.25, at: 'x' } }) });
    const r = await swarm(['watch', 'w3', '--poll', '10', '--timeout', '80'], { tty: true });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('[######..................]  25% running attempt 1/4');
    expect(r.stdout).toContain('\r\x1b[2K');
    expect(r.stderr).toContain('error: WAIT_TIMEOUT: task w3 is still running');
  });

  it('submit --wait prints the final task and exits by its outcome; --watch follows it', async () => {
    handler = (req, n) =>
      req.method === 'POST' ? { status: 201, body: task('s1') } : { status: 200, body: task('s1', n >= 3 ? 'failed' : 'running') };
    const w = await swarm(['submit', 'a', '--wait', '--poll', '10', '--json']);
    expect(w.code).toBe(1);
    expect(JSON.parse(w.stdout).state).toBe('failed');

    seen = [];
    handler = (req, n) =>
      req.method === 'POST' ? { status: 201, body: task('s2') } : { status: 200, body: task('s2', n >= 3 ? 'succeeded' : 'running') };
    const v = await swarm(['submit', 'a', '--watch', '--poll', '10']);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain('submitted s2\n');
    expect(v.stdout).toContain('running → succeeded');
  });
});

function attemptOf(n: number, outcome: 'failed' | 'succeeded', message?: string): TaskDto['attempts'][number] {
  return {
    attempt: n,
    epoch: n,
    agentId: `a${n}`,
    dispatchedAt: '2025-01-01T00:00:00.000Z',
    outcome,
    ...(message ? { error: { message, retryable: true } } : {}),
  };
}

describe('workflow commands (pure parts)', () => {
  it('parses --param values as JSON when they parse, else as strings', async () => {
    const { parseParams } = await import('../src/workflow-commands');
    expect(parseParams(['topic=ai chips', 'records=3', 'placeholder=true', 'tags=["a"]'], 'template run')).toEqual({
      topic: 'ai chips',
      records: 3,
      placeholder: true,
      tags: ['a'],
    });
    expect(() => parseParams(['novalue'], 'template run')).toThrow(UsageError);
  });

  it('describes node changes and names the approval command', async () => {
    const { describeWorkflowChange } = await import('../src/workflow-commands');
    const base = {
      id: 'w1',
      tenantId: 'default',
      name: 'report',
      state: 'running' as const,
      failurePolicy: 'fail_fast' as const,
      progress: { total: 1, succeeded: 0, failed: 0, cancelled: 0, active: 1, pending: 0, awaitingApproval: 0, needsReview: 0, percent: 0 },
      labels: {},
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    };
    const node = { key: 'review', taskId: 't1', capability: 'quality.review', dependsOn: [], attempt: 1 };
    const before = { ...base, nodes: [{ ...node, state: 'running' as const, taskState: 'running' as const }] };
    const after = { ...base, nodes: [{ ...node, state: 'awaiting_approval' as const, taskState: 'succeeded' as const }] };
    expect(describeWorkflowChange(before, after)).toEqual(['review: running → awaiting_approval — approve with: swarm approve t1']);
    expect(describeWorkflowChange(undefined, before)[0]).toMatch(/^workflow w1 \(report\) is running/);
    // an ended workflow's gate cannot be decided: no approve hint, in the change log or the node table
    const { nodesTable } = await import('../src/workflow-format');
    const cancelled = { ...after, state: 'cancelled' as const };
    expect(describeWorkflowChange(before, cancelled)).toEqual(['review: running → awaiting_approval', 'workflow running → cancelled']);
    const pending = { status: 'pending' as const, kind: 'approval' as const };
    expect(nodesTable({ ...after, nodes: [{ ...after.nodes[0]!, approval: pending }] } as never)).toContain('swarm approve t1');
    const table = nodesTable({ ...cancelled, nodes: [{ ...cancelled.nodes[0]!, approval: pending }] } as never);
    expect(table).not.toContain('swarm approve');
    expect(table).toContain('approval not decided (workflow cancelled)');
    // the coordinator withdraws such a gate: the node says so, with why
    const withdrawn = { status: 'withdrawn' as const, kind: 'approval' as const, comment: 'workflow cancelled: scrapped' };
    const wtable = nodesTable({ ...cancelled, nodes: [{ ...cancelled.nodes[0]!, state: 'cancelled', approval: withdrawn }] } as never);
    expect(wtable).toContain('approval withdrawn: workflow cancelled: scrapped');
    expect(wtable).not.toContain('swarm approve');
  });
});

describe('a closed output pipe (`swarm … | head`)', () => {
  const bin = join(__dirname, '..', 'bin', 'swarm.js');

  /** Runs the built CLI; `closeStdout` says when to close the reading end of its stdout. */
  function spawnCli(
    args: string[],
    opts: { closeStdout?: 'at-once' | 'after-first-chunk'; closeStderr?: boolean },
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
    // bin/swarm.js runs dist/: `npm test` builds first; alone, run `npx tsc -b cli`.
    expect(existsSync(join(__dirname, '..', 'dist', 'main.js'))).toBe(true);
    const child = spawn(process.execPath, [bin, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SWARM_URL: url, SWARM_API_KEY: 'test-key' },
    });
    let stdout = '';
    let stderr = '';
    if (opts.closeStdout === 'at-once') child.stdout.destroy();
    else
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString('utf8');
        if (opts.closeStdout === 'after-first-chunk') child.stdout.destroy();
      });
    if (opts.closeStderr) child.stderr.destroy();
    else child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  }

  it('exits 0 without a word when the reader of stdout is gone before the output', async () => {
    const r = await spawnCli(['--help'], { closeStdout: 'at-once' });
    expect(r).toEqual({ code: 0, signal: null, stdout: '', stderr: '' });
  });

  it('exits 0 without a word when the reader stops part way through a long --json answer', async () => {
    const items = Array.from({ length: 300 }, (_, i) => task(`t${i}`, 'queued', { input: { pad: 'x'.repeat(1000) } }));
    handler = () => ({ status: 200, body: { items, nextCursor: null } });
    const r = await spawnCli(['tasks', '--limit', '300', '--json'], { closeStdout: 'after-first-chunk' });
    expect({ code: r.code, signal: r.signal, stderr: r.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    expect(r.stdout.length).toBeGreaterThan(0);
    expect(r.stdout.length).toBeLessThan(JSON.stringify({ items, nextCursor: null }, null, 2).length);
    expect(seen).toHaveLength(1);
  });

  it('does not crash when stderr is closed either', async () => {
    const r = await spawnCli(['frobnicate'], { closeStderr: true });
    expect({ code: r.code, signal: r.signal, stdout: r.stdout }).toEqual({ code: 0, signal: null, stdout: '' });
  });

  it('exitOnBrokenPipe exits 0 on EPIPE and leaves other stream errors loud', () => {
    const stream = new EventEmitter();
    const exit = jest.fn();
    exitOnBrokenPipe(stream, exit);
    stream.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    expect(exit).toHaveBeenCalledWith(0);
    expect(() => stream.emit('error', Object.assign(new Error('write EIO'), { code: 'EIO' }))).toThrow('write EIO');
    expect(exit).toHaveBeenCalledTimes(1);
  });
});
