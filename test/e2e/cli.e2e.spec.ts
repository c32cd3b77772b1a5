/**
 * The `swarm` CLI end to end: `node cli/bin/swarm.js` spawned with SWARM_URL and SWARM_API_KEY
 * against all five services, with SDK agents in this process. Human output, `--json` output
 * (compared with the REST API) and exit codes (0 ok, 1 API error or unsuccessful task, 2 usage).
 * Build first: `npx tsc -b tsconfig.build.json`.
 */
import { TaskError } from '@swarm-mesh/agent-sdk';
import type { AgentDto, AgentPageDto, DeadLetterPageDto, QueueDepthsDto, TaskDto, TaskPageDto } from '@swarm-mesh/contracts';
import { eventually } from '@swarm-mesh/testing';
import { CliRunner } from './support/cli';
import { aborted, ADMIN_KEY, E2eMesh, type Gate, gate } from './support/e2e-mesh';

jest.setTimeout(120_000);

let mesh: E2eMesh;
let cli: CliRunner;
let hold: Gate = gate();
let broken = true;

beforeAll(async () => {
  mesh = await E2eMesh.start({ allServices: true });
  cli = new CliRunner({ url: mesh.url, key: ADMIN_KEY });
  await mesh.agent(
    { id: 'cli-agent', domain: 'content', concurrency: 1 },
    {
      'e2e.cli': (ctx) => ({ upper: typeof ctx.input.word === 'string' ? ctx.input.word.toUpperCase() : '' }),
      // waits until the test opens `hold` (or the attempt is aborted)
      'e2e.cli.hold': async (ctx) => {
        await Promise.race([hold.promise, aborted(ctx.signal)]);
        if (ctx.signal.aborted) throw ctx.signal.reason;
        return { held: true };
      },
      'e2e.cli.fail': (ctx) => {
        if (broken) throw new TaskError(`still broken at attempt ${ctx.attempt}`, { code: 'CLI_BROKEN' });
        return { fixed: true };
      },
    },
  );
});

afterAll(async () => {
  hold.open();
  cli?.close();
  await mesh?.stop();
});

function idOf(stdout: string): string {
  const m = /^id\s+(\S+)$/m.exec(stdout);
  if (!m) throw new Error(`no id line in:\n${stdout}`);
  return m[1]!;
}

