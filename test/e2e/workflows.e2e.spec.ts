/**
 * Workflows as a user sees them: the REST API (gateway + coordinator processes) and the `swarm`
 * CLI, with the demo swarm (a demo-swarm process) doing the work. The wire-report demo runs end to
 * end from the CLI, including a human approval given with `swarm approve`.
 * Build first: `npx tsc -b tsconfig.build.json`.
 */
import type {
  WorkflowCoverageDto,
  WorkflowDto,
  WorkflowPageDto,
  WorkflowPlanDto,
  WorkflowTemplateDto,
  WorkflowTemplatePageDto,
  WorkflowTreeDto,
} from '@swarm-mesh/contracts';
import { eventually } from '@swarm-mesh/testing';
import { CliRunner } from './support/cli';
import { ADMIN_KEY, type ApiErrorBody, type ApiResponse, E2eMesh } from './support/e2e-mesh';

jest.setTimeout(120_000);

let mesh: E2eMesh;
let cli: CliRunner;

beforeAll(async () => {
  mesh = await E2eMesh.start();
  // the demo swarm: one agent per demo capability (data.fetch, intel.analyze, content.generate, quality.review, content.publish…)
  await mesh.process('demo-swarm', {
    DEMO_AGENTS_PER_CAPABILITY: '1',
    DEMO_CONCURRENCY: '4',
    DEMO_LATENCY_MS: '20',
    DEMO_LATENCY_JITTER_MS: '0',
    SHUTDOWN_GRACE_MS: '1000',
    LOG_LEVEL: 'warn',
  });
  cli = new CliRunner({ url: mesh.url, key: ADMIN_KEY, timeoutMs: 60_000 });
  // the capabilities are known once the demo agents registered
  await eventually(async () => (await mesh.api<{ items: unknown[] }>('GET', '/agents')).body.items.length >= 6, {
    description: 'the demo agents registered',
  });
});

afterAll(async () => {
  cli?.close();
  await mesh?.stop();
});

function expectError(res: ApiResponse, status: number, code: string): ApiErrorBody {
  const body = res.body as ApiErrorBody;
  if (res.status !== status || body?.code !== code)
    throw new Error(`expected ${status} ${code}, got ${res.status} ${JSON.stringify(body)}`);
  expect(Object.keys(body).sort()).toEqual(['code', 'details', 'message']);
  return body;
}

