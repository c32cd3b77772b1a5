import type { TaskContext } from '@swarm-mesh/agent-sdk';
import {
  DeadLetterCommands,
  type MeshEventDto,
  SwarmError,
  type SubmitWorkflowDto,
  TaskCommands,
  TaskReviewCommands,
  WorkflowCommands,
  type WorkflowDto,
} from '@swarm-mesh/contracts';
import { eventually } from '@swarm-mesh/testing';
import { Client } from 'pg';
import { TaskMesh } from './support/task-mesh';

/**
 * Workflows on a real coordinator process, NATS and Postgres: DAG execution with input mapping,
 * cycle rejection, validation checkpoints with feedback and requirement coverage, approvals,
 * failure policies, cancellation, subtasks, and a coordinator killed mid-workflow.
 */
let mesh: TaskMesh;
let pg: Client;

beforeAll(async () => {
  mesh = await TaskMesh.start({ coordinatorEnv: { SUBTASK_MAX_DEPTH: '2', SUBTASK_MAX_CHILDREN: '4', LAZY_WRITE_MS: '20' } });
  pg = new Client({ connectionString: mesh.databaseUrl });
  await pg.connect();
});

afterAll(async () => {
  await pg?.end().catch(() => {});
  await mesh?.stop();
});

afterEach(async () => {
  await Promise.all(mesh.agents.splice(0).map((a) => a.stop()));
});

function submit(workflow: SubmitWorkflowDto): Promise<WorkflowDto> {
  return mesh.bus.request(WorkflowCommands.submit, { tenantId: 'default', workflow }, { timeoutMs: 30_000 });
}

function get(id: string): Promise<WorkflowDto> {
  return mesh.bus.request(WorkflowCommands.get, { tenantId: 'default', workflowId: id });
}

async function waitWorkflow(id: string, pred: (w: WorkflowDto) => boolean, what: string, timeoutMs = 60_000): Promise<WorkflowDto> {
  let last: WorkflowDto | undefined;
  return eventually(
    async () => {
      last = await get(id);
      return pred(last) ? last : undefined;
    },
    { timeoutMs, intervalMs: 50, description: `workflow ${id}: ${what} (last: ${last?.state} ${JSON.stringify(last?.progress)})` },
  );
}

const ended = (w: WorkflowDto): boolean => w.state !== 'running';

async function rows(): Promise<{ tasks: number; workflows: number }> {
  const t = await pg.query<{ n: string }>('SELECT count(*) AS n FROM coordinator.tasks');
  const w = await pg.query<{ n: string }>('SELECT count(*) AS n FROM coordinator.workflows');
  return { tasks: Number(t.rows[0]!.n), workflows: Number(w.rows[0]!.n) };
}

async function rejection(p: Promise<unknown>): Promise<SwarmError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SwarmError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

/** A layered DAG: a root, 8 layers of 6 nodes each depending on 2–3 nodes of the layer above (diamonds), and a sink joining the last layer (fan-in). */
function layeredDag(capability: string): { workflow: SubmitWorkflowDto; deps: Map<string, string[]> } {
  const deps = new Map<string, string[]>([['n0', []]]);
  let above = ['n0'];
  let n = 1;
  for (let layer = 1; layer <= 8; layer++) {
    const here: string[] = [];
    for (let i = 0; i < 6; i++) {
      const key = `n${n++}`;
      const d = layer === 1 ? ['n0'] : [...new Set([above[i]!, above[(i + 1) % 6]!, ...(i % 2 === 0 ? [above[(i + 3) % 6]!] : [])])];
      deps.set(key, d);
      here.push(key);
    }
    above = here;
  }
  deps.set('sink', [...above]);
  const workflow: SubmitWorkflowDto = {
    name: '50-node DAG',
    nodes: [...deps.entries()].map(([key, d], i) => ({
      key,
      capability,
      input: { key, base: i },
      ...(d.length > 0 ? { dependsOn: d, inputs: Object.fromEntries(d.map((p) => [`parents.${p}`, `\${${p}.result.value}`])) } : {}),
    })),
  };
  return { workflow, deps };
}

/** The value each node of `layeredDag` must compute: its base plus its parents' values. */
function expectedValues(workflow: SubmitWorkflowDto, deps: Map<string, string[]>): Map<string, number> {
  const out = new Map<string, number>();
  for (const node of workflow.nodes) {
    const base = (node.input as { base: number }).base;
    out.set(node.key, base + (deps.get(node.key) ?? []).reduce((s, p) => s + out.get(p)!, 0));
  }
  return out;
}

interface DagRecord {
  runs: Map<string, number>;
  start: Map<string, number>;
  end: Map<string, number>;
  inputs: Map<string, unknown>;
  /** One clock for every agent of the test: handler starts and ends in the order they happened. */
  seq: { n: number };
}