describe('tasks', () => {
  it('submit --wait exits 0 and prints the finished task; --json output parses and matches the API', async () => {
    const waited = await cli.run(['submit', 'e2e.cli', '--input', '{"word": "hello"}', '--wait', '--poll', '50']);
    expect(waited.stderr).toBe('');
    expect(waited.code).toBe(0);
    expect(waited.stdout).toMatch(/^state\s+succeeded$/m);
    expect(waited.stdout).toMatch(/^result\s+\{"upper":"HELLO"\}$/m);
    expect(waited.stdout).toMatch(/^\s+1\s+cli-agent\s+\S+\s+\S+\s+succeeded\s+-$/m);
    const id = idOf(waited.stdout);
    expect((await mesh.task(id)).result).toEqual({ upper: 'HELLO' });

    const created = await cli.json<TaskDto>([
      'submit',
      'e2e.cli',
      '--input',
      '{"word": "json"}',
      '--priority',
      'high',
      '--label',
      'via=cli',
    ]);
    expect(created).toMatchObject({ capability: 'e2e.cli', priority: 'HIGH', labels: { via: 'cli' }, input: { word: 'json' } });
    const fromApi = await mesh.waitState(created.id, 'succeeded');
    expect(fromApi).toMatchObject({ id: created.id, createdAt: created.createdAt, traceId: created.traceId });

    // get: human and JSON
    expect(await cli.json<TaskDto>(['get', created.id])).toEqual(await mesh.task(created.id));
    const human = await cli.run(['get', created.id]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^id\\s+${created.id}$`, 'm'));
    expect(human.stdout).toMatch(/^labels\s+via=cli$/m);

    // submit --wait --json prints the final task as the API has it
    const final = await cli.json<TaskDto>(['submit', 'e2e.cli', '--input', '{"word": "x"}', '--wait', '--poll', '50']);
    expect(final.state).toBe('succeeded');
    expect(final).toEqual(await mesh.task(final.id));
  });

  it('a duplicate idempotency key: exit 1 naming the existing task', async () => {
    const first = await cli.json<TaskDto>(['submit', 'e2e.cli', '--idempotency-key', 'cli-key-1']);
    const second = await cli.run(['submit', 'e2e.cli', '--idempotency-key', 'cli-key-1']);
    expect(second.code).toBe(1);
    expect(second.stdout).toBe('');
    expect(second.stderr).toContain('DUPLICATE_IDEMPOTENCY_KEY');
    expect(second.stderr).toContain(`existing task: ${first.id}`);
    const asJson = await cli.run(['submit', 'e2e.cli', '--idempotency-key', 'cli-key-1', '--json']);
    expect(asJson.code).toBe(1);
    expect(JSON.parse(asJson.stderr)).toMatchObject({ code: 'DUPLICATE_IDEMPOTENCY_KEY', details: { existingTaskId: first.id } });
  });

  it('tasks lists with filters and pages; --json equals the API page', async () => {
    const page = await cli.json<TaskPageDto>(['tasks', '--capability', 'e2e.cli']);
    const api = await mesh.api<TaskPageDto>('GET', '/tasks?capability=e2e.cli');
    expect(page).toEqual(api.body);
    expect(page.items.length).toBeGreaterThanOrEqual(4);

    const succeeded = (await mesh.api<TaskPageDto>('GET', '/tasks?capability=e2e.cli&state=succeeded')).body.items;
    const one = await cli.run(['tasks', '--capability', 'e2e.cli', '--state', 'succeeded', '--limit', '1']);
    expect(one.code).toBe(0);
    const lines = one.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+CAPABILITY\s+STATE/);
    expect(lines[1]).toMatch(new RegExp(`^${succeeded[0]!.id}\\s+e2e\\.cli\\s+succeeded\\s+\\S+\\s+1/4\\s+cli-agent\\s`));
    expect(lines[2]).toMatch(/^\(more: add --cursor \S+\)$/);
    const cursor = /--cursor (\S+)\)/.exec(lines[2]!)![1]!;
    const next = await cli.json<TaskPageDto>([
      'tasks',
      '--capability',
      'e2e.cli',
      '--state',
      'succeeded',
      '--limit',
      '1',
      '--cursor',
      cursor,
    ]);
    expect(next.items.map((t) => t.id)).toEqual([succeeded[1]!.id]);
    expect((await cli.run(['tasks', '--capability', 'nothing.here'])).stdout).toBe('no tasks\n');
  });

  it('watch exits 0 once a running task succeeds, and 1 for a dead-lettered task', async () => {
    hold = gate();
    const task = (await mesh.api<TaskDto>('POST', '/tasks', { capability: 'e2e.cli.hold' })).body;
    await mesh.waitState(task.id, 'running');
    const watch = cli.start(['watch', task.id, '--poll', '50']);
    await eventually(() => watch.stdout().includes(`task ${task.id} (e2e.cli.hold, MEDIUM) is running`), {
      description: `watch printed the running task (stdout: ${watch.stdout()})`,
    });
    hold.open();
    const ok = await watch.done;
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/running → succeeded/);
    expect(ok.stdout).toMatch(new RegExp(`task ${task.id} succeeded after 1 attempt`));
    expect(ok.stdout).toContain('result: {"held":true}');

    broken = true;
    const failing = (await mesh.api<TaskDto>('POST', '/tasks', { capability: 'e2e.cli.fail', retry: { maxAttempts: 2, backoffMs: [50] } }))
      .body;
    const bad = await cli.run(['watch', failing.id, '--poll', '50']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(new RegExp(`task ${failing.id} dead_lettered after 2 attempts`));
    expect(bad.stdout).toContain('error: CLI_BROKEN: still broken at attempt 2');

    // --json: one snapshot per line, the last one terminal
    const json = await cli.run(['watch', failing.id, '--json']);
    expect(json.code).toBe(1);
    const snapshots = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as TaskDto);
    expect(snapshots[snapshots.length - 1]).toEqual(await mesh.task(failing.id));
  });

  it('cancel: exit 0 and the task is cancelled; cancelling again is exit 1', async () => {
    hold = gate();
    const task = (await mesh.api<TaskDto>('POST', '/tasks', { capability: 'e2e.cli.hold' })).body;
    await mesh.waitState(task.id, 'running');
    const r = await cli.run(['cancel', task.id, '--reason', 'cli says stop']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`task ${task.id} is cancelled\n`);
    expect(await mesh.task(task.id)).toMatchObject({ state: 'cancelled', error: { message: 'cli says stop' } });
    const again = await cli.run(['cancel', task.id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('INVALID_STATE_TRANSITION');
    hold.open();
  });
});

describe('agents, dead letters, queues, health', () => {
  it('agents lists and shows agents; agents drain / resume act on them', async () => {
    const list = await cli.run(['agents']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^ID\s+STATE\s+DOMAIN/m);
    expect(list.stdout).toMatch(/^cli-agent\s+healthy\s+content\s+specialist\s+e2e\.cli,e2e\.cli\.hold,e2e\.cli\.fail\s/m);
    const page = await cli.json<AgentPageDto>(['agents']);
    const api = (await mesh.api<AgentPageDto>('GET', '/agents')).body;
    expect(page.items.map((a) => [a.id, a.state, a.instanceId])).toEqual(api.items.map((a) => [a.id, a.state, a.instanceId]));

    const one = await cli.json<AgentDto>(['agents', 'get', 'cli-agent']);
    expect(one).toMatchObject({ id: 'cli-agent', domain: 'content', concurrency: 1, instanceId: mesh.agents[0]!.instanceId });
    const health = await cli.run(['agents', 'health', 'cli-agent']);
    expect(health.code).toBe(0);
    expect(health.stdout).toMatch(/^state\s+healthy$/m);
    expect(health.stdout).toMatch(/^breaker\s+closed$/m);

    const drain = await cli.run(['agents', 'drain', 'cli-agent']);
    expect(drain.code).toBe(0);
    expect(drain.stdout).toMatch(/^agent cli-agent: drain requested/);
    await eventually(async () => (await mesh.api<AgentDto>('GET', '/agents/cli-agent')).body.state === 'draining');
    expect((await cli.run(['agents', 'resume', 'cli-agent'])).code).toBe(0);
    await eventually(async () => (await mesh.api<AgentDto>('GET', '/agents/cli-agent')).body.state === 'healthy');
    const missing = await cli.run(['agents', 'get', 'nobody']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('AGENT_NOT_FOUND');
  });

  it('dead-letters lists the dead letter; dead-letters replay puts it back (exit 0), a second replay is exit 1', async () => {
    const page = await cli.json<DeadLetterPageDto>(['dead-letters']);
    expect(page).toEqual((await mesh.api<DeadLetterPageDto>('GET', '/dead-letters')).body);
    expect(page.items).toHaveLength(1);
    const dl = page.items[0]!;
    const human = await cli.run(['dead-letters']);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(dl.id);
    expect(human.stdout).toContain(dl.taskId);
    const details = await cli.run(['dead-letters', 'get', dl.id]);
    expect(details.stdout).toMatch(/still broken at attempt 1/);
    expect(details.stdout).toMatch(/still broken at attempt 2/);

    broken = false;
    const replay = await cli.run(['dead-letters', 'replay', dl.id]);
    expect(replay.code).toBe(0);
    expect(replay.stdout).toMatch(new RegExp(`^replayed: task ${dl.taskId} is (queued|dispatched|running|succeeded)\\n$`));
    expect((await mesh.waitState(dl.taskId, 'succeeded')).result).toEqual({ fixed: true });
    const again = await cli.run(['dead-letters', 'replay', dl.id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('INVALID_STATE_TRANSITION');
    expect((await cli.run(['dead-letters'])).stdout).toBe('no dead letters\n');
  });

  it('queues shows the depth by priority while the agent is busy', async () => {
    hold = gate();
    const busy = (await mesh.api<TaskDto>('POST', '/tasks', { capability: 'e2e.cli.hold' })).body;
    await mesh.waitState(busy.id, 'running');
    const waiting = (
      await mesh.api<{ tasks: TaskDto[] }>('POST', '/tasks/batch', {
        tasks: [
          { capability: 'e2e.cli', priority: 'LOW' },
          { capability: 'e2e.cli', priority: 'CRITICAL' },
        ],
      })
    ).body.tasks;
    const depths = await cli.json<QueueDepthsDto>(['queues']);
    expect(depths.items.find((q) => q.capability === 'e2e.cli')).toMatchObject({
      queued: { LOW: 1, MEDIUM: 0, HIGH: 0, CRITICAL: 1 },
      totalQueued: 2,
      freeSlots: 0,
    });
    expect(depths.items.find((q) => q.capability === 'e2e.cli.hold')).toMatchObject({ running: 1, totalQueued: 0 });
    const human = await cli.run(['queues']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^CAPABILITY\s+CRITICAL\s+HIGH\s+MEDIUM\s+LOW\s+QUEUED/);
    expect(human.stdout).toMatch(/^e2e\.cli\s+1\s+0\s+0\s+1\s+2\s/m);
    hold.open();
    await Promise.all(waiting.map((t) => mesh.waitState(t.id, 'succeeded')));
  });

  it('health exits 0 with every component ok; --json is the API report', async () => {
    const human = await cli.run(['health']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^mesh: ok$/m);
    for (const c of ['gateway', 'coordinator', 'resource-allocator', 'conflict-resolver', 'performance-optimizer', 'nats', 'postgres']) {
      expect(human.stdout).toMatch(new RegExp(`^${c}\\s+ok`, 'm'));
    }
    const report = await cli.json<{ status: string; services: Record<string, { status: string }> }>(['health']);
    expect(report.status).toBe('ok');
    const api = (await mesh.api<typeof report>('GET', '/health')).body;
    expect(Object.keys(report.services).sort()).toEqual(Object.keys(api.services).sort());
  });
});

describe('exit codes', () => {
  it('usage errors exit 2 with a hint; API errors exit 1', async () => {
    const usage: string[][] = [
      [],
      ['bogus-command'],
      ['submit'],
      ['submit', 'e2e.cli', '--input', '{not json'],
      ['submit', 'e2e.cli', '--priority', 'urgent'],
      ['tasks', '--limit', 'many'],
      ['get', 'a', 'b'],
      ['get', '--no-such-option'],
    ];
    const results = await Promise.all(usage.map((args) => cli.run(args)));
    results.forEach((r, i) => {
      expect({ args: usage[i], code: r.code, stdout: r.stdout }).toEqual({ args: usage[i], code: 2, stdout: '' });
      expect(r.stderr.length).toBeGreaterThan(0);
    });
    expect(results[2]!.stderr).toMatch(/Run 'swarm submit --help' for usage/);

    const help = await cli.run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: swarm <command>/m);

    const badId = await cli.run(['get', 'not-a-uuid']);
    expect(badId.code).toBe(1);
    expect(badId.stderr).toMatch(/^error: VALIDATION_FAILED: /);
    const unknownCap = await cli.run(['submit', 'no.such.cap', '--json']);
    expect(unknownCap.code).toBe(1);
    expect(JSON.parse(unknownCap.stderr)).toMatchObject({ code: 'UNKNOWN_CAPABILITY', details: { capabilities: ['no.such.cap'] } });
    const noKey = await cli.run(['tasks'], { key: null });
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toContain('UNAUTHENTICATED');
    expect(noKey.stderr).toContain('hint: set SWARM_API_KEY');
    const unreachable = await cli.run(['tasks'], { url: 'http://127.0.0.1:9' });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain('CONNECTION_FAILED');
  });
});