async function workflow(id: string): Promise<WorkflowDto> {
  const r = await mesh.api<WorkflowDto>('GET', `/workflows/${id}`);
  if (r.status !== 200) throw new Error(`GET /workflows/${id}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

async function workflowRows(): Promise<number> {
  const r = await mesh.pg.query<{ n: string }>('SELECT count(*) AS n FROM coordinator.workflows');
  return Number(r.rows[0]!.n);
}

describe('the wire-report demo from the CLI', () => {
  it('fetch → analyse → write (placeholder caught and fixed) → review → approval with `swarm approve` → publish', async () => {
    const run = cli.start(['demo', 'wire-report', '--topic', 'ai chips', '--placeholder', '--poll', '100', '--timeout', '60000']);
    const id = await eventually(
      () => {
        const m = /started workflow (\S+)/.exec(run.stdout());
        return m ? m[1] : undefined;
      },
      { timeoutMs: 20_000, description: `the demo to start a workflow (stdout: ${run.stdout()} stderr: ${run.stderr()})` },
    );
    // the review waits for a human
    const waiting = await eventually(
      async () => {
        const w = await workflow(id);
        return w.nodes.find((n) => n.key === 'review')?.state === 'awaiting_approval' ? w : undefined;
      },
      { timeoutMs: 30_000, description: 'the review node awaiting approval' },
    );
    expect(waiting.nodes.find((n) => n.key === 'publish')!.state).toBe('pending');
    const review = waiting.nodes.find((n) => n.key === 'review')!;
    await eventually(() => run.stdout().includes(`swarm approve ${review.taskId}`), { description: 'the CLI naming the approval command' });

    // the writer's first result was placeholder text: caught, retried with the failure as feedback
    const write = await mesh.task(waiting.nodes.find((n) => n.key === 'write')!.taskId);
    expect(write.attempts.map((a) => a.outcome)).toEqual(['failed', 'succeeded']);
    expect(write.attempts[0]!.error).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(write.attempts[0]!.error!.message).toMatch(/placeholder/);
    expect(String(write.result?.body)).not.toMatch(/TODO|lorem ipsum/i);

    const approved = await cli.run(['approve', review.taskId, '--comment', 'ready for the wire']);
    expect(approved.stderr).toBe('');
    expect(approved.code).toBe(0);
    expect(approved.stdout).toMatch(/approved by/);

    const done = await run.done;
    expect(done.stderr).toBe('');
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(new RegExp(`workflow ${id} succeeded`));
    expect(done.stdout).toMatch(/review: awaiting_approval → succeeded/);
    expect(done.stdout).toMatch(/requirements 5\/5 covered \(gate passed\)/);

    const w = await workflow(id);
    expect(w.state).toBe('succeeded');
    expect(w.template).toBe('wire-report');
    expect(w.params).toMatchObject({ topic: 'ai chips', placeholder: true });
    expect(w.nodes.map((n) => [n.key, n.state])).toEqual([
      ['fetch', 'succeeded'],
      ['analyse', 'succeeded'],
      ['write', 'succeeded'],
      ['review', 'succeeded'],
      ['publish', 'succeeded'],
    ]);
    expect(w.requirements).toMatchObject({ total: 5, covered: 5, coverage: 1, gate: 'passed' });
    const reviewed = await mesh.task(review.taskId);
    expect(reviewed.approval).toMatchObject({
      kind: 'approval',
      status: 'approved',
      decidedBy: 'api-key:bootstrap',
      comment: 'ready for the wire',
    });
    // the article went through the pipeline: the publisher received the writer's title and body
    const publish = await mesh.task(w.nodes.find((n) => n.key === 'publish')!.taskId);
    expect(publish.input).toMatchObject({ title: write.result!.title, body: write.result!.body, channel: 'wire' });
    expect(String(publish.result?.url)).toMatch(/^https:\/\/wire\.example\.com\//);

    // the same workflow through the other CLI views
    const req = await cli.json<WorkflowCoverageDto>(['workflow', 'requirements', id]);
    expect(req.covered).toBe(5);
    const plan = await cli.json<WorkflowPlanDto>(['workflow', 'plan', id]);
    expect(plan.criticalPath).toEqual(['fetch', 'analyse', 'write', 'review', 'publish']);
    const human = await cli.run(['workflow', 'get', id]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^state\s+succeeded$/m);
  });
});

describe('workflows over REST', () => {
  it('rejects a cycle with 422 WORKFLOW_CYCLE naming it, and an unknown reference with its path; nothing is written', async () => {
    const before = { workflows: await workflowRows(), tasks: await mesh.taskRows() };
    const cyc = expectError(
      await mesh.api('POST', '/workflows', {
        name: 'loop',
        nodes: [
          { key: 'a', capability: 'data.fetch', dependsOn: ['b'] },
          { key: 'b', capability: 'intel.analyze', dependsOn: ['a'] },
        ],
      }),
      422,
      'WORKFLOW_CYCLE',
    );
    expect(cyc.details.cycle).toEqual(expect.arrayContaining(['a', 'b']));
    expect((cyc.details.cycle as string[])[0]).toBe((cyc.details.cycle as string[]).at(-1));
    const unknown = expectError(
      await mesh.api('POST', '/workflows', {
        name: 'typo',
        nodes: [
          { key: 'a', capability: 'data.fetch' },
          { key: 'b', capability: 'intel.analyze', dependsOn: ['a'], inputs: { x: '${aa.result.records}' } },
        ],
      }),
      422,
      'UNKNOWN_DEPENDENCY',
    );
    expect(unknown.details.path).toBe('nodes.1.inputs.x');
    expectError(
      await mesh.api('POST', '/workflows', { name: 'bad', nodes: [{ key: '1', capability: 'data.fetch' }] }),
      400,
      'VALIDATION_FAILED',
    );
    // a workflow larger than one mesh message (1 MiB) can never be carried: 413, not a retryable 503
    const big = Array.from({ length: 100 }, (_, i) => ({ key: `n${i}`, capability: 'data.fetch', input: { pad: 'x'.repeat(11_000) } }));
    const tooBig = expectError(await mesh.api('POST', '/workflows', { name: 'huge', nodes: big }), 413, 'PAYLOAD_TOO_LARGE');
    expect(tooBig.details.path).toBe('nodes');
    expectError(
      await mesh.api('POST', '/workflow-templates', { name: 'huge-template', workflow: { name: 'huge', nodes: big } }),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    expect({ workflows: await workflowRows(), tasks: await mesh.taskRows() }).toEqual(before);
  });

  it('submits, lists, plans, shows the tree and coverage; another tenant gets 404', async () => {
    const created = await mesh.api<WorkflowDto>('POST', '/workflows', {
      name: 'fan-out',
      nodes: [
        { key: 'fetch', capability: 'data.fetch', input: { limit: 2, query: 'rates' } },
        { key: 'left', capability: 'intel.analyze', dependsOn: ['fetch'], inputs: { subject: '${fetch.result.query}' } },
        { key: 'right', capability: 'intel.analyze', dependsOn: ['fetch'], inputs: { subject: 'right ${fetch.result.query}' } },
        { key: 'join', capability: 'content.generate', dependsOn: ['left', 'right'], inputs: { topic: '${left.result.subject}' } },
      ],
      requirements: [{ id: 'R1', description: 'an article', satisfiedBy: [{ node: 'join', field: 'body' }] }],
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    const done = await eventually(
      async () => {
        const w = await workflow(id);
        return w.state !== 'running' ? w : undefined;
      },
      { timeoutMs: 30_000, description: 'the workflow to end' },
    );
    expect(done.state).toBe('succeeded');
    const right = await mesh.task(done.nodes.find((n) => n.key === 'right')!.taskId);
    expect(right.input).toMatchObject({ subject: 'right rates' });
    const list = await mesh.api<WorkflowPageDto>('GET', '/workflows?limit=50');
    expect(list.status).toBe(200);
    expect(list.body.items.find((w) => w.id === id)).toMatchObject({
      state: 'succeeded',
      progress: { total: 4, succeeded: 4 },
      coverage: 1,
    });
    const plan = await mesh.api<WorkflowPlanDto>('GET', `/workflows/${id}/plan`);
    expect(plan.body.levels).toEqual([['fetch'], ['left', 'right'], ['join']]);
    const tree = await mesh.api<WorkflowTreeDto>('GET', `/workflows/${id}/tree`);
    expect(tree.body.nodes.map((n) => [n.nodeKey, n.tier, n.state])).toEqual([
      ['fetch', 'orchestrator', 'succeeded'],
      ['left', 'orchestrator', 'succeeded'],
      ['right', 'orchestrator', 'succeeded'],
      ['join', 'orchestrator', 'succeeded'],
    ]);
    const cov = await mesh.api<WorkflowCoverageDto>('GET', `/workflows/${id}/requirements`);
    expect(cov.body).toMatchObject({ total: 1, covered: 1, gate: 'passed' });
    const taskTree = await mesh.api('GET', `/tasks/${right.id}/tree`);
    expect(taskTree.status).toBe(200);

    const otherKey = await mesh.createApiKey('other-tenant');
    expectError(await mesh.api('GET', `/workflows/${id}`, undefined, { key: otherKey }), 404, 'WORKFLOW_NOT_FOUND');
    expectError(await mesh.api('POST', `/workflows/${id}/cancel`, {}, { key: otherKey }), 404, 'WORKFLOW_NOT_FOUND');
    expectError(await mesh.api('POST', `/tasks/${right.id}/approve`, {}, { key: otherKey }), 404, 'TASK_NOT_FOUND');
    expectError(await mesh.api('POST', `/tasks/${right.id}/approve`, {}), 409, 'INVALID_STATE_TRANSITION');
  });

  it('registers a template with parameters and instantiates it by name; bad params are 422, unknown names 404', async () => {
    const reg = await mesh.api<WorkflowTemplateDto>('POST', '/workflow-templates', {
      name: 'fetch-and-analyse',
      params: [
        { name: 'query', type: 'string', required: true },
        { name: 'limit', type: 'number' },
      ],
      defaults: { limit: 2 },
      workflow: {
        name: 'analyse ${params.query}',
        nodes: [
          { key: 'fetch', capability: 'data.fetch', input: { query: '${params.query}', limit: '${params.limit}' } },
          { key: 'analyse', capability: 'intel.analyze', dependsOn: ['fetch'], inputs: { subject: '${fetch.result.query}' } },
        ],
      },
    });
    expect(reg.status).toBe(201);
    expect(reg.body).toMatchObject({ name: 'fetch-and-analyse', version: 1, builtin: false });
    const list = await mesh.api<WorkflowTemplatePageDto>('GET', '/workflow-templates');
    expect(list.body.items.map((t) => t.name)).toEqual(expect.arrayContaining(['fetch-and-analyse', 'wire-report']));
    // pages by cursor; a cursor that no page handed out is refused, not an empty page
    const first = await mesh.api<WorkflowTemplatePageDto>('GET', '/workflow-templates?limit=1');
    expect(first.body.items).toHaveLength(1);
    const second = await mesh.api<WorkflowTemplatePageDto>('GET', `/workflow-templates?limit=1&cursor=${first.body.nextCursor!}`);
    expect(second.body.items[0]!.name > first.body.items[0]!.name).toBe(true);
    expectError(await mesh.api('GET', '/workflow-templates?cursor=zzz'), 400, 'INVALID_CURSOR');
    const run = await mesh.api<WorkflowDto>('POST', '/workflow-templates/fetch-and-analyse/instantiate', { params: { query: 'gold' } });
    expect(run.status).toBe(201);
    expect(run.body.name).toBe('analyse gold');
    const fetchTask = await mesh.task(run.body.nodes[0]!.taskId);
    expect(fetchTask.input).toEqual({ query: 'gold', limit: 2 });
    const bad = expectError(
      await mesh.api('POST', '/workflow-templates/fetch-and-analyse/instantiate', { params: { limit: 'x' } }),
      422,
      'INVALID_TEMPLATE_PARAMS',
    );
    expect(bad.details.problems).toEqual(expect.arrayContaining([{ param: 'query', problem: 'required' }]));
    expectError(await mesh.api('POST', '/workflow-templates/nope/instantiate', {}), 404, 'TEMPLATE_NOT_FOUND');
    // the CLI runs a template too
    const cliRun = await cli.json<WorkflowDto>(['template', 'run', 'fetch-and-analyse', '--param', 'query=silver', '--param', 'limit=1']);
    expect(cliRun.name).toBe('analyse silver');
  });

  it('the OpenAPI document describes the workflow routes', async () => {
    const doc = await mesh.api<{ paths: Record<string, unknown> }>('GET', '/api/docs-json', undefined, { key: null });
    for (const p of [
      '/api/v1/workflows',
      '/api/v1/workflows/{id}',
      '/api/v1/workflows/{id}/plan',
      '/api/v1/workflows/{id}/requirements',
      '/api/v1/workflows/{id}/cancel',
      '/api/v1/workflows/{id}/tree',
      '/api/v1/workflow-templates',
      '/api/v1/workflow-templates/{name}/instantiate',
      '/api/v1/tasks/{id}/approve',
      '/api/v1/tasks/{id}/reject',
      '/api/v1/tasks/{id}/tree',
    ])
      expect(Object.keys(doc.body.paths)).toContain(p);
  });
});