function dagRecord(): DagRecord {
  return { runs: new Map(), start: new Map(), end: new Map(), inputs: new Map(), seq: { n: 0 } };
}

function dagHandler(record: DagRecord) {
  return async (ctx: TaskContext) => {
    const key = String(ctx.input.key);
    record.start.set(key, ++record.seq.n);
    record.runs.set(key, (record.runs.get(key) ?? 0) + 1);
    record.inputs.set(key, ctx.input.parents ?? {});
    await new Promise((r) => setTimeout(r, 2));
    const parents = (ctx.input.parents ?? {}) as Record<string, number>;
    const value = Number(ctx.input.base) + Object.values(parents).reduce((s, v) => s + v, 0);
    record.end.set(key, ++record.seq.n);
    return { key, value };
  };
}

describe('workflow DAGs', () => {
  it('runs a 50-node DAG with diamonds and fan-in: every node once, never before its parents, outputs passed as declared', async () => {
    const record = dagRecord();
    await mesh.agent({ id: 'dag-1', domain: 'data', concurrency: 8 }, { 'dag.node': dagHandler(record) });
    await mesh.agent({ id: 'dag-2', domain: 'data', concurrency: 8 }, { 'dag.node': dagHandler(record) });
    const { workflow, deps } = layeredDag('dag.node');
    expect(workflow.nodes).toHaveLength(50);
    const created = await submit(workflow);
    expect(created.state).toBe('running');
    // the root is ready at once (it may already be dispatched when the reply is built); every other node waits
    expect(created.nodes.filter((n) => n.state !== 'pending').map((n) => n.key)).toEqual(['n0']);
    expect(created.nodes.filter((n) => n.state === 'pending')).toHaveLength(49);

    const done = await waitWorkflow(created.id, ended, 'ended');
    expect(done.state).toBe('succeeded');
    expect(done.progress).toMatchObject({ total: 50, succeeded: 50, failed: 0, pending: 0, percent: 1 });
    // every node ran exactly once
    expect(record.runs.size).toBe(50);
    expect([...record.runs.values()].every((n) => n === 1)).toBe(true);
    expect(done.nodes.every((n) => n.attempt === 1 && n.taskState === 'succeeded')).toBe(true);
    // never before its parents: each parent's handler returned before the child's started
    for (const [child, parents] of deps) for (const p of parents) expect(record.end.get(p)!).toBeLessThan(record.start.get(child)!);
    // outputs passed as declared: each child received exactly its parents' values
    const expected = expectedValues(workflow, deps);
    for (const [child, parents] of deps) {
      expect(record.inputs.get(child)).toEqual(Object.fromEntries(parents.map((p) => [p, expected.get(p)])));
    }
    const sink = done.nodes.find((n) => n.key === 'sink')!;
    const sinkTask = await mesh.get(sink.taskId);
    expect(sinkTask.result).toEqual({ key: 'sink', value: expected.get('sink') });
    expect(sinkTask.input).toEqual({
      key: 'sink',
      base: 49,
      parents: Object.fromEntries(deps.get('sink')!.map((p) => [p, expected.get(p)])),
    });
    expect(sinkTask.workflowId).toBe(done.id);
    expect(sinkTask.nodeKey).toBe('sink');
    // the plan: 10 levels, the critical path runs from the root to the sink
    const plan = await mesh.bus.request(WorkflowCommands.plan, { tenantId: 'default', workflowId: done.id });
    expect(plan.levels).toHaveLength(10);
    expect(plan.levels[0]).toEqual(['n0']);
    expect(plan.levels[9]).toEqual(['sink']);
    expect(plan.criticalPath[0]).toBe('n0');
    expect(plan.criticalPath[plan.criticalPath.length - 1]).toBe('sink');
  });

  it('rejects a cycle naming it, and writes nothing', async () => {
    const before = await rows();
    const err = await rejection(
      submit({
        name: 'cyclic',
        nodes: [
          { key: 'fetch', capability: 'dag.node' },
          { key: 'analyse', capability: 'dag.node', dependsOn: ['fetch', 'review'] },
          { key: 'write', capability: 'dag.node', dependsOn: ['analyse'] },
          { key: 'review', capability: 'dag.node', dependsOn: ['write'] },
        ],
      }),
    );
    expect(err.code).toBe('WORKFLOW_CYCLE');
    const cycle = err.details!.cycle as string[];
    expect(cycle[0]).toBe(cycle[cycle.length - 1]);
    expect(new Set(cycle)).toEqual(new Set(['analyse', 'write', 'review']));
    expect(err.message).toMatch(/analyse|write|review/);
    const unknown = await rejection(submit({ name: 'typo', nodes: [{ key: 'a', capability: 'dag.node', dependsOn: ['nope'] }] }));
    expect(unknown.code).toBe('UNKNOWN_DEPENDENCY');
    expect(unknown.details!.path).toBe('nodes.0.dependsOn.0');
    // a node pinned to an agent nobody registered would wait forever: refused like a single task
    await mesh.agent({ id: 'pin-1', domain: 'infra', concurrency: 1 }, { 'dag.node': () => ({}) });
    const pinned = await rejection(
      submit({
        name: 'pinned',
        nodes: [
          { key: 'a', capability: 'dag.node', routing: { agentId: 'pin-1' } },
          { key: 'b', capability: 'dag.node', dependsOn: ['a'], routing: { agentId: 'ghost-agent' } },
        ],
      }),
    );
    expect(pinned.code).toBe('VALIDATION_FAILED');
    expect(pinned.details!.violations).toEqual([
      { path: 'nodes.1.routing.agentId', message: 'no agent "ghost-agent" is registered', constraint: 'knownAgent' },
    ]);
    expect(await rows()).toEqual(before);
  });

  it('with failure policy continue, cancels the failed branch only and reports the failure', async () => {
    await mesh.agent(
      { id: 'cont-1', domain: 'data', concurrency: 4 },
      {
        'ok.step': (ctx) => ({ ok: ctx.input.key }),
        'bad.step': () => {
          throw new Error('broken on purpose');
        },
      },
    );
    const w = await submit({
      name: 'two branches',
      failurePolicy: 'continue',
      nodes: [
        { key: 'root', capability: 'ok.step', input: { key: 'root' } },
        { key: 'bad', capability: 'bad.step', dependsOn: ['root'], retry: { maxAttempts: 1 } },
        { key: 'afterBad', capability: 'ok.step', dependsOn: ['bad'] },
        { key: 'good', capability: 'ok.step', dependsOn: ['root'], input: { key: 'good' } },
        { key: 'afterGood', capability: 'ok.step', dependsOn: ['good'], input: { key: 'afterGood' } },
      ],
    });
    const done = await waitWorkflow(w.id, ended, 'ended');
    const state = Object.fromEntries(done.nodes.map((n) => [n.key, n.state]));
    expect(state).toEqual({ root: 'succeeded', bad: 'dead_lettered', afterBad: 'cancelled', good: 'succeeded', afterGood: 'succeeded' });
    expect(done.nodes.find((n) => n.key === 'afterBad')!.error?.code).toBe('UPSTREAM_FAILED');
    expect(done.state).toBe('failed');
    expect(done.error?.code).toBe('NODES_FAILED');
    // its workflow has ended: replaying the failed node's dead letter is refused, nothing runs again
    const badTask = done.nodes.find((n) => n.key === 'bad')!.taskId;
    const letters = await mesh.bus.request(DeadLetterCommands.list, { tenantId: 'default', capability: 'bad.step' });
    const letter = letters.items.find((d) => d.taskId === badTask)!;
    const replay = await rejection(mesh.bus.request(DeadLetterCommands.replay, { tenantId: 'default', deadLetterId: letter.id }));
    expect(replay.code).toBe('INVALID_STATE_TRANSITION');
    expect(replay.details).toMatchObject({ taskId: badTask, workflowId: w.id });
    expect((await mesh.get(badTask)).state).toBe('dead_lettered');
  });

  it('fail_fast: a node whose input mapping fails ends the workflow with NODE_FAILED naming it', async () => {
    await mesh.agent({ id: 'map-1', domain: 'data', concurrency: 2 }, { 'map.step': () => ({ here: 1 }) });
    const w = await submit({
      name: 'mapping fails last',
      nodes: [
        { key: 'a', capability: 'map.step' },
        { key: 'b', capability: 'map.step', dependsOn: ['a'], inputs: { x: '${a.result.missing.path}' } },
      ],
    });
    const done = await waitWorkflow(w.id, ended, 'ended');
    expect(done.state).toBe('failed');
    expect(done.error).toMatchObject({ code: 'NODE_FAILED', details: { node: 'b' } });
    expect(done.nodes.find((n) => n.key === 'b')!.error?.code).toBe('INPUT_MAPPING_FAILED');
  });

  it('cancelling a workflow cancels its running node (abort signal) and its pending ones', async () => {
    let aborted = false;
    await mesh.agent(
      { id: 'slow-1', domain: 'data', concurrency: 2 },
      {
        'slow.step': (ctx) =>
          new Promise((resolve) => {
            ctx.signal.addEventListener('abort', () => {
              aborted = true;
              resolve({});
            });
          }),
      },
    );
    const w = await submit({
      name: 'to cancel',
      nodes: [
        { key: 'a', capability: 'slow.step' },
        { key: 'b', capability: 'slow.step', dependsOn: ['a'] },
      ],
    });
    await waitWorkflow(w.id, (x) => x.nodes[0]!.state === 'running', 'node a running');
    const cancelled = await mesh.bus.request(WorkflowCommands.cancel, { tenantId: 'default', workflowId: w.id, reason: 'not needed' });
    expect(cancelled.state).toBe('cancelled');
    expect(cancelled.nodes.map((n) => n.state)).toEqual(['cancelled', 'cancelled']);
    await eventually(() => aborted, { description: 'the running handler aborted' });
    const again = await rejection(mesh.bus.request(WorkflowCommands.cancel, { tenantId: 'default', workflowId: w.id }));
    expect(again.code).toBe('INVALID_STATE_TRANSITION');
    const other = await rejection(mesh.bus.request(WorkflowCommands.get, { tenantId: 'other', workflowId: w.id }));
    expect(other.code).toBe('WORKFLOW_NOT_FOUND');
  });
});

describe('validation checkpoints and requirements', () => {
  it('catches a placeholder, retries with the failure as feedback, and the requirement reads failed when it never passes', async () => {
    const feedback: Array<string | undefined> = [];
    await mesh.agent(
      { id: 'writer-1', domain: 'content', concurrency: 2 },
      {
        'fetch.step': () => ({ records: [{ title: 'Rates rise' }] }),
        'write.step': (ctx) => {
          feedback.push(ctx.feedback ? ctx.feedback.failures.map((f) => `${f.check}:${f.path}`).join(',') : undefined);
          return { title: 'Rates', body: 'TODO: lorem ipsum dolor sit amet' };
        },
      },
    );
    const w = await submit({
      name: 'placeholder report',
      failurePolicy: 'continue',
      nodes: [
        { key: 'fetch', capability: 'fetch.step' },
        {
          key: 'write',
          capability: 'write.step',
          dependsOn: ['fetch'],
          retry: { maxAttempts: 5, backoffMs: [20], jitter: 0 },
          validation: { requiredFields: ['body'], onFailure: 'fail', maxValidationRetries: 2 },
        },
      ],
      requirements: [
        { id: 'REQ-data', description: 'Source data fetched', satisfiedBy: [{ node: 'fetch', field: 'records' }] },
        { id: 'REQ-article', description: 'An article without placeholders', satisfiedBy: [{ node: 'write', field: 'body' }] },
      ],
      qualityGate: { minCoverage: 1 },
    });
    const done = await waitWorkflow(w.id, ended, 'ended');
    // three attempts (the first and two validation retries), each refused; the retries saw why
    expect(feedback).toEqual([undefined, 'forbiddenPatterns:body', 'forbiddenPatterns:body']);
    const write = await mesh.get(done.nodes.find((n) => n.key === 'write')!.taskId);
    expect(write.state).toBe('failed');
    expect(write.attempts.map((a) => [a.outcome, a.error?.code])).toEqual([
      ['failed', 'VALIDATION_FAILED'],
      ['failed', 'VALIDATION_FAILED'],
      ['failed', 'VALIDATION_FAILED'],
    ]);
    expect(write.error?.message).toMatch(/placeholder text "TODO/);
    // the requirement it should cover reads failed; the quality gate fails the workflow
    const cov = await mesh.bus.request(WorkflowCommands.requirements, { tenantId: 'default', workflowId: w.id });
    expect(cov.requirements.map((r) => [r.id, r.status])).toEqual([
      ['REQ-data', 'covered'],
      ['REQ-article', 'failed'],
    ]);
    expect([cov.coverage, cov.gate]).toEqual([0.5, 'failed']);
    expect(done.state).toBe('failed');
    expect(done.error?.code).toBe('QUALITY_GATE_FAILED');
    // the terminal event carries the validation result
    const events = await eventually(
      async () => {
        const ev = (await mesh.taskEvents()).filter((e: MeshEventDto) => e.data.taskId === write.id && e.type === 'task.failed');
        return ev.length > 0 ? ev : undefined;
      },
      { description: 'task.failed event of the writer' },
    );
    expect(events[0]!.data.validation).toMatchObject({ passed: false, failures: [{ check: 'forbiddenPatterns', path: 'body' }] });
  });

  it('a writer that heeds the feedback passes on its retry and covers the requirement', async () => {
    await mesh.agent(
      { id: 'writer-2', domain: 'content', concurrency: 2 },
      {
        'learn.step': (ctx) =>
          ctx.feedback ? { body: 'Rates rose by a quarter point on Tuesday, the third rise this year.' } : { body: 'TBD' },
      },
    );
    const w = await submit({
      name: 'learning writer',
      nodes: [
        { key: 'write', capability: 'learn.step', retry: { backoffMs: [20], jitter: 0 }, validation: { nonEmpty: ['body'], minSize: 30 } },
      ],
      requirements: [{ id: 'REQ-article', description: 'Article', satisfiedBy: [{ node: 'write', field: 'body' }] }],
    });
    const done = await waitWorkflow(w.id, ended, 'ended');
    expect(done.state).toBe('succeeded');
    expect(done.requirements).toMatchObject({ covered: 1, total: 1, gate: 'passed' });
    const t = await mesh.get(done.nodes[0]!.taskId);
    expect(t.attempts.map((a) => a.outcome)).toEqual(['failed', 'succeeded']);
  });

  it('null for an optional field means "not given" (a requirement with field: null is covered by the node)', async () => {
    await mesh.agent({ id: 'nulls-1', domain: 'data', concurrency: 2 }, { 'nulls.step': () => ({ ok: true }) });
    const w = await submit({
      name: 'nulls',
      nodes: [{ key: 'only', capability: 'nulls.step', dependsOn: null, inputs: null, approval: null, tier: null }],
      requirements: [{ id: 'REQ-1', description: 'done', satisfiedBy: [{ node: 'only', field: null }] }],
      qualityGate: null,
      failurePolicy: null,
    } as unknown as SubmitWorkflowDto);
    const done = await waitWorkflow(w.id, ended, 'ended');
    expect(done.state).toBe('succeeded');
    expect(done.requirements).toMatchObject({ covered: 1, total: 1 });
  });

  it('after the retries a result goes to needs_review; a human accepts it and the dependants run', async () => {
    await mesh.agent(
      { id: 'review-1', domain: 'quality', concurrency: 2 },
      { 'short.step': () => ({ body: 'short' }), 'after.step': (ctx) => ({ saw: ctx.input.text }) },
    );
    const w = await submit({
      name: 'review me',
      nodes: [
        {
          key: 'draft',
          capability: 'short.step',
          retry: { backoffMs: [10], jitter: 0 },
          validation: { minSize: 100, maxValidationRetries: 1 },
        },
        { key: 'use', capability: 'after.step', dependsOn: ['draft'], inputs: { text: '${draft.result.body}' } },
      ],
    });
    const blocked = await waitWorkflow(w.id, (x) => x.nodes[0]!.state === 'needs_review', 'draft in needs_review');
    expect(blocked.nodes[1]!.state).toBe('pending');
    expect(blocked.progress.needsReview).toBe(1);
    const decided = await mesh.bus.request(TaskReviewCommands.decide, {
      tenantId: 'default',
      taskId: blocked.nodes[0]!.taskId,
      decision: 'approve',
      actor: 'api-key:reviewer',
      actorName: 'reviewer',
      comment: 'short is fine here',
    });
    expect(decided.state).toBe('succeeded');
    expect(decided.approval).toMatchObject({
      kind: 'review',
      status: 'approved',
      decidedBy: 'api-key:reviewer',
      comment: 'short is fine here',
    });
    const done = await waitWorkflow(w.id, ended, 'ended');
    expect(done.state).toBe('succeeded');
    expect((await mesh.get(done.nodes[1]!.taskId)).result).toEqual({ saw: 'short' });

    // a task cancelled while in needs_review: its review is withdrawn, no longer decidable
    const [lone] = await mesh.submit([
      {
        capability: 'short.step',
        retry: { backoffMs: [10], jitter: 0 },
        validation: { minSize: 100, maxValidationRetries: 0, onFailure: 'needs_review' },
      },
    ]);
    await eventually(async () => (await mesh.get(lone!.id)).state === 'needs_review', { description: 'lone task in needs_review' });
    const cancelled = await mesh.bus.request(TaskCommands.cancel, { tenantId: 'default', taskId: lone!.id, reason: 'not needed' });
    expect(cancelled.state).toBe('cancelled');
    expect(cancelled.approval).toMatchObject({ kind: 'review', status: 'withdrawn', decidedBy: null, comment: 'not needed' });
    expect((await mesh.get(lone!.id)).approval).toMatchObject({ kind: 'review', status: 'withdrawn' });
    const late = await rejection(
      mesh.bus.request(TaskReviewCommands.decide, {
        tenantId: 'default',
        taskId: lone!.id,
        decision: 'approve',
        actor: 'api-key:reviewer',
      }),
    );
    expect(late.code).toBe('INVALID_STATE_TRANSITION');
  });

  it('an approval gate holds the dependants until approved; who and when are recorded; a rejection fails the workflow', async () => {
    const ran: string[] = [];
    await mesh.agent(
      { id: 'gate-1', domain: 'content', concurrency: 4 },
      {
        'gate.step': (ctx) => {
          ran.push(String(ctx.input.key));
          return { key: ctx.input.key };
        },
      },
    );
    const spec = (name: string): SubmitWorkflowDto => ({
      name,
      nodes: [
        { key: 'review', capability: 'gate.step', input: { key: `${name}:review` }, approval: { required: true, approvers: ['editor'] } },
        { key: 'publish', capability: 'gate.step', input: { key: `${name}:publish` }, dependsOn: ['review'] },
      ],
    });
    const a = await submit(spec('approved'));
    const waiting = await waitWorkflow(a.id, (x) => x.nodes[0]!.state === 'awaiting_approval', 'review awaiting approval');
    expect(waiting.nodes[1]!.state).toBe('pending');
    expect(waiting.nodes[0]!.approval).toMatchObject({ kind: 'approval', status: 'pending', approvers: ['editor'] });
    const reviewTask = waiting.nodes[0]!.taskId;
    const notAllowed = await rejection(
      mesh.bus.request(TaskReviewCommands.decide, {
        tenantId: 'default',
        taskId: reviewTask,
        decision: 'approve',
        actor: 'api-key:intern',
      }),
    );
    expect(notAllowed.code).toBe('NOT_AN_APPROVER');
    expect(ran).not.toContain('approved:publish');
    const approved = await mesh.bus.request(TaskReviewCommands.decide, {
      tenantId: 'default',
      taskId: reviewTask,
      decision: 'approve',
      actor: 'api-key:k1',
      actorName: 'editor',
    });
    expect(approved.approval).toMatchObject({ status: 'approved', decidedBy: 'api-key:k1', decidedByName: 'editor' });
    expect(Date.parse(approved.approval!.decidedAt!)).toBeGreaterThan(0);
    const done = await waitWorkflow(a.id, ended, 'ended');
    expect(done.state).toBe('succeeded');
    expect(ran).toContain('approved:publish');
    const twice = await rejection(
      mesh.bus.request(TaskReviewCommands.decide, {
        tenantId: 'default',
        taskId: reviewTask,
        decision: 'approve',
        actor: 'api-key:k1',
        actorName: 'editor',
      }),
    );
    expect(twice.code).toBe('INVALID_STATE_TRANSITION');

    const r = await submit(spec('rejected'));
    const w2 = await waitWorkflow(r.id, (x) => x.nodes[0]!.state === 'awaiting_approval', 'review awaiting approval');
    await mesh.bus.request(TaskReviewCommands.decide, {
      tenantId: 'default',
      taskId: w2.nodes[0]!.taskId,
      decision: 'reject',
      actor: 'api-key:k1',
      actorName: 'editor',
      comment: 'off topic',
    });
    const failed = await waitWorkflow(r.id, ended, 'ended');
    expect(failed.state).toBe('failed');
    expect(failed.nodes.map((n) => n.state)).toEqual(['rejected', 'cancelled']);
    expect(ran).not.toContain('rejected:publish');

    // the workflow cancelled while its gate waits: the gate is withdrawn, the node reads cancelled
    const c = await submit(spec('withdrawn'));
    const w3 = await waitWorkflow(c.id, (x) => x.nodes[0]!.state === 'awaiting_approval', 'review awaiting approval');
    await mesh.bus.request(WorkflowCommands.cancel, { tenantId: 'default', workflowId: c.id, reason: 'scrapped' });
    const gone = await waitWorkflow(c.id, ended, 'ended');
    expect(gone.state).toBe('cancelled');
    expect(gone.nodes.map((n) => [n.state, n.taskState])).toEqual([
      ['cancelled', 'succeeded'],
      ['cancelled', 'cancelled'],
    ]);
    expect(gone.nodes[0]!.approval).toMatchObject({ kind: 'approval', status: 'withdrawn', comment: 'workflow cancelled: scrapped' });
    expect((await mesh.get(w3.nodes[0]!.taskId)).approval).toMatchObject({ status: 'withdrawn' });
    const tooLate = await rejection(
      mesh.bus.request(TaskReviewCommands.decide, {
        tenantId: 'default',
        taskId: w3.nodes[0]!.taskId,
        decision: 'approve',
        actor: 'api-key:k1',
        actorName: 'editor',
      }),
    );
    expect(tooLate.code).toBe('INVALID_STATE_TRANSITION');
    expect(ran).not.toContain('withdrawn:publish');
  });
});

describe('subtasks', () => {
  it('a parent spawns children one tier down, awaits them and returns their combined result; the tree shows tiers', async () => {
    await mesh.agent(
      { id: 'tree-1', domain: 'intel', concurrency: 10 },
      {
        'orchestrate.step': async (ctx) => {
          const kids = await ctx.spawn(Array.from({ length: 3 }, (_, i) => ({ capability: 'master.step', input: { part: i } })));
          const outcomes = await ctx.awaitChildren(kids);
          return { total: outcomes.reduce((s, o) => s + Number(o.result?.value ?? 0), 0), tiers: kids.map((k) => k.tier) };
        },
        'master.step': async (ctx) => {
          const [leaf] = await ctx.spawn([{ capability: 'leaf.step', input: { part: ctx.input.part } }]);
          const r = await leaf!.result();
          return { value: Number(r.value) * 10 };
        },
        'leaf.step': (ctx) => ({ value: Number(ctx.input.part) + 1 }),
      },
    );
    const [root] = await mesh.submit([{ capability: 'orchestrate.step' }]);
    const [done] = await mesh.waitFor([root!.id]);
    expect(done!.result).toEqual({ total: 60, tiers: ['master', 'master', 'master'] });
    const tree = await mesh.bus.request(TaskReviewCommands.tree, { tenantId: 'default', taskId: root!.id });
    expect(tree.size).toBe(7);
    expect(tree.root).toMatchObject({ id: root!.id, tier: 'orchestrator', depth: 0, state: 'succeeded' });
    expect(tree.root.children.map((c) => [c.tier, c.depth, c.state])).toEqual([
      ['master', 1, 'succeeded'],
      ['master', 1, 'succeeded'],
      ['master', 1, 'succeeded'],
    ]);
    expect(tree.root.children.flatMap((c) => c.children.map((g) => [g.tier, g.depth]))).toEqual([
      ['specialist', 2],
      ['specialist', 2],
      ['specialist', 2],
    ]);
    // the tree from a leaf is the same tree
    const fromLeaf = await mesh.bus.request(TaskReviewCommands.tree, {
      tenantId: 'default',
      taskId: tree.root.children[0]!.children[0]!.id,
    });
    expect(fromLeaf.root.id).toBe(root!.id);
  });

  it('cancelling a parent cancels its running children (their abort signals fire)', async () => {
    let childAborted = false;
    let childId: string | undefined;
    await mesh.agent(
      { id: 'cascade-1', domain: 'intel', concurrency: 4 },
      {
        'parent.step': async (ctx) => {
          const [c] = await ctx.spawn([{ capability: 'child.step' }]);
          childId = c!.id;
          await ctx.awaitChildren();
          return {};
        },
        'child.step': (ctx) =>
          new Promise((resolve) =>
            ctx.signal.addEventListener('abort', () => {
              childAborted = true;
              resolve({});
            }),
          ),
      },
    );
    const [parent] = await mesh.submit([{ capability: 'parent.step' }]);
    await eventually(async () => childId !== undefined && (await mesh.get(childId)).state === 'running', { description: 'child running' });
    await mesh.bus.request(TaskCommands.cancel, { tenantId: 'default', taskId: parent!.id, reason: 'stop the tree' });
    const [child] = await mesh.waitFor([childId!], ['cancelled']);
    expect(child!.error?.code).toBe('PARENT_ENDED');
    await eventually(() => childAborted, { description: 'the child handler aborted' });
  });

  it('depth and fan-out limits fail with SUBTASK_LIMIT_EXCEEDED', async () => {
    const errors: Record<string, unknown> = {};
    await mesh.agent(
      { id: 'limits-1', domain: 'intel', concurrency: 10 },
      {
        'wide.step': async (ctx) => {
          try {
            await ctx.spawn(Array.from({ length: 5 }, () => ({ capability: 'leaf2.step' })));
          } catch (err) {
            errors.fanout = (err as SwarmError).details;
          }
          return {};
        },
        'deep.step': async (ctx) => {
          const depth = Number(ctx.input.depth ?? 0);
          try {
            const [c] = await ctx.spawn([{ capability: 'deep.step', input: { depth: depth + 1 } }]);
            await c!.result();
          } catch (err) {
            errors[`depth${depth}`] = (err as SwarmError).code ?? (err as Error).message;
          }
          return { depth };
        },
        'leaf2.step': () => ({}),
      },
    );
    const tasks = await mesh.submit([{ capability: 'wide.step' }, { capability: 'deep.step', input: { depth: 0 } }]);
    await mesh.waitFor(tasks.map((t) => t.id));
    expect(errors.fanout).toMatchObject({ limit: 'fanout', max: 4, requested: 5 });
    expect(errors.depth2).toBe('SUBTASK_LIMIT_EXCEEDED');
    expect(errors.depth0).toBeUndefined();
    expect(errors.depth1).toBeUndefined();
  });
});

describe('restart', () => {
  it('the coordinator killed mid-workflow and restarted: the workflow finishes correctly, no node succeeds twice', async () => {
    const record = dagRecord();
    const slow = dagHandler(record);
    const handler = async (ctx: TaskContext) => {
      await new Promise((r) => setTimeout(r, 40));
      return slow(ctx);
    };
    await mesh.agent({ id: 'crash-wf-1', domain: 'data', concurrency: 4 }, { 'crash.node': handler });
    await mesh.agent({ id: 'crash-wf-2', domain: 'data', concurrency: 4 }, { 'crash.node': handler });
    const { workflow, deps } = layeredDag('crash.node');
    const w = await submit({ ...workflow, name: 'killed mid-way' });
    await eventually(() => record.end.size >= 12, { description: 'a dozen nodes done' });
    await mesh.coordinator.kill();
    await mesh.startCoordinator();
    const done = await waitWorkflow(w.id, ended, 'ended after the restart', 90_000);
    expect(done.state).toBe('succeeded');
    expect(done.progress.succeeded).toBe(50);
    const expected = expectedValues(workflow, deps);
    const tasks = await Promise.all(done.nodes.map((n) => mesh.bus.request(TaskCommands.get, { tenantId: 'default', taskId: n.taskId })));
    for (const t of tasks) {
      expect(t.attempts.filter((a) => a.outcome === 'succeeded')).toHaveLength(1);
      expect(t.result).toEqual({ key: t.nodeKey, value: expected.get(t.nodeKey!) });
      // the mapped input is durable (a node released before the kill and run after it gets the same input)
      const parents = deps.get(t.nodeKey!)!;
      if (parents.length > 0) expect(t.input.parents).toEqual(Object.fromEntries(parents.map((p) => [p, expected.get(p)])));
    }
    const succeeded = await eventually(
      async () => {
        const ev = (await mesh.taskEvents()).filter((e) => e.type === 'task.succeeded' && e.data.workflowId === w.id);
        return ev.length >= 50 ? ev : undefined;
      },
      { description: 'a task.succeeded event per node' },
    );
    const perTask = new Map<string, number>();
    for (const e of succeeded) perTask.set(String(e.data.taskId), (perTask.get(String(e.data.taskId)) ?? 0) + 1);
    expect(perTask.size).toBe(50);
    expect([...perTask.values()].every((n) => n === 1)).toBe(true);
    process.stdout.write(
      `workflow across a coordinator kill -9: 50 nodes succeeded once; handler re-executions: ${[...record.runs.values()].filter((n) => n > 1).length}\n`,
    );
  });
});

describe('reads of a running workflow', () => {
  it("show a node's (and its task's) live state, not the lazily written row (the row still says dispatched)", async () => {
    const lazy = await TaskMesh.start({ coordinatorEnv: { LAZY_WRITE_MS: '10000' } });
    const db = new Client({ connectionString: lazy.databaseUrl });
    await db.connect();
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    try {
      await lazy.agent(
        { id: 'lazy-1', domain: 'infra', concurrency: 1 },
        {
          'lazy.step': async () => {
            await held;
            return { ok: true };
          },
        },
      );
      const w = await lazy.bus.request(
        WorkflowCommands.submit,
        { tenantId: 'default', workflow: { name: 'lazy', nodes: [{ key: 'only', capability: 'lazy.step' }] } },
        { timeoutMs: 30_000 },
      );
      const running = await eventually(
        async () => {
          const x = await lazy.bus.request(WorkflowCommands.get, { tenantId: 'default', workflowId: w.id });
          return x.nodes[0]!.state === 'running' ? x : undefined;
        },
        { timeoutMs: 8_000, description: 'the node read as running' },
      );
      expect(running.nodes[0]!.startedAt).not.toBeNull();
      expect(running.progress.active).toBe(1);
      // Postgres has not been told yet (LAZY_WRITE_MS 10 s): the read came from the working set
      const row = await db.query<{ state: string }>('SELECT state FROM coordinator.tasks WHERE id = $1', [running.nodes[0]!.taskId]);
      expect(row.rows[0]?.state).toBe('dispatched');
      // the task itself reads the same
      const task = await lazy.bus.request(TaskCommands.get, { tenantId: 'default', taskId: running.nodes[0]!.taskId });
      expect(task.state).toBe('running');
      expect(task.attempts[0]!.startedAt).not.toBeNull();
      const stranger = await rejection(lazy.bus.request(TaskCommands.get, { tenantId: 'other', taskId: task.id }));
      expect(stranger.code).toBe('TASK_NOT_FOUND');
      release();
      const done = await eventually(
        async () => {
          const x = await lazy.bus.request(WorkflowCommands.get, { tenantId: 'default', workflowId: w.id });
          return x.state === 'succeeded' ? x : undefined;
        },
        { description: 'the workflow succeeded' },
      );
      expect(done.nodes[0]!.state).toBe('succeeded');
    } finally {
      release();
      await db.end().catch(() => {});
      await lazy.stop();
    }
  });
});
